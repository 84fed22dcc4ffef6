/** The Matrix links store's port contract on SQLite and on PostgreSQL (PGlite): codes, redeeming them once, lookups. */
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, test } from 'vitest';
import type { Clock } from '../src/core/clock.ts';
import { SqlMatrixLinkStore } from '../src/ops/matrix-links/sql-store.ts';
import { linkCodeHash } from '../src/ops/matrix-links/store.ts';
import { ENGINES, openTestEngine, type TestEngine } from './support/engines.ts';

const T0 = Date.parse('2026-03-01T10:00:00.123Z');
const min = (n: number) => new Date(T0 + n * 60_000);

describe.each(ENGINES)('matrix link store on %s', (engineName) => {
  let engine: TestEngine;
  let links: SqlMatrixLinkStore;
  let now = min(0);
  const clock: Clock = { now: () => now };
  const ids: Record<string, number> = {};
  beforeAll(async () => {
    engine = await openTestEngine(engineName);
    links = new SqlMatrixLinkStore(engine.handle, clock);
    const { users } = engine.handle.t;
    // The users table is the identity module's: rows made directly, as its store would.
    const rows = await engine.handle.run((db) =>
      db
        .insert(users)
        .values([
          { name: 'alice', role: 'admin' },
          { name: 'bob', role: 'member' },
        ])
        .returning({ id: users.id, name: users.name }),
    );
    for (const r of rows) ids[r.name] = r.id;
  });
  afterAll(() => engine.close());

  test('a code links its Matrix id once; used, expired and unknown codes are told apart', async () => {
    await links.addCode('@alice:x', linkCodeHash('aaaaa-bbbbb'), min(10));
    assert.deepEqual(await links.redeem(linkCodeHash('zzzzz-zzzzz'), ids.alice!, min(1)), { ok: false, reason: 'unknown' });
    assert.deepEqual(await links.redeem(linkCodeHash('AAAAA BBBBB'), ids.alice!, min(1)), { ok: true, mxid: '@alice:x', previous: undefined });
    assert.deepEqual(await links.redeem(linkCodeHash('aaaaabbbbb'), ids.alice!, min(2)), { ok: false, reason: 'used', usedAt: min(1) });
    assert.deepEqual(await links.linkedUser('@alice:x'), { id: ids.alice, name: 'alice', role: 'admin' });
    assert.equal(await links.linkedUser('@nobody:x'), undefined);
    assert.equal(await links.linkedMatrixId('alice'), '@alice:x');
    assert.equal(await links.linkedMatrixId('bob'), undefined);

    await links.addCode('@bob:x', linkCodeHash('ccccc-ddddd'), min(15));
    assert.deepEqual(await links.redeem(linkCodeHash('ccccc-ddddd'), ids.bob!, min(15)), { ok: false, reason: 'expired', expiredAt: min(15) });
  });

  test('a new code replaces the unused one of that Matrix id; a relink names the previous user; the newest link wins', async () => {
    await links.addCode('@shared:x', linkCodeHash('eeeee-fffff'), min(30));
    await links.addCode('@shared:x', linkCodeHash('ggggg-hhhhh'), min(30));
    assert.deepEqual(await links.redeem(linkCodeHash('eeeee-fffff'), ids.bob!, min(20)), { ok: false, reason: 'unknown' }, 'replaced');
    assert.deepEqual(await links.redeem(linkCodeHash('ggggg-hhhhh'), ids.bob!, min(20)), { ok: true, mxid: '@shared:x', previous: undefined });
    assert.equal((await links.linkedUser('@shared:x'))?.name, 'bob');
    now = min(21);
    await links.addCode('@shared:x', linkCodeHash('iiiii-jjjjj'), min(40));
    assert.deepEqual(await links.redeem(linkCodeHash('iiiii-jjjjj'), ids.alice!, min(22)), { ok: true, mxid: '@shared:x', previous: 'bob' });
    assert.equal((await links.linkedUser('@shared:x'))?.name, 'alice');
    assert.equal(await links.linkedMatrixId('alice'), '@shared:x', 'linked most recently');
    assert.equal(await links.linkedMatrixId('bob'), undefined);
  });

  test('codes that expired more than a day ago (by the injected clock) are deleted when a new one is made', async () => {
    await links.addCode('@old:x', linkCodeHash('kkkkk-mmmmm'), min(50));
    now = min(50 + 24 * 60 + 1);
    await links.addCode('@new:x', linkCodeHash('nnnnn-ppppp'), min(50 + 24 * 60 + 10));
    assert.deepEqual(await links.redeem(linkCodeHash('kkkkk-mmmmm'), ids.bob!, now), { ok: false, reason: 'unknown' }, 'pruned, not merely expired');
    const { matrixLinkCodes } = engine.handle.t;
    const left = await engine.handle.run((db) => db.select({ mxid: matrixLinkCodes.mxid }).from(matrixLinkCodes));
    assert.ok(!left.some((r) => r.mxid === '@old:x' || r.mxid === '@bob:x'), JSON.stringify(left));
    assert.ok(left.some((r) => r.mxid === '@new:x'));
  });
});
