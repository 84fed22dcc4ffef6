/**
 * labd's data dir is 0700 and labd.db with its WAL and shared-memory files 0600 (they hold hidden paste
 * names and join-token secrets), also when an earlier run left them readable by others.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll as after, describe, test } from 'vitest';
import { KeyLab } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';
import { until } from './support/wait.ts';

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);

describe('data dir and database file modes', () => {
  const lab = new KeyLab();
  const dataDir = mkdtempSync(join(tmpdir(), 'labd-data-'));
  let labd: InProcessLabd | undefined;
  after(async () => {
    await labd?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    lab.cleanup();
  });

  test('a world-readable data dir and database are closed to others at start; new WAL files are 0600', async () => {
    // As an earlier labd (or a umask of 022) left them: dir 0755, database 0644.
    chmodSync(dataDir, 0o755);
    writeFileSync(join(dataDir, 'labd.db'), '');
    chmodSync(join(dataDir, 'labd.db'), 0o644);
    const admin = lab.key('admin');
    labd = await InProcessLabd.start({ dataDir, adminKeys: [lab.publicKey(admin)] });
    const r = await labd.ssh(admin, ['paste', 'secret.txt', '--hidden'], { input: 'hidden\n' });
    assert.equal(r.status, 0, r.stderr);
    await until(
      'WAL files exist',
      () => statSync(join(dataDir, 'labd.db-wal'), { throwIfNoEntry: false }) && statSync(join(dataDir, 'labd.db-shm'), { throwIfNoEntry: false }),
    );
    assert.equal(mode(dataDir), '700');
    for (const f of ['labd.db', 'labd.db-wal', 'labd.db-shm']) assert.equal(mode(join(dataDir, f)), '600', f);
  });
});
