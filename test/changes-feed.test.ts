/**
 * The change feed port (src/ops/changes): the in-process engine's delivery, deferral to the end of a
 * transaction (sent after the commit, dropped at a rollback), which engine labd chooses, and the
 * PostgreSQL LISTEN/NOTIFY and NATS engines between two feeds on one real server.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import pg from 'pg';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { createLogger } from '../src/core/logger.ts';
import type { Clock } from '../src/core/clock.ts';
import { changeEngineFor, LocalChangeFeed, type Change, type ChangeFeed, type ChangePayload } from '../src/ops/changes/index.ts';
import { ChangeFeedBase } from '../src/ops/changes/port.ts';
import { OpsEvents, type OpsEventStore, type StoredOpsEvent } from '../src/ops/events/index.ts';
import { NatsChangeFeed } from '../src/ops/changes/nats.ts';
import { PgNotifyChangeFeed, type PgNotifyPool } from '../src/ops/changes/pg-notify.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';
import { NatsServer, natsServerAvailable } from './support/nats-server.ts';
import { POSTGRES_SKIP, startPostgresServer, type PostgresServer } from './support/postgres-server.ts';
import { until } from './support/wait.ts';

// Quiet: a subscriber that throws is logged, on purpose, in a test below.
const log = createLogger('error', new Writable({ write: (_c, _e, done) => done() }));

function record(feed: ChangeFeed, topic: string): Change[] {
  const seen: Change[] = [];
  feed.subscribe(topic, (c) => seen.push(c));
  return seen;
}

const tick = () => new Promise((r) => setImmediate(r));

describe('in process', () => {
  test('a publication reaches every subscriber of its topic, as local; unsubscribing stops it', async () => {
    const feed = new LocalChangeFeed(log);
    const a = record(feed, 'access');
    const other = record(feed, 'accounts');
    const b: Change[] = [];
    const off = feed.subscribe('access', (c) => b.push(c));
    feed.publish('access', { what: 'x' });
    await tick();
    assert.deepEqual(a, [{ topic: 'access', payload: { what: 'x' }, local: true, resync: false }]);
    assert.equal(b.length, 1);
    assert.equal(other.length, 0);
    off();
    feed.publish('access');
    await tick();
    assert.equal(a.length, 2);
    assert.equal(b.length, 1);
    assert.equal(feed.status().ok, true);
  });

  test('inside deferring: sent once it resolved (nested calls join the outer one), dropped when it throws', async () => {
    const feed = new LocalChangeFeed(log);
    const seen = record(feed, 'access');
    await feed.deferring(async () => {
      feed.publish('access', { n: 1 });
      await feed.deferring(async () => feed.publish('access', { n: 2 }));
      await tick();
      assert.equal(seen.length, 0, 'nothing before the outermost call resolved (the commit)');
    });
    await tick();
    assert.deepEqual(
      seen.map((c) => c.payload.n),
      [1, 2],
    );
    await assert.rejects(
      feed.deferring(async () => {
        feed.publish('access', { n: 3 });
        throw new Error('rolled back');
      }),
      /rolled back/,
    );
    await tick();
    assert.equal(seen.length, 2, 'a rolled back change is never announced');
    // Work that outlives the scope (a timer started inside it) publishes at once.
    feed.publish('access', { n: 4 });
    await tick();
    assert.equal(seen.length, 3);
  });

  test('a subscriber that throws does not keep the others from hearing', async () => {
    const feed = new LocalChangeFeed(log);
    feed.subscribe('access', () => {
      throw new Error('boom');
    });
    const seen = record(feed, 'access');
    feed.publish('access');
    await tick();
    assert.equal(seen.length, 1);
  });

  test('oversized payloads are refused (a NOTIFY takes under 8000 bytes)', () => {
    const feed = new LocalChangeFeed(log);
    assert.throws(() => feed.publish('access', { what: 'x'.repeat(5000) }), /over 4000 bytes/);
  });

  test('which engine: NATS when nats.url is set, PostgreSQL without it, in process on SQLite', () => {
    assert.equal(changeEngineFor({ nats: true, postgres: true }), 'nats');
    assert.equal(changeEngineFor({ nats: true, postgres: false }), 'nats');
    assert.equal(changeEngineFor({ nats: false, postgres: true }), 'postgres');
    assert.equal(changeEngineFor({ nats: false, postgres: false }), 'local');
  });

  test('labd on SQLite: the in-process engine, nothing about it in /readyz', async () => {
    const labd = await InProcessLabd.start();
    try {
      const ready = await (await fetch(`http://127.0.0.1:${labd.httpPort}/readyz`)).text();
      assert.doesNotMatch(ready, /changes/);
      assert.doesNotMatch(labd.logs(), /changes reach the other replicas/);
    } finally {
      await labd.stop();
    }
  });
});

/** Two feeds joined in memory, as two replicas are by a real engine. */
class PairFeed extends ChangeFeedBase {
  readonly engine = 'nats' as const;
  peer: PairFeed | undefined;
  status() {
    return { ok: true, detail: 'paired' };
  }
  async close() {}
  protected transmit(topic: string, payload: ChangePayload): void {
    const peer = this.peer!;
    queueMicrotask(() => peer.receive(topic, payload));
  }
  reconnected(): void {
    this.resyncAll();
  }
}

function pair(): [PairFeed, PairFeed] {
  const [a, b] = [new PairFeed(log), new PairFeed(log)];
  a.peer = b;
  b.peer = a;
  return [a, b];
}

describe('ops events across replicas', () => {
  test("an event stored on one replica reaches the other's subscribers (the leader's announcer), read from the shared store", async () => {
    const rows: StoredOpsEvent[] = [];
    const store: OpsEventStore = {
      async append(event, at) {
        rows.push({ ...event, id: rows.length + 1, at } as StoredOpsEvent);
        return rows.length;
      },
      async since(id, limit) {
        return rows.filter((r) => r.id > id).slice(0, limit);
      },
      async latestId() {
        return rows.length;
      },
    };
    const [fa, fb] = pair();
    const clock = { now: () => new Date(0) } as unknown as Clock;
    const onA = new OpsEvents(store, clock, log, fa);
    const onB = new OpsEvents(store, clock, log, fb);
    fb.subscribe('ops-events', (c) => {
      if (!c.local) void onB.arrived(c.resync ? undefined : Number(c.payload.id));
    });
    const heard: StoredOpsEvent[] = [];
    onB.subscribe((e) => heard.push(e));
    await onA.emit({ kind: 'git.pushed', repo: 'r', ref: 'main', commits: 1, by: 'ann' });
    await until('b heard', () => heard.length === 1);
    assert.equal(heard[0]!.kind, 'git.pushed');
    assert.equal(heard[0]!.id, 1);
    // After a reconnect: the newest event, so the subscriber catches up from the store.
    await onA.emit({ kind: 'git.pushed', repo: 'r', ref: 'dev', commits: 2, by: 'ann' });
    await until('b heard the second', () => heard.length === 2);
    fb.reconnected();
    await until('b told once more', () => heard.length === 3);
    assert.equal(heard[2]!.id, 2);
  });
});

describe.skipIf(POSTGRES_SKIP)('PostgreSQL LISTEN/NOTIFY', () => {
  let server: PostgresServer;
  const pools: pg.Pool[] = [];
  const feeds: ChangeFeed[] = [];
  beforeAll(async () => {
    server = await startPostgresServer();
    await server.createDatabase('feed');
  }, 60_000);
  afterAll(async () => {
    for (const f of feeds) await f.close();
    for (const p of pools) await p.end();
    await server?.stop();
  });
  const feed = async () => {
    const pool = new pg.Pool({ connectionString: server.url('feed'), max: 3 });
    pool.on('error', () => undefined);
    pools.push(pool);
    const f = await PgNotifyChangeFeed.start(pool as unknown as PgNotifyPool, log);
    feeds.push(f);
    return f;
  };

  test('a change published on one reaches the other (not as local), and this one once', async () => {
    const [a, b] = [await feed(), await feed()];
    const onA = record(a, 'access');
    const onB = record(b, 'access');
    a.publish('access', { what: 'role permission' });
    await until('b heard', () => onB.length === 1);
    assert.deepEqual(onB[0], { topic: 'access', payload: { what: 'role permission' }, local: false, resync: false });
    await tick();
    assert.equal(onA.length, 1, 'a hears its own change once, in process');
    assert.equal(onA[0]!.local, true);
    assert.match(a.status().detail, /listening on labd_changes/);
  });

  test('a lost LISTEN session: the feed listens again and every subscriber reloads once (resync)', async () => {
    const [a, b] = [await feed(), await feed()];
    const onB = record(b, 'accounts');
    const c = new pg.Client({ connectionString: server.url('feed') });
    await c.connect();
    // Every listening session (the feeds of both tests) is ended by the server.
    await c.query("select pg_terminate_backend(pid) from pg_stat_activity where datname = 'feed' and query ilike 'listen %'");
    await c.end();
    await until('b resynced', () => onB.some((x) => x.resync));
    await until('b listens again', () => b.status().ok);
    a.publish('accounts', { what: 'removeUser' });
    await until('b heard the next change', () => onB.some((x) => !x.resync && x.payload.what === 'removeUser'));
  });
});

describe.skipIf(!natsServerAvailable())('NATS', () => {
  let nats: NatsServer;
  const feeds: ChangeFeed[] = [];
  beforeAll(async () => {
    nats = await NatsServer.start();
  });
  afterAll(async () => {
    for (const f of feeds) await f.close();
    await nats?.stop();
  });
  const feed = async () => {
    const f = await NatsChangeFeed.connect({ url: nats.url }, log);
    feeds.push(f);
    return f;
  };

  test('a change published on one reaches the other; after an outage both resync and changes flow again', async () => {
    const [a, b] = [await feed(), await feed()];
    const onA = record(a, 'ops-events');
    const onB = record(b, 'ops-events');
    a.publish('ops-events', { id: 7 });
    await until('b heard', () => onB.length === 1);
    assert.deepEqual(onB[0], { topic: 'ops-events', payload: { id: 7 }, local: false, resync: false });
    assert.equal(onA.length, 1);

    await nats.down();
    await until('a knows it is disconnected', () => !a.status().ok);
    await nats.up();
    await until('both resynced', () => onA.some((x) => x.resync) && onB.some((x) => x.resync));
    await until('both connected', () => a.status().ok && b.status().ok);
    b.publish('ops-events', { id: 8 });
    await until('a heard the next change', () => onA.some((x) => x.payload.id === 8 && !x.local));
  });
});
