/**
 * The database labd opens: SQLite in the data dir by default, PostgreSQL when database.url is set.
 * Both are migrated before anything reads them (PostgreSQL under an advisory lock).
 */
import { migrateDb, openDb } from './client.ts';
import { redactDatabaseUrl } from './database-url.ts';
import type { Dialect, SqlHandle } from './sql.ts';
import { sqliteHandle } from './sqlite-engine.ts';

export interface DatabaseEngine {
  dialect: Dialect;
  handle: SqlHandle;
  /** Where the data is, for logs and /readyz: a path, or the URL without its password. */
  where: string;
  ping(): Promise<boolean>;
  close(): Promise<void>;
  /** PostgreSQL's connection pool, for a session of its own (the leader's advisory lock). */
  pool?: import('pg').Pool;
}

export async function openDatabase(opts: { dataDir: string; url?: string; poolSize?: number }): Promise<DatabaseEngine> {
  if (opts.url) {
    // The driver (pg, drizzle's node-postgres) loads only for a PostgreSQL lab (labd at rest, issue 22).
    const { openPostgres } = await import('./postgres-engine.ts');
    const pg = await openPostgres(opts.url, { poolSize: opts.poolSize });
    return { dialect: 'postgres', handle: pg.handle, pool: pg.pool, where: redactDatabaseUrl(opts.url), ping: pg.ping, close: pg.close };
  }
  const db = openDb(opts.dataDir);
  try {
    migrateDb(db);
  } catch (err) {
    db.$client.close();
    throw err;
  }
  return {
    dialect: 'sqlite',
    handle: sqliteHandle(db),
    where: `${opts.dataDir}/labd.db`,
    async ping() {
      return db.$client.prepare('select 1 as ok').get() !== undefined;
    },
    async close() {
      db.$client.close();
    },
  };
}
