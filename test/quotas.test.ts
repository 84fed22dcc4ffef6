/**
 * Per-user quotas over SSH with the real OpenSSH client: paste bytes and count (paste.quota), live
 * topics per user (pubsub.maxTopicsPerUser). A user at a quota gets a clear error, nothing is stored
 * half-way, and other users are not affected.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { KeyLab, type RunningSsh } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';
import { until } from './support/wait.ts';

describe('per-user quotas', () => {
  const lab = new KeyLab();
  let labd: InProcessLabd;
  let admin: string;
  let hoarder: string;
  const running: RunningSsh[] = [];

  before(async () => {
    admin = lab.key('admin');
    hoarder = lab.key('hoarder');
    labd = await InProcessLabd.start({
      adminKeys: [lab.publicKey(admin)],
      env: { LABD_PASTE_QUOTA_BYTES: '1000', LABD_PASTE_QUOTA_COUNT: '3', LABD_PUBSUB_MAX_TOPICS_PER_USER: '2' },
    });
    const r = await labd.ssh(admin, ['user', 'add', 'hoarder', '--key', `'${lab.publicKey(hoarder)}'`]);
    assert.equal(r.status, 0, r.stderr);
  });
  after(async () => {
    for (const r of running) r.kill();
    await labd?.stop();
    lab.cleanup();
  });

  const paste = (key: string, name: string, bytes: number) => labd.ssh(key, ['paste', name], { input: 'x'.repeat(bytes) });
  const names = async (key: string) =>
    (JSON.parse((await labd.ssh(key, ['paste', 'ls', '--json'])).stdout) as { name: string; size: number }[]).map((p) => `${p.name}:${p.size}`).sort();

  test('paste.quota bounds a user’s bytes and pastes; replacing a paste counts its new size only', async () => {
    assert.equal((await paste(hoarder, 'a.txt', 600)).status, 0);
    const big = await paste(hoarder, 'b.txt', 600);
    assert.equal(big.status, 1, big.stderr);
    assert.match(big.stderr, /^error: paste quota: only 400 of your 1000 bytes are free \(paste\.quota\.bytes\); nothing was stored\n$/);
    assert.deepEqual(await names(hoarder), ['a.txt:600']);
    // No half-written upload is left in the temp dir.
    assert.deepEqual(readdirSync(join(labd.dataDir, 'pastes', 'tmp')), []);
    // The same name again replaces: 900 bytes fit where a.txt's 600 were.
    assert.equal((await paste(hoarder, 'a.txt', 900)).status, 0);
    assert.equal((await paste(hoarder, 'b.txt', 50)).status, 0);
    assert.equal((await paste(hoarder, 'c.txt', 40)).status, 0);
    const fourth = await paste(hoarder, 'd.txt', 1);
    assert.equal(fourth.status, 1, fourth.stderr);
    assert.match(fourth.stderr, /paste quota: you have 3 pastes, the most one user may keep \(paste\.quota\.count\)/);
    assert.deepEqual(await names(hoarder), ['a.txt:900', 'b.txt:50', 'c.txt:40']);
    // Others are not affected; removing a paste frees room.
    assert.equal((await paste(admin, 'mine.txt', 900)).status, 0);
    assert.equal((await labd.ssh(hoarder, ['paste', 'rm', 'c.txt', '--yes'])).status, 0);
    assert.equal((await paste(hoarder, 'd.txt', 1)).status, 0);
  });

  test('pubsub.maxTopicsPerUser: a third live topic of the same user is refused, another user’s is not', async () => {
    for (const topic of ['one', 'two']) running.push(labd.sshStart(hoarder, ['sub', topic]));
    await until('two live topics', async () => {
      const r = await labd.ssh(hoarder, ['topics', '--json']);
      return r.status === 0 && (JSON.parse(r.stdout) as unknown[]).length === 2;
    });
    const third = await labd.sshAsync(hoarder, ['sub', 'three']);
    assert.equal(third.status, 1, third.stderr);
    assert.match(third.stderr, /you have 2 live topics, the most one user may hold open \(pubsub\.maxTopicsPerUser\)/);
    // Publishing into one of her own live topics is no new topic.
    const pub = await labd.sshAsync(hoarder, ['pub', 'one', '-b=false']);
    assert.equal(pub.status, 0, pub.stderr);
    const other = labd.sshStart(admin, ['sub', 'news']);
    running.push(other);
    await until('the admin’s topic is live', async () => (JSON.parse((await labd.ssh(admin, ['topics', '--json'])).stdout) as unknown[]).length === 1);
  });
});
