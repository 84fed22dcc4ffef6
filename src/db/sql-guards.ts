/**
 * What stores need where the engines behave differently beyond the SQL text: a write lock that lasts
 * until the transaction ends (check-then-insert under PostgreSQL's READ COMMITTED), unique-constraint
 * errors recognised on both drivers, and text ordered byte by byte as SQLite's BINARY collation does.
 */
import { sql, type SQL } from 'drizzle-orm';
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core';
import type { SqlDb, SqlHandle } from './sql.ts';

/** The first key of labd's two-key advisory locks ('labd'); the one-key space holds the migration lock. */
const LOCK_SPACE = 0x6c616264;

interface PgExecutor {
  execute(query: SQL): Promise<unknown>;
}

/**
 * Serializes the transactions that take the same `key` until each commits or rolls back, so a check
 * and the write it guards cannot interleave with another writer's. Call it inside `h.transaction`.
 * SQLite needs nothing: its transactions are BEGIN IMMEDIATE, one writer at a time already.
 */
export async function lockUntilCommit(h: SqlHandle, db: SqlDb, key: string): Promise<void> {
  if (h.dialect !== 'postgres') return;
  await (db as unknown as PgExecutor).execute(sql`select pg_advisory_xact_lock(${sql.raw(String(LOCK_SPACE))}, hashtext(${key}))`);
}

/** Whether a query failed on a unique (or primary key) constraint; drizzle wraps the driver's error. */
export function isUniqueViolation(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** A text column to order by, byte by byte on both engines (PostgreSQL's default collation may follow a locale). */
export function textOrder(h: SqlHandle, column: SQLiteColumn): SQLiteColumn | SQL {
  return h.dialect === 'postgres' ? sql`${column} collate "C"` : column;
}
