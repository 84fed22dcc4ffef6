/**
 * PostgreSQL behind the store handle (LABD_DATABASE_URL), through node-postgres (`pg`): the driver
 * drizzle documents first, with a pool, TLS options in the URL (`sslmode=…`) and no native parts.
 * Transactions are the database's own; several replicas share it.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PgDatabase } from 'drizzle-orm/pg-core';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import * as pgSchema from './pg-schema.ts';
import { redactDatabaseUrl } from './database-url.ts';
import { afterCommitOf, ambientTransactions, runCommitted, type SqlDb, type SqlHandle, type SqlTables } from './sql.ts';

export const PG_MIGRATIONS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../migrations/postgres');

/** The advisory lock replicas take around migrating, so that several starting at once migrate once. */
export const MIGRATION_LOCK_KEY = 0x6c616264; // 'labd'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyPgDb = PgDatabase<any, typeof pgSchema>;

/** The store handle over any drizzle PostgreSQL database (node-postgres in labd, PGlite in tests). */
export function postgresHandle(db: AnyPgDb): SqlHandle {
  const ambient = ambientTransactions();
  const root = db as unknown as SqlDb;
  return {
    dialect: 'postgres',
    t: pgSchema as unknown as SqlTables,
    run(fn) {
      return fn(ambient.current()?.db ?? root);
    },
    async transaction(fn) {
      const outer = ambient.current();
      if (outer) return fn(outer.db);
      const committed: (() => void)[] = [];
      const value = await db.transaction(async (pgTx) => {
        const tx = { db: pgTx as unknown as SqlDb, open: true, transaction: true, committed };
        try {
          return await ambient.within(tx, () => fn(tx.db));
        } finally {
          tx.open = false;
        }
      });
      runCommitted({ db: root, open: false, transaction: true, committed });
      return value;
    },
    inTransaction: () => ambient.current() !== undefined,
    afterCommit: (fn) => afterCommitOf(ambient.current(), fn),
  };
}

export interface PostgresEngine {
  handle: SqlHandle;
  /** The pool, for what needs a session of its own (the leader's advisory lock). */
  pool: pg.Pool;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * Connects, then migrates under an advisory lock held on one dedicated connection: the first replica
 * migrates, the others wait and find nothing left to do.
 */
export async function openPostgres(url: string, opts: { poolSize?: number } = {}): Promise<PostgresEngine> {
  const pool = new pg.Pool({ connectionString: url, max: opts.poolSize ?? 10, connectionTimeoutMillis: 10_000 });
  // An idle client that loses its server emits 'error' on the pool; the next query reconnects.
  pool.on('error', () => undefined);
  const db = drizzle(pool, { schema: pgSchema });
  try {
    await migrateLocked(pool, (client) => migrate(drizzle(client, { schema: pgSchema }), { migrationsFolder: PG_MIGRATIONS_DIR }));
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw new Error(`database ${redactDatabaseUrl(url)}: ${(err as Error).message}`);
  }
  return {
    handle: postgresHandle(db),
    pool,
    async ping() {
      const r = await pool.query('select 1 as ok');
      return r.rows.length === 1;
    },
    close: () => pool.end(),
  };
}

/**
 * Runs `migrateNow` holding the migration advisory lock. It gets the connection that holds the lock
 * and must migrate on it: the migration then needs no second connection (a pool of one works).
 */
export async function migrateLocked(pool: pg.Pool, migrateNow: (client: pg.PoolClient) => Promise<void>): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      await migrateNow(client);
    } finally {
      await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    client.release();
  }
}
