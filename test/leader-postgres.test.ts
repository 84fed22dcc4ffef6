/**
 * The advisory-lock election (src/ops/leader/pg-advisory.ts) on Debian's postgresql-15, through
 * node-postgres pools as the storage engine will hand them over: one of two replicas holds the lock
 * and leads; a session killed by the server (pg_terminate_backend) stops that leader at once and the
 * other takes the lock; a graceful stop unlocks for an immediate takeover.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { createLogger } from '../src/core/logger.ts';
import { AdvisoryLockLeadership, LEADER_LOCK_KEY, pgAdvisorySession, type PgPoolLike } from '../src/ops/leader/pg-advisory.ts';
import { freePort } from './support/labd.ts';
import { until } from './support/wait.ts';

const BIN = '/usr/lib/postgresql/15/bin';
const log = createLogger('silent');

/** A throw-away cluster: initdb and pg_ctl as the postgres user when run as root (initdb refuses root). */
async function startPostgres(): Promise<{ url: string; stop(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'labd-pg-leader-'));
  const asRoot = userInfo().uid === 0;
  if (asRoot) chownSync(dir, Number(spawnSync('id', ['-u', 'postgres']).stdout.toString().trim()), 0);
  const run = (cmd: string, args: string[]) => {
    const r = asRoot ? spawnSync('runuser', ['-u', 'postgres', '--', join(BIN, cmd), ...args]) : spawnSync(join(BIN, cmd), args);
    if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr.toString()}${r.stdout.toString()}`);
  };
  const port = await freePort();
  run('initdb', ['-D', join(dir, 'data'), '-A', 'trust', '-U', 'labd', '--no-sync']);
  run('pg_ctl', ['-D', join(dir, 'data'), '-o', `-p ${port} -k ${dir} -h 127.0.0.1 -c fsync=off`, '-l', join(dir, 'log'), '-w', 'start']);
  return {
    url: `postgres://labd@127.0.0.1:${port}/postgres`,
    stop() {
      try {
        run('pg_ctl', ['-D', join(dir, 'data'), '-m', 'immediate', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

describe.skipIf(!existsSync(join(BIN, 'initdb')))('leader election on a PostgreSQL advisory lock (postgresql-15)', () => {
  let server: { url: string; stop(): void };
  const pools: pg.Pool[] = [];
  const timings = { renewDeadlineMs: 1500, retryPeriodMs: 200 };

  before(async () => {
    server = await startPostgres();
  });
  after(async () => {
    for (const p of pools) await p.end().catch(() => {});
    server?.stop();
  });

  function pool(): pg.Pool {
    const p = new pg.Pool({ connectionString: server.url, max: 2 });
    p.on('error', () => {}); // an idle client killed with the server: nothing to do
    pools.push(p);
    return p;
  }

  function replica(id: string) {
    return new AdvisoryLockLeadership({ session: pgAdvisorySession(pool() as unknown as PgPoolLike), identity: id, log, ...timings });
  }

  test('one of two leads; the server killing its session stops it and the other leads; stop unlocks for the next', async () => {
    const a = replica('a');
    const b = replica('b');
    let overlap = false;
    for (const l of [a, b]) l.onChange(() => (overlap ||= a.isLeader() && b.isLeader()));
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
    await until('a stops leading', () => !a.isLeader(), { timeoutMs: 10_000 });
    await until('b leads', () => b.isLeader(), { timeoutMs: 10_000 });

    await b.stop();
    await until('a leads again (b unlocked)', () => a.isLeader(), { timeoutMs: 10_000 });
    const held = await admin.query(`select count(*)::int as n from pg_locks where locktype = 'advisory' and objid::bigint = $1 and granted`, [LEADER_LOCK_KEY]);
    assert.equal(held.rows[0].n, 1);
    await a.stop();
    assert.equal(overlap, false);
  });
});
