/**
 * vdirsyncer (a real CardDAV client) pointed at labd: one pair that copies the user's address books
 * from labd into a folder of .vcf files under `work`, with its own HOME so nothing of the machine's
 * config is read.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runAsync } from './labd.ts';

export interface Vdirsyncer {
  /** `vdirsyncer ARGS…` with this config; `input` answers its questions (discover asks to create collections). */
  run(args: string[], input?: string): ReturnType<typeof runAsync>;
  /** Where the address book named `contacts` lands. */
  readonly localDir: string;
}

export function vdirsyncerFor(work: string, o: { httpPort: number; user: string; token: string }): Vdirsyncer {
  mkdirSync(work, { recursive: true });
  const conf = join(work, 'vdirsyncer.conf');
  writeFileSync(
    conf,
    [
      '[general]',
      `status_path = "${join(work, 'status')}/"`,
      '',
      '[pair contacts]',
      'a = "labd"',
      'b = "local"',
      'collections = ["from a"]',
      '',
      '[storage labd]',
      'type = "carddav"',
      `url = "http://127.0.0.1:${o.httpPort}/"`,
      `username = "${o.user}"`,
      `password = "${o.token}"`,
      '',
      '[storage local]',
      'type = "filesystem"',
      `path = "${join(work, 'contacts')}/"`,
      'fileext = ".vcf"',
      '',
    ].join('\n'),
  );
  return {
    run: (args, input = '') => runAsync('vdirsyncer', ['-c', conf, ...args], { input, env: { ...process.env, HOME: work, LC_ALL: 'C.UTF-8' } }),
    localDir: join(work, 'contacts', 'contacts'),
  };
}
