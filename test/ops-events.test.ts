/** The ops events port: stored before subscribers hear of it, read back in order, kept for a month. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { pino } from 'pino';
import { migrateDb, openDb, type Db } from '../src/db/client.ts';
import { OPS_EVENT_RETENTION_MS, OpsEvents, type StoredOpsEvent } from '../src/ops/events/index.ts';
import { SqlOpsEventStore } from '../src/ops/events/sql-store.ts';
import { sqliteHandle } from '../src/db/sqlite-engine.ts';

describe('ops events port', () => {
  let dir: string;
  let db: Db;
  let now = new Date('2026-01-01T00:00:00Z');
  const clock = { now: () => now };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'labd-events-'));
    db = openDb(dir);
    migrateDb(db);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('an event is stored before subscribers hear of it; since() reads it back in order', async () => {
    const store = new SqlOpsEventStore(sqliteHandle(db));
    const bus = new OpsEvents(store, clock, pino({ level: 'silent' }));
    const heard: StoredOpsEvent[] = [];
    const storedWhenHeard: Promise<boolean>[] = [];
    const unsubscribe = bus.subscribe((e) => {
      heard.push(e);
      storedWhenHeard.push(store.since(e.id - 1, 1).then((rows) => rows[0]?.id === e.id));
    });
    const first = await bus.emit({ kind: 'node.joined', node: 'nuc2', role: 'worker', location: null });
    const second = await bus.emit({ kind: 'deploy.failed', deployment: 'web/api', action: 'deploy', by: 'alice', error: 'progress deadline exceeded' });
    assert.deepEqual(
      (await bus.since(first - 1)).map((e) => e.id),
      [first, second],
    );
    assert.equal(await bus.latestId(), second);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(
      heard.map((e) => e.kind),
      ['node.joined', 'deploy.failed'],
    );
    assert.deepEqual(await Promise.all(storedWhenHeard), [true, true]);
    unsubscribe();
  });

  test('events older than the retention are dropped when a new one is stored', async () => {
    const bus = new OpsEvents(new SqlOpsEventStore(sqliteHandle(db)), clock, pino({ level: 'silent' }));
    const old = await bus.emit({ kind: 'node.joined', node: 'old1', role: null, location: null });
    now = new Date(now.getTime() + OPS_EVENT_RETENTION_MS + 1000);
    const fresh = await bus.emit({ kind: 'node.joined', node: 'new1', role: null, location: null });
    const kept = (await bus.since(0)).map((e) => e.id);
    assert.ok(!kept.includes(old), 'the month-old event is gone');
    assert.deepEqual(kept, [fresh]);
  });
});
