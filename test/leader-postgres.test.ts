/**
 * The advisory-lock election (src/ops/leader/pg-advisory.ts) on Debian's postgresql-15, through
 * node-postgres pools as the storage engine will hand them over: one of two replicas holds the lock
 * and leads; a session killed by the server (pg_terminate_backend) stops that leader at once and the
 * lock is taken again (by the other, or by the killed one on a new session); a graceful stop unlocks
 * for an immediate takeover.
 */
import assert from 'node:assert/strict';
import pg from 'pg';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { createLogger } from '../src/core/logger.ts';
import { AdvisoryLockLeadership, LEADER_LOCK_KEY, pgAdvisorySession, type PgPoolLike } from '../src/ops/leader/pg-advisory.ts';
import { POSTGRES_SKIP, startPostgresServer, type PostgresServer } from './support/postgres-server.ts';
import { until } from './support/wait.ts';

const log = createLogger('silent');

describe.skipIf(POSTGRES_SKIP !== undefined)('leader election on a PostgreSQL advisory lock (postgresql-15)', () => {
  let server: PostgresServer;
  const electors: AdvisoryLockLeadership[] = [];
  const pools: pg.Pool[] = [];
  const timings = { renewDeadlineMs: 1500, retryPeriodMs: 200 };

  before(async () => {
    server = await startPostgresServer();
  });
  after(async () => {
    // Electors first: each holds a pooled session, and a pool ends only when its sessions are back.
    for (const e of electors) await e.stop().catch(() => {});
    for (const p of pools) await p.end().catch(() => {});
    await server?.stop();
  });

  function pool(): pg.Pool {
    const p = new pg.Pool({ connectionString: server.url('postgres'), max: 2 });
    p.on('error', () => {}); // an idle client killed with the server: nothing to do
    pools.push(p);
    return p;
  }

  function replica(id: string) {
    const e = new AdvisoryLockLeadership({ session: pgAdvisorySession(pool() as unknown as PgPoolLike), identity: id, log, ...timings });
    electors.push(e);
    return e;
  }

  test('one of two leads; the server killing its session stops it and one leads again; stop unlocks for the other', async () => {
    const a = replica('a');
    const b = replica('b');
    let overlap = false;
    for (const l of [a, b]) l.onChange(() => (overlap ||= a.isLeader() && b.isLeader()));
    // Seen on the change itself: polled, a step-down that a's next try undoes within a poll's 100 ms is missed.
    let aSteppedDown = false;
    a.onChange(() => (aSteppedDown ||= !a.isLeader()));
    a.start();
    await until('a leads', () => a.isLeader(), { timeoutMs: 10_000 });
    b.start();
    await new Promise((r) => setTimeout(r, 5 * timings.retryPeriodMs));
    assert.equal(b.isLeader(), false, 'the lock is taken');
    assert.equal(a.isLeader(), true, "a's checks (pg_locks on its own session) keep finding the lock");

    // An admin (or a failover of the server) ends a's session: the lock goes with it.
    const admin = pool();
    const killed = await admin.query(`select pg_terminate_backend(pid) as ok from pg_locks where locktype = 'advisory' and objid::bigint = $1 and granted`, [
      LEADER_LOCK_KEY,
    ]);
    assert.equal(killed.rowCount, 1);
    await until('a stops leading', () => aSteppedDown, { timeoutMs: 10_000 });
    // The lock is free: b takes it, or a, reconnected, takes it back first; either way one leads.
    await until('one of them leads again', () => a.isLeader() || b.isLeader(), { timeoutMs: 10_000 });
    const [first, second] = a.isLeader() ? [a, b] : [b, a];

    await first.stop();
    await until('the other leads (the stopped one unlocked)', () => second.isLeader(), { timeoutMs: 10_000 });
    const held = await admin.query(`select count(*)::int as n from pg_locks where locktype = 'advisory' and objid::bigint = $1 and granted`, [LEADER_LOCK_KEY]);
    assert.equal(held.rows[0].n, 1);
    await second.stop();
    assert.equal(overlap, false);
  });
});
