/**
 * The node inventory's port contract on both engines: a name or MAC another live node holds is the
 * same Conflict on both; joining and retiring; a retired node frees its name and MAC.
 */
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, test } from 'vitest';
import type { Clock } from '../src/core/clock.ts';
import { Conflict } from '../src/core/errors.ts';
import type { NewInventoryRow } from '../src/ops/nodes/inventory.ts';
import { SqlNodeInventory } from '../src/ops/nodes/sql-store.ts';
import { ENGINES, openTestEngine, type TestEngine } from './support/engines.ts';

const node = (name: string, mac: string, extra: Partial<NewInventoryRow> = {}): NewInventoryRow => ({
  name,
  mac,
  profile: 'worker',
  role: null,
  location: null,
  tokenId: `id-${name}`,
  tokenSecret: `secret-${name}`,
  createdBy: 'root',
  ...extra,
});

describe.each(ENGINES)('node inventory on %s', (engineName) => {
  let engine: TestEngine;
  let inventory: SqlNodeInventory;
  let now = new Date('2026-05-01T10:00:00.000Z');
  const clock: Clock = { now: () => now };

  beforeAll(async () => {
    engine = await openTestEngine(engineName);
    inventory = new SqlNodeInventory(engine.handle, clock);
  });
  afterAll(() => engine.close());

  test('add records a provisioned node; byName, bootable, list and pending find it', async () => {
    const added = await inventory.add(node('n1', 'aa:bb:cc:00:00:01', { role: 'storage', location: 'rack-1' }));
    assert.deepEqual(added, {
      id: added.id,
      name: 'n1',
      mac: 'aa:bb:cc:00:00:01',
      profile: 'worker',
      role: 'storage',
      location: 'rack-1',
      tokenId: 'id-n1',
      tokenSecret: 'secret-n1',
      state: 'provisioned',
      createdBy: 'root',
      createdAt: now,
      joinedAt: null,
      retiredAt: null,
    });
    assert.deepEqual(await inventory.byName('n1'), added);
    assert.deepEqual(await inventory.bootable('aa:bb:cc:00:00:01'), added);
    assert.equal(await inventory.byName('n2'), undefined);
    assert.equal(await inventory.bootable('aa:bb:cc:00:00:99'), undefined);
    const second = await inventory.add(node('n2', 'aa:bb:cc:00:00:02'));
    assert.deepEqual(
      (await inventory.list(false)).map((r) => r.name),
      ['n2', 'n1'],
      'newest first',
    );
    assert.deepEqual(
      (await inventory.pending()).map((r) => r.id),
      [added.id, second.id],
    );
  });

  test('a MAC or a name another live node holds is a Conflict on both engines, and nothing is added', async () => {
    await assert.rejects(
      inventory.add(node('n3', 'aa:bb:cc:00:00:01')),
      (err: unknown) => err instanceof Conflict && err.message === 'MAC aa:bb:cc:00:00:01 already belongs to node n1 (provisioned)',
    );
    await assert.rejects(
      inventory.add(node('n1', 'aa:bb:cc:00:00:03')),
      (err: unknown) => err instanceof Conflict && err.message === 'node n1 is already provisioned (MAC aa:bb:cc:00:00:01); deprovision it first',
    );
    assert.equal((await inventory.list(true)).length, 2);
  });

  test('two adds of one MAC at once: one wins, the other gets a Conflict', async () => {
    const results = await Promise.allSettled([inventory.add(node('r1', 'aa:bb:cc:00:00:10')), inventory.add(node('r2', 'aa:bb:cc:00:00:10'))]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    const lost = results.find((r) => r.status === 'rejected');
    assert.ok(lost && lost.reason instanceof Conflict, String(lost && lost.reason));
    const won = results.find((r) => r.status === 'fulfilled')!;
    await inventory.remove((won as PromiseFulfilledResult<{ id: number }>).value.id);
  });

  test('markJoined stops the boot answer and forgets the secret; only a provisioned node joins', async () => {
    const n1 = (await inventory.byName('n1'))!;
    now = new Date(now.getTime() + 5000);
    await inventory.markJoined(n1.id);
    const joined = (await inventory.byName('n1'))!;
    assert.equal(joined.state, 'joined');
    assert.equal(joined.tokenSecret, null);
    assert.equal(joined.joinedAt?.getTime(), now.getTime());
    assert.equal(await inventory.bootable('aa:bb:cc:00:00:01'), undefined);
    assert.deepEqual(
      (await inventory.pending()).map((r) => r.name),
      ['n2'],
    );
    const later = new Date(now.getTime() + 5000);
    now = later;
    await inventory.markJoined(n1.id); // already joined: unchanged
    assert.equal((await inventory.byName('n1'))!.joinedAt?.getTime(), later.getTime() - 5000);
    await assert.rejects(inventory.add(node('n9', 'aa:bb:cc:00:00:01')), Conflict);
  });

  test('retire hides the node from live views and frees its name and MAC; a retired one never joins', async () => {
    const n1 = (await inventory.byName('n1'))!;
    const n2 = (await inventory.byName('n2'))!;
    now = new Date(now.getTime() + 5000);
    await inventory.retire(n2.id);
    assert.equal(await inventory.byName('n2'), undefined);
    assert.equal(await inventory.bootable('aa:bb:cc:00:00:02'), undefined);
    assert.deepEqual(await inventory.pending(), []);
    assert.deepEqual(
      (await inventory.list(false)).map((r) => r.name),
      ['n1'],
    );
    const all = await inventory.list(true);
    const retired = all.find((r) => r.id === n2.id)!;
    assert.equal(retired.state, 'retired');
    assert.equal(retired.tokenSecret, null);
    assert.equal(retired.retiredAt?.getTime(), now.getTime());
    await inventory.markJoined(n2.id);
    assert.equal((await inventory.list(true)).find((r) => r.id === n2.id)!.state, 'retired');

    const again = await inventory.add(node('n2', 'aa:bb:cc:00:00:02'));
    assert.notEqual(again.id, n2.id);
    assert.equal((await inventory.byName('n2'))!.id, again.id);
    assert.equal((await inventory.bootable('aa:bb:cc:00:00:02'))!.id, again.id);
    assert.deepEqual(
      (await inventory.list(true)).map((r) => r.id),
      [again.id, n2.id, n1.id],
    );
  });

  test('remove drops a record for good', async () => {
    const n2 = (await inventory.byName('n2'))!;
    await inventory.remove(n2.id);
    assert.equal(await inventory.byName('n2'), undefined);
    assert.ok(!(await inventory.list(true)).some((r) => r.id === n2.id));
    await inventory.remove(n2.id); // gone already: nothing happens
  });
});
