/**
 * SQLite behind the store handle: one better-sqlite3 connection, so one transaction at a time. A
 * transaction spans awaits (a command and its audit row), and anything else run on the connection
 * meanwhile would land inside it; so every store call outside a transaction waits its turn too.
 */
import { sql } from 'drizzle-orm';
import { afterCommitOf, ambientTransactions, runCommitted, type SqlDb, type SqlHandle, type SqlTables } from './sql.ts';
import * as schema from './schema.ts';
import type { Db } from './client.ts';

/** A FIFO lock over promises: `hold(fn)` runs fn when every earlier holder has finished. */
class Turn {
  private tail: Promise<unknown> = Promise.resolve();
  hold<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }
}

// One handle per connection: two turns over one connection would let transactions interleave.
const handles = new WeakMap<Db, SqlHandle>();

export function sqliteHandle(db: Db): SqlHandle {
  let handle = handles.get(db);
  if (!handle) handles.set(db, (handle = newHandle(db)));
  return handle;
}

function newHandle(db: Db): SqlHandle {
  const root = db as unknown as SqlDb;
  const ambient = ambientTransactions();
  const turn = new Turn();
  // Inside a turn already held (a store call calling another store): BEGIN here, without queueing.
  const begin = async <T>(fn: (db: SqlDb) => Promise<T>): Promise<T> => {
    const tx = { db: root, open: true, transaction: true, committed: [] as (() => void)[] };
    db.run(sql`begin immediate`);
    try {
      const value = await ambient.within(tx, () => fn(root));
      tx.open = false;
      db.run(sql`commit`);
      runCommitted(tx);
      return value;
    } catch (err) {
      tx.open = false;
      if (db.$client.inTransaction) db.run(sql`rollback`);
      throw err;
    }
  };
  return {
    dialect: 'sqlite',
    t: schema as SqlTables,
    run(fn) {
      const held = ambient.current();
      if (held) return fn(held.db);
      return turn.hold(async () => {
        const turnHeld = { db: root, open: true, transaction: false, committed: [] as (() => void)[] };
        try {
          return await ambient.within(turnHeld, () => fn(root));
        } finally {
          turnHeld.open = false;
        }
      });
    },
    transaction(fn) {
      const held = ambient.current();
      if (held?.transaction) return fn(held.db);
      if (held) return begin(fn);
      return turn.hold(() => begin(fn));
    },
    inTransaction: () => ambient.current()?.transaction === true,
    afterCommit: (fn) => afterCommitOf(ambient.current(), fn),
  };
}
