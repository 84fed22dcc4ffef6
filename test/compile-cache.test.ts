/**
 * labd keeps V8's compiled code for its modules in a directory of its user alone (src/core/compile-cache.ts):
 * made 0700, used only while it is a real directory owned by that user and closed to others, since
 * what is in it runs as labd. A started labd fills it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import nodeModule from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll as after, describe, test } from 'vitest';
import { enableCompileCache } from '../src/core/compile-cache.ts';
import { labdCommand } from './support/labd.ts';

describe('the module compile cache', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'labd-compile-cache-test-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));
  const uid = process.getuid!();

  /** enableCompileCache in its own temp dir, with a stand-in for module.enableCompileCache. */
  function tryIn(dir: string, o: { uid?: number; nodeCompileCache?: string } = {}) {
    mkdirSync(dir, { recursive: true });
    const enabled: string[] = [];
    const result = enableCompileCache({ enable: (d) => enabled.push(d), tmp: dir, uid: o.uid ?? uid, nodeCompileCache: o.nodeCompileCache });
    return { result, enabled, cacheDir: join(dir, `labd-compile-cache-${o.uid ?? uid}`) };
  }

  test('made 0700 for this user, then used', () => {
    const { result, enabled, cacheDir } = tryIn(join(tmp, 'fresh'));
    assert.deepEqual(result, { dir: cacheDir });
    assert.deepEqual(enabled, [cacheDir]);
    assert.equal(statSync(cacheDir).mode & 0o777, 0o700);
  });

  test('not used when others may write to it, when it is a link, or when another user owns it', () => {
    const open = join(tmp, 'open');
    mkdirSync(join(open, `labd-compile-cache-${uid}`), { recursive: true });
    chmodSync(join(open, `labd-compile-cache-${uid}`), 0o777);
    const opened = tryIn(open);
    assert.deepEqual(opened.enabled, []);
    assert.match((opened.result as { skipped: string }).skipped, /not a private directory/);

    const linked = join(tmp, 'linked');
    mkdirSync(join(tmp, 'elsewhere'), { mode: 0o700 });
    mkdirSync(linked);
    symlinkSync(join(tmp, 'elsewhere'), join(linked, `labd-compile-cache-${uid}`));
    assert.deepEqual(tryIn(linked).enabled, []);

    // Made by this process, so owned by this user: for a labd running as user 4242 it is someone else's.
    const planted = join(tmp, 'planted');
    mkdirSync(join(planted, 'labd-compile-cache-4242'), { recursive: true, mode: 0o700 });
    assert.deepEqual(tryIn(planted, { uid: 4242 }).enabled, []);
  });

  test('NODE_COMPILE_CACHE chooses another directory; a Node without the cache starts as before', () => {
    assert.deepEqual(tryIn(join(tmp, 'env'), { nodeCompileCache: '/elsewhere' }).enabled, []);
    assert.deepEqual(enableCompileCache({ enable: undefined, tmp, uid }), { skipped: 'this Node has no compile cache' });
  });

  test.skipIf(!('enableCompileCache' in nodeModule))('a labd run fills it', () => {
    const dir = join(tmp, 'run');
    mkdirSync(dir);
    const r = spawnSync(process.execPath, labdCommand(['--help']), { env: { ...process.env, TMPDIR: dir, NODE_COMPILE_CACHE: '' }, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const cacheDir = join(dir, `labd-compile-cache-${uid}`);
    assert.equal(statSync(cacheDir).mode & 0o777, 0o700);
    assert.ok(readdirSync(cacheDir).length > 0, 'V8 wrote its code');
  });
});
