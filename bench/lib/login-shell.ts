/**
 * What sshd runs for `ssh HOST whoami`: the login user's shell with `-c`. Debian's bash reads
 * ~/.bashrc when started by sshd (it looks for SSH_CLIENT), so slow rc files count against sshd.
 */
import { spawnSync } from 'node:child_process';
import { run } from '../../test/support/labd.ts';
import { median } from './timing.ts';

export interface Account {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

export function account(name: string): Account | undefined {
  const r = run('getent', ['passwd', name]);
  const f = r.stdout.trim().split(':');
  if (r.status !== 0 || f.length < 7) return undefined;
  return { name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5]!, shell: f[6]! };
}

/** Median ms of `SHELL -c true` started the way sshd starts it, with HOME = `home`. */
export function shellStartupMs(a: Account, home: string, runs = 5): number {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    const r = spawnSync(a.shell, ['-c', 'true'], {
      cwd: a.home,
      env: {
        HOME: home,
        USER: a.name,
        LOGNAME: a.name,
        SHELL: a.shell,
        PATH: '/usr/local/bin:/usr/bin:/bin',
        SSH_CLIENT: '127.0.0.1 50000 22',
        SSH_CONNECTION: '127.0.0.1 50000 127.0.0.1 22',
      },
      stdio: 'ignore',
      timeout: 10000,
    });
    if (r.error) throw r.error;
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return median(samples);
}
