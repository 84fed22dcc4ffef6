/**
 * The paste store's port contract on both engines: metadata in SQLite or PostgreSQL, bytes in blob
 * files. Replacing under a taken name, the quota refusing (the same Conflict on both), expiry, the
 * sweeper and its grace period for young blob files.
 */
import assert from 'node:assert/strict';
import { closeSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, test } from 'vitest';
import type { Clock } from '../src/core/clock.ts';
import { Conflict } from '../src/core/errors.ts';
import { ORPHAN_GRACE_MS, SqlPasteStore } from '../src/apps/paste/sql-store.ts';
import type { PasteCommit } from '../src/apps/paste/store.ts';
import { ENGINES, openTestEngine, type TestEngine } from './support/engines.ts';

describe.each(ENGINES)('paste store on %s', (engineName) => {
  let engine: TestEngine;
  let dataDir: string;
  let store: SqlPasteStore;
  let now = new Date('2026-03-01T12:00:00.000Z');
  const clock: Clock = { now: () => now };
  let alice: number;
  let bob: number;

  beforeAll(async () => {
    engine = await openTestEngine(engineName);
    dataDir = mkdtempSync(join(tmpdir(), 'labd-paste-store-'));
    store = new SqlPasteStore(engine.handle, dataDir, clock);
    const { users } = engine.handle.t;
    const made = await engine.handle.run((db) =>
      db
        .insert(users)
        .values([
          { name: 'alice', role: 'member' },
          { name: 'bob', role: 'member' },
        ])
        .returning({ id: users.id }),
    );
    alice = made[0]!.id;
    bob = made[1]!.id;
  });
  afterAll(async () => {
    await engine.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const upload = (userId: number, name: string, text: string, extra: Partial<PasteCommit> = {}): PasteCommit => {
    const tempPath = store.newTempPath();
    writeFileSync(tempPath, text);
    return { userId, name, tempPath, size: Buffer.byteLength(text), binary: false, hidden: false, expiresAt: null, ...extra };
  };
  const blobs = () => readdirSync(store.blobDir).sort();
  const bytesOf = async (owner: string, name: string): Promise<string | undefined> => {
    const open = await store.open(owner, name);
    if (!open) return undefined;
    try {
      return store.readHead(open.fd, 1 << 20);
    } finally {
      closeSync(open.fd);
    }
  };

  test('prepare makes the directories and drops half-done uploads; temp files come and go', () => {
    store.prepare();
    const left = store.newTempPath();
    writeFileSync(left, 'half an upload');
    store.prepare();
    assert.ok(!existsSync(left), 'a previous run’s temp file is gone');
    assert.deepEqual(readdirSync(store.tmpDir), []);
    assert.deepEqual(blobs(), []);
    const temp = store.newTempPath();
    assert.ok(temp.startsWith(store.tmpDir));
    assert.notEqual(temp, store.newTempPath());
    writeFileSync(temp, 'x');
    store.discardTemp(temp);
    assert.ok(!existsSync(temp));
    store.discardTemp(temp); // twice is harmless
  });

  test('commit stores the row and the bytes; find, exists, open and the heads read them back', async () => {
    const input = upload(alice, 'notes.txt', 'alice wrote this');
    const row = await store.commit(input);
    assert.equal(row.userId, alice);
    assert.equal(row.name, 'notes.txt');
    assert.equal(row.size, 16);
    assert.equal(row.binary, false);
    assert.equal(row.hidden, false);
    assert.equal(row.expiresAt, null);
    assert.equal(row.createdAt.getTime(), now.getTime());
    assert.ok(!existsSync(input.tempPath), 'the temp file moved into place');
    assert.deepEqual(blobs(), [row.blob]);
    assert.equal(readFileSync(join(store.blobDir, row.blob), 'utf8'), 'alice wrote this');

    assert.equal(await store.exists(alice, 'notes.txt'), true);
    assert.equal(await store.exists(bob, 'notes.txt'), false);
    assert.equal(await store.exists(alice, 'other.txt'), false);

    const found = await store.find('alice', 'notes.txt');
    assert.deepEqual(found, { ...row, owner: 'alice' });
    assert.equal(await store.find('bob', 'notes.txt'), undefined);
    assert.equal(await store.find('alice', 'NOTES.TXT'), undefined, 'names match exactly');

    const open = await store.open('alice', 'notes.txt');
    assert.ok(open);
    try {
      assert.equal(open.size, 16);
      assert.equal(open.paste.id, row.id);
      assert.equal(store.readHead(open.fd, 5), 'alice');
      assert.deepEqual(store.readHeadBytes(open.fd, 100), Buffer.from('alice wrote this'));
    } finally {
      closeSync(open.fd);
    }
    assert.equal(await store.open('alice', 'missing.txt'), undefined);
  });

  test('a taken name is replaced: same row, new bytes, the old blob file gone', async () => {
    const before = (await store.find('alice', 'notes.txt'))!;
    now = new Date(now.getTime() + 1000);
    const row = await store.commit(upload(alice, 'notes.txt', 'second version', { binary: true, hidden: true }));
    assert.equal(row.id, before.id);
    assert.notEqual(row.blob, before.blob);
    assert.equal(row.binary, true);
    assert.equal(row.hidden, true);
    assert.equal(row.createdAt.getTime(), now.getTime());
    assert.deepEqual(blobs(), [row.blob]);
    assert.equal(await bytesOf('alice', 'notes.txt'), 'second version');
    await store.commit(upload(alice, 'notes.txt', 'third', { binary: false, hidden: false }));
    assert.equal(await bytesOf('alice', 'notes.txt'), 'third');
    assert.equal(blobs().length, 1);
  });

  test('list: one user’s live pastes by name (byte order), hidden ones only when asked', async () => {
    await store.commit(upload(alice, 'ab', '1'));
    await store.commit(upload(alice, 'a-c', '22'));
    await store.commit(upload(alice, 'Zed', '333'));
    await store.commit(upload(alice, 'secret-x1', 'hidden', { hidden: true }));
    await store.commit(upload(alice, 'gone.txt', 'old', { expiresAt: new Date(now.getTime() - 1) }));
    await store.commit(upload(bob, 'bobs.txt', 'bob'));
    assert.deepEqual(
      (await store.list(alice, false)).map((p) => p.name),
      ['Zed', 'a-c', 'ab', 'notes.txt'],
    );
    const all = await store.list(alice, true);
    assert.deepEqual(
      all.map((p) => p.name),
      ['Zed', 'a-c', 'ab', 'notes.txt', 'secret-x1'],
    );
    assert.ok(all.every((p) => p.owner === 'alice' && p.userId === alice));
    assert.deepEqual(
      (await store.list(bob, true)).map((p) => [p.owner, p.name]),
      [['bob', 'bobs.txt']],
    );
    assert.equal(await store.find('alice', 'gone.txt'), undefined, 'an expired paste is not found');
    assert.equal(await store.open('alice', 'gone.txt'), undefined);
    assert.equal(await store.exists(alice, 'gone.txt'), true, 'until swept, its name is still held');
  });

  test('usage counts bytes and pastes (expired ones until swept), except the name being replaced', async () => {
    // notes.txt 5, ab 1, a-c 2, Zed 3, secret-x1 6, gone.txt 3
    assert.deepEqual(await store.usage(alice), { bytes: 20, count: 6 });
    assert.deepEqual(await store.usage(alice, 'secret-x1'), { bytes: 14, count: 5 });
    assert.deepEqual(await store.usage(bob), { bytes: 3, count: 1 });
    assert.deepEqual(await store.usage(9999), { bytes: 0, count: 0 });
  });

  test('the quota refuses with a Conflict and stores nothing; replacing a paste counts it once', async () => {
    const blobsBefore = blobs();
    const overCount = upload(alice, 'one-more', 'x', { quota: { bytes: 1000, count: 6 } });
    await assert.rejects(store.commit(overCount), (err: unknown) => err instanceof Conflict && /paste quota: you have 6 pastes/.test(err.message));
    const overBytes = upload(alice, 'big', 'x'.repeat(81), { quota: { bytes: 100, count: 100 } });
    await assert.rejects(store.commit(overBytes), (err: unknown) => err instanceof Conflict && /20 bytes stored plus 81 would pass 100/.test(err.message));
    assert.deepEqual(blobs(), blobsBefore, 'no blob file left behind');
    assert.ok(!existsSync(overCount.tempPath) && !existsSync(overBytes.tempPath), 'no temp file left behind');
    assert.equal(await store.exists(alice, 'one-more'), false);
    assert.equal(await store.exists(alice, 'big'), false);
    // At the count, the same name again replaces (it does not add one).
    const row = await store.commit(upload(alice, 'ab', 'replaced', { quota: { bytes: 1000, count: 6 } }));
    assert.equal(row.size, 8);
    assert.equal(await bytesOf('alice', 'ab'), 'replaced');
  });

  test('parallel uploads cannot pass the quota together', async () => {
    const quota = { bytes: 1_000_000, count: 2 };
    const results = await Promise.allSettled([store.commit(upload(bob, 'p1', 'a', { quota })), store.commit(upload(bob, 'p2', 'b', { quota }))]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, JSON.stringify(results.map((r) => r.status)));
    const refused = results.find((r) => r.status === 'rejected');
    assert.ok(refused && refused.reason instanceof Conflict);
    assert.equal((await store.usage(bob)).count, 2);
  });

  test('remove deletes a live paste and its bytes; a second remove finds nothing', async () => {
    const removed = await store.remove('alice', 'a-c');
    assert.ok(removed);
    assert.equal(removed.owner, 'alice');
    assert.equal(removed.name, 'a-c');
    assert.ok(!existsSync(join(store.blobDir, removed.blob)));
    assert.equal(await store.exists(alice, 'a-c'), false);
    assert.equal(await store.remove('alice', 'a-c'), undefined);
    assert.equal(await store.remove('bob', 'ab'), undefined, 'another user’s paste of that name is not theirs');
    assert.equal(await store.remove('alice', 'gone.txt'), undefined, 'an expired paste is left to the sweeper');
  });

  test('sweep deletes expired pastes, and blob files without a row once past the grace period', async () => {
    const liveCount = (await store.list(alice, true)).length;
    const gone = await engine.handle.run((db) => db.select().from(engine.handle.t.pastes));
    const goneBlob = gone.find((p) => p.name === 'gone.txt')!.blob;
    const stray = join(store.blobDir, 'stray-from-a-crash');
    writeFileSync(stray, 'no row points here');
    const first = await store.sweep();
    assert.deepEqual(first, { expired: 1, orphans: 0 }, 'a young stray file may be a commit on its way in');
    assert.ok(!existsSync(join(store.blobDir, goneBlob)));
    assert.equal(await store.exists(alice, 'gone.txt'), false);
    assert.ok(existsSync(stray));
    assert.equal((await store.list(alice, true)).length, liveCount, 'live pastes stay');

    now = new Date(Date.now() + ORPHAN_GRACE_MS + 60_000);
    const live = new Set((await engine.handle.run((db) => db.select().from(engine.handle.t.pastes))).map((p) => p.blob));
    const second = await store.sweep();
    assert.deepEqual(second, { expired: 0, orphans: 1 });
    assert.ok(!existsSync(stray));
    assert.deepEqual(new Set(blobs()), live, 'every blob a row points at is still there');
    assert.equal(await bytesOf('alice', 'ab'), 'replaced');
  });

  test('a remove or a replace rolled back with its transaction (a failed audit row) keeps the paste whole', async () => {
    await store.commit(upload(alice, 'kept.txt', 'first bytes'));
    await assert.rejects(
      engine.handle.transaction(async () => {
        assert.ok(await store.remove('alice', 'kept.txt'));
        throw new Error('the audit row could not be written');
      }),
      /audit row/,
    );
    assert.equal(await bytesOf('alice', 'kept.txt'), 'first bytes', 'the row came back, and so did its bytes');
    await assert.rejects(
      engine.handle.transaction(async () => {
        await store.commit(upload(alice, 'kept.txt', 'second bytes'));
        throw new Error('the audit row could not be written');
      }),
      /audit row/,
    );
    assert.equal(await bytesOf('alice', 'kept.txt'), 'first bytes', 'the replaced bytes stay while the old row does');
    await engine.handle.transaction(() => store.remove('alice', 'kept.txt'));
    assert.equal(await bytesOf('alice', 'kept.txt'), undefined);
  });
});
