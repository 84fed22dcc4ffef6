/** The ops event store's port contract on SQLite and on PostgreSQL (PGlite): append with pruning, since, latestId. */
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { SqlOpsEventStore } from '../src/ops/events/sql-store.ts';
import type { OpsEvent } from '../src/ops/events/types.ts';
import { ENGINES, openTestEngine, type TestEngine } from './support/engines.ts';

const T0 = Date.parse('2026-03-01T10:00:00.123Z');

describe.each(ENGINES)('ops event store on %s', (engineName) => {
  let engine: TestEngine;
  let store: SqlOpsEventStore;
  beforeAll(async () => {
    engine = await openTestEngine(engineName);
    store = new SqlOpsEventStore(engine.handle);
  });
  afterAll(() => engine.close());

  test('append returns increasing ids; since reads them back in order with their data; latestId', async () => {
    assert.equal(await store.latestId(), 0);
    assert.deepEqual(await store.since(0, 10), []);
    const events: OpsEvent[] = [
      { kind: 'node.joined', node: 'nuc1', role: 'worker', location: null },
      { kind: 'deploy.finished', deployment: 'web/api', action: 'deploy', by: 'alice', detail: '3/3 ready' },
      { kind: 'deploy.failed', deployment: 'web/api', action: 'restart', by: 'bob', error: 'progress deadline exceeded' },
      {
        kind: 'git.pushed',
        repo: 'lab/site',
        ref: 'refs/heads/main',
        commits: 2,
        by: 'carol',
        refs: { total: 2, branches: { created: 1, updated: 1, deleted: 0 }, tags: { created: 0, updated: 0, deleted: 0 }, other: 0, names: ['main', 'dev'] },
      },
    ];
    const ids: number[] = [];
    for (const [i, e] of events.entries()) ids.push(await store.append(e, new Date(T0 + i * 1000), new Date(0)));
    assert.ok(
      ids.every((id, i) => i === 0 || id > ids[i - 1]!),
      ids.join(','),
    );
    assert.equal(await store.latestId(), ids[3]);
    const stored = await store.since(0, 10);
    assert.deepEqual(
      stored,
      events.map((e, i) => ({ ...e, id: ids[i], at: new Date(T0 + i * 1000) })),
    );
    assert.deepEqual(
      (await store.since(ids[1]!, 10)).map((e) => e.id),
      [ids[2], ids[3]],
    );
    assert.deepEqual(
      (await store.since(0, 2)).map((e) => e.kind),
      ['node.joined', 'deploy.finished'],
    );
  });

  test('append drops events from before dropBefore, in the same unit', async () => {
    const latest = await store.latestId();
    const id = await store.append({ kind: 'node.joined', node: 'nuc9', role: null, location: 'attic' }, new Date(T0 + 100_000), new Date(T0 + 2500));
    assert.ok(id > latest);
    assert.deepEqual(
      (await store.since(0, 10)).map((e) => e.at.getTime()),
      [T0 + 3000, T0 + 100_000],
    );
    assert.equal(await store.latestId(), id);
    // A failure in the caller's transaction takes the append and its pruning back.
    await assert.rejects(
      engine.handle.transaction(async () => {
        await store.append({ kind: 'node.joined', node: 'nuc10', role: null, location: null }, new Date(T0 + 200_000), new Date(T0 + 150_000));
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal(await store.latestId(), id);
    assert.equal((await store.since(0, 10)).length, 2);
  });
});
