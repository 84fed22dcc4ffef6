/**
 * The app token store's port on both engines: tokens made (a taken name and the per-user quota are the
 * same Conflict on SQLite and PostgreSQL), listed, revoked (at the injected clock's time), and verified
 * (live, of the scope asked, not expired; the use is noted).
 */
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { Conflict } from '../src/core/errors.ts';
import { SqlIdentityStore } from '../src/ops/identity/sql-store.ts';
import { SqlTokenStore } from '../src/ops/tokens/sql-store.ts';
import { ENGINES, openTestEngine, type TestEngine } from './support/engines.ts';

const t0 = new Date('2026-03-01T10:00:00.123Z');
const at = (s: number) => new Date(t0.getTime() + s * 1000);

describe.each(ENGINES)('token store on %s', (engineName) => {
  let engine: TestEngine;
  let tokens: SqlTokenStore;
  let identities: SqlIdentityStore;
  let now = t0;
  beforeAll(async () => {
    engine = await openTestEngine(engineName);
    tokens = new SqlTokenStore(engine.handle, { now: () => now });
    identities = new SqlIdentityStore(engine.handle);
  });
  afterAll(() => engine.close());

  test('create, list (by scope, names in order), verify with its owner, and the use noted', async () => {
    const ada = await identities.createUser('ada', 'operator');
    const phone = await tokens.create(ada.id, 'phone', 'carddav', 'h-phone');
    assert.deepEqual(
      [phone.userId, phone.name, phone.scope, phone.expiresAt, phone.lastUsedAt, phone.createdAt instanceof Date],
      [ada.id, 'phone', 'carddav', null, null, true],
    );
    const laptop = await tokens.create(ada.id, 'laptop', 'git', 'h-laptop', at(3600));
    assert.equal(laptop.expiresAt?.getTime(), at(3600).getTime());
    assert.deepEqual(
      (await tokens.list(ada.id)).map((t) => t.name),
      ['laptop', 'phone'],
    );
    assert.deepEqual(
      (await tokens.list(ada.id, 'git')).map((t) => t.name),
      ['laptop'],
    );
    assert.deepEqual(await tokens.list(ada.id + 1000), []);

    assert.deepEqual(await tokens.verify('h-laptop', 'git', at(10)), {
      tokenId: laptop.id,
      tokenName: 'laptop',
      userId: ada.id,
      userName: 'ada',
      role: 'operator',
    });
    assert.equal((await tokens.list(ada.id, 'git'))[0]?.lastUsedAt?.getTime(), at(10).getTime());
    assert.equal(await tokens.verify('h-laptop', 'carddav', at(10)), undefined, 'another scope');
    assert.equal(await tokens.verify('h-nope', 'git', at(10)), undefined);
    assert.equal(await tokens.verify('h-laptop', 'git', at(3600)), undefined, 'expired at its expiry');
    assert.equal((await tokens.list(ada.id, 'git')).length, 1, 'an expired token is still listed until revoked');
  });

  test('a taken name is a Conflict; a revoked name may be used again', async () => {
    const bo = await identities.createUser('bo', 'member');
    await tokens.create(bo.id, 'dav', 'carddav', 'h-bo-1');
    await assert.rejects(tokens.create(bo.id, 'dav', 'git', 'h-bo-2'), (err) => err instanceof Conflict && /token named 'dav'/.test(err.message));
    assert.equal(await tokens.verify('h-bo-2', 'git', t0), undefined);
    // Another user may hold the same name.
    const cy = await identities.createUser('cy', 'member');
    await tokens.create(cy.id, 'dav', 'carddav', 'h-cy-1');
    now = at(50);
    assert.equal((await tokens.revoke(bo.id, 'dav'))?.name, 'dav');
    assert.equal(await tokens.verify('h-bo-1', 'carddav', at(60)), undefined, 'revoked');
    const again = await tokens.create(bo.id, 'dav', 'git', 'h-bo-3');
    assert.equal(again.scope, 'git');
    assert.deepEqual(
      (await tokens.list(bo.id)).map((t) => [t.name, t.scope]),
      [['dav', 'git']],
    );
    assert.equal((await tokens.verify('h-cy-1', 'carddav', at(60)))?.userName, 'cy');
  });

  test('two creates of one name at once: one token, one Conflict', async () => {
    const dee = await identities.createUser('dee', 'member');
    const results = await Promise.allSettled([tokens.create(dee.id, 'same', 'git', 'h-dee-1'), tokens.create(dee.id, 'same', 'git', 'h-dee-2')]);
    assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
    const refused = results.find((r) => r.status === 'rejected');
    assert.ok(refused?.reason instanceof Conflict, String(refused?.reason));
    assert.equal((await tokens.list(dee.id)).length, 1);
  });

  test('the per-user quota counts tokens not revoked (expired ones too)', async () => {
    const eli = await identities.createUser('eli', 'member');
    await tokens.create(eli.id, 'a', 'git', 'h-eli-a', at(-10), 2);
    await tokens.create(eli.id, 'b', 'git', 'h-eli-b', null, 2);
    await assert.rejects(
      tokens.create(eli.id, 'c', 'git', 'h-eli-c', null, 2),
      (err) => err instanceof Conflict && /token quota: you have 2 app tokens/.test(err.message),
    );
    await tokens.revoke(eli.id, 'a');
    await tokens.create(eli.id, 'c', 'git', 'h-eli-c', null, 2);
    assert.deepEqual(
      (await tokens.list(eli.id)).map((t) => t.name),
      ['b', 'c'],
    );
  });

  test('revoke by name or id, only the own live ones', async () => {
    const fox = await identities.createUser('fox', 'member');
    const gil = await identities.createUser('gil', 'member');
    const one = await tokens.create(fox.id, 'one', 'carddav', 'h-fox-1');
    await tokens.create(fox.id, 'two', 'carddav', 'h-fox-2');
    assert.equal(await tokens.revoke(gil.id, 'one'), undefined, "not gil's");
    assert.equal(await tokens.revoke(gil.id, String(one.id)), undefined);
    assert.equal((await tokens.revoke(fox.id, String(one.id)))?.name, 'one');
    assert.equal(await tokens.revoke(fox.id, 'one'), undefined, 'already revoked');
    assert.equal(await tokens.revoke(fox.id, 'none'), undefined);
    assert.deepEqual(
      (await tokens.list(fox.id)).map((t) => t.name),
      ['two'],
    );
    // A user's tokens go with the user.
    await identities.removeUser('fox');
    assert.equal(await tokens.verify('h-fox-2', 'carddav', t0), undefined);
  });
});
