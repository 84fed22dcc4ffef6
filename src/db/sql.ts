/**
 * What a store runs its queries on: one drizzle database, SQLite's or PostgreSQL's, and the transaction
 * the caller is in. The tables have the same names and columns on both engines (schema.ts, pg-schema.ts),
 * so a store writes its queries once, awaits them (never `.all()`/`.get()`/`.run()`, which PostgreSQL's
 * builders lack), and branches on `dialect` only where the SQL text itself differs.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { BaseSQLiteDatabase } from 'drizzle-orm/sqlite-core';
import type * as schema from './schema.ts';

/** Typed as SQLite's; on PostgreSQL the same builder calls run on the pg-core tables of the same names. */
export type SqlDb = BaseSQLiteDatabase<'sync' | 'async', unknown, typeof schema>;
export type SqlTables = typeof schema;
export type Dialect = 'sqlite' | 'postgres';

export interface SqlHandle {
  readonly dialect: Dialect;
  /** The tables, as the running engine defines them. */
  readonly t: SqlTables;
  /** Runs store code on the caller's transaction if there is one, else on its own (SQLite: one at a time). */
  run<T>(fn: (db: SqlDb) => Promise<T>): Promise<T>;
  /** Runs `fn` in one transaction; called inside another, it joins that one (all or nothing together). */
  transaction<T>(fn: (db: SqlDb) => Promise<T>): Promise<T>;
  /** Whether the caller is inside a transaction (for an assertion, never for behaviour). */
  inTransaction(): boolean;
  /**
   * Runs `fn` once the caller's transaction has committed (never if it rolls back), or now outside
   * one: for what cannot be rolled back, such as deleting a file a row being deleted points at.
   */
  afterCommit(fn: () => void): void;
}

/** The transaction a piece of async code runs in; `open` turns false at commit or rollback. */
export interface AmbientTx {
  db: SqlDb;
  open: boolean;
  /** False for SQLite's turn held by one store call outside any transaction. */
  transaction: boolean;
  /** Run after the commit (SqlHandle.afterCommit). */
  committed: (() => void)[];
}

/** Queues `fn` on the transaction, or runs it now when there is none. */
export function afterCommitOf(tx: AmbientTx | undefined, fn: () => void): void {
  if (tx?.transaction) tx.committed.push(fn);
  else fn();
}

/** Runs what waited for the commit; one failing does not keep the others from running. */
export function runCommitted(tx: AmbientTx): void {
  for (const fn of tx.committed.splice(0)) {
    try {
      fn();
    } catch {
      // Best effort by design: the data is committed; what follows it (a file's removal) is tidying.
    }
  }
}

/** One per engine: which transaction the current async call chain belongs to. */
export function ambientTransactions(): {
  current(): AmbientTx | undefined;
  within<T>(tx: AmbientTx, fn: () => Promise<T>): Promise<T>;
} {
  const als = new AsyncLocalStorage<AmbientTx>();
  return {
    current() {
      const tx = als.getStore();
      // Work started inside a transaction may outlive it (a timer, a listener): it then runs alone.
      return tx?.open ? tx : undefined;
    },
    within(tx, fn) {
      return als.run(tx, fn);
    },
  };
}

/** What drizzle's query builders have on both engines: compile once, then run with placeholder values. */
interface Preparable {
  prepare(name?: string): { execute(values?: Record<string, unknown>): PromiseLike<unknown> };
}
type PreparedResult<B extends Preparable> = ReturnType<ReturnType<B['prepare']>['execute']>;

/**
 * A query a store runs often, built once per database or transaction and then run with the values of
 * its `sql.placeholder`s. drizzle otherwise builds the SQL text anew on every run, which cost more than
 * SQLite answering: about 100 µs against 20 for the key lookup of each SSH login (issue 22). On SQLite
 * every store call gets the one connection, so the query is built once; on PostgreSQL the pool and each
 * transaction get their own (a query prepared on the pool would run outside the caller's transaction),
 * under one statement name, which node-postgres prepares once per connection.
 */
export function preparedQuery<B extends Preparable>(
  name: string,
  build: (db: SqlDb) => B,
): (db: SqlDb, values: Record<string, unknown>) => Promise<Awaited<PreparedResult<B>>> {
  const built = new WeakMap<SqlDb, ReturnType<B['prepare']>>();
  return (db, values) => {
    let query = built.get(db);
    if (!query) built.set(db, (query = build(db).prepare(name) as ReturnType<B['prepare']>));
    return Promise.resolve(query.execute(values)) as Promise<Awaited<PreparedResult<B>>>;
  };
}
