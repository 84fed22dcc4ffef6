/**
 * The seat store's port contract on both engines: the lowest free address (never one another peer
 * holds, never the same twice, even for two reservations at once), a taken name, key rotation, removal.
 */
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { UsageError } from '../src/core/errors.ts';
import { SqlSeatStore } from '../src/ops/seats/sql-store.ts';
import { ENGINES, openTestEngine, type TestEngine } from './support/engines.ts';

const CIDR = '10.40.0.0/29'; // hosts .2 to .6 for seats (.1 is the lab side, .7 broadcast)
const t0 = new Date('2026-06-01T09:00:00.000Z');
const seat = (name: string, at = t0) => ({ name, publicKey: `key-${name}`, createdBy: 'alice', at });

describe.each(ENGINES)('seat store on %s', (engineName) => {
  let engine: TestEngine;
  let store: SqlSeatStore;

  beforeAll(async () => {
    engine = await openTestEngine(engineName);
    store = new SqlSeatStore(engine.handle);
  });
  afterAll(() => engine.close());

  test('reserve takes the lowest free address, skipping other peers’; get and list read seats back', async () => {
    const laptop = await store.reserve(seat('laptop'), CIDR, []);
    assert.deepEqual(laptop, { name: 'laptop', publicKey: 'key-laptop', address: '10.40.0.2', createdBy: 'alice', createdAt: t0, rotatedAt: null });
    const phone = await store.reserve(seat('Phone'), CIDR, ['10.40.0.3', '10.40.0.4']);
    assert.equal(phone?.address, '10.40.0.5');
    const desk = await store.reserve(seat('desk'), CIDR, ['10.40.0.4']);
    assert.equal(desk?.address, '10.40.0.3');
    assert.deepEqual(await store.get('laptop'), laptop);
    assert.equal(await store.get('LAPTOP'), undefined);
    assert.deepEqual(
      (await store.list()).map((s) => [s.name, s.address]),
      [
        ['Phone', '10.40.0.5'],
        ['desk', '10.40.0.3'],
        ['laptop', '10.40.0.2'],
      ],
    );
  });

  test('a taken name gives undefined and changes nothing', async () => {
    assert.equal(await store.reserve({ ...seat('laptop'), publicKey: 'other' }, CIDR, []), undefined);
    assert.equal((await store.get('laptop'))!.publicKey, 'key-laptop');
    assert.equal((await store.list()).length, 3);
  });

  test('two reservations at once get different addresses; a full range is a UsageError', async () => {
    const [a, b] = await Promise.all([store.reserve(seat('a'), CIDR, []), store.reserve(seat('b'), CIDR, [])]);
    assert.ok(a && b);
    assert.deepEqual([a.address, b.address].sort(), ['10.40.0.4', '10.40.0.6']);
    await assert.rejects(store.reserve(seat('c'), CIDR, []), UsageError);
    assert.equal(await store.get('c'), undefined);
  });

  test('setPublicKey rotates the key and stamps rotatedAt; an unknown name changes nothing', async () => {
    const at = new Date(t0.getTime() + 3_600_000);
    await store.setPublicKey('laptop', 'new-key', at);
    const laptop = (await store.get('laptop'))!;
    assert.equal(laptop.publicKey, 'new-key');
    assert.equal(laptop.rotatedAt?.getTime(), at.getTime());
    assert.equal(laptop.address, '10.40.0.2');
    await store.setPublicKey('nope', 'x', at);
    assert.equal(await store.get('nope'), undefined);
  });

  test('remove frees the name and the address', async () => {
    await store.remove('desk');
    await store.remove('desk'); // twice is harmless
    assert.equal(await store.get('desk'), undefined);
    const again = await store.reserve(seat('desk2'), CIDR, []);
    assert.equal(again?.address, '10.40.0.3');
  });
});
