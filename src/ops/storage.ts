/**
 * The storage port (soft-serve's store + db handler, in TypeScript): `write(fn)` runs `fn` in one
 * transaction, with the module stores it is handed bound to it; `read(fn)` runs it on one consistent
 * turn. Stores join the transaction of the call chain they run in, so a service that holds store
 * references writes across modules with `write(async () => { await a.x(); await b.y(); })`: the
 * invite's use and the new user, the alert and its outbox message, a command and its audit row.
 * Which engine runs it (SQLite, PostgreSQL) is src/db's business; nothing here knows.
 */

/** What src/db's handle offers, as services see it. */
export interface TransactionRunner {
  run<T>(fn: () => Promise<T>): Promise<T>;
  transaction<T>(fn: () => Promise<T>): Promise<T>;
}

/** All-or-nothing writes, for a service that changes tables of more than one store. */
export interface Transactions {
  write<T>(fn: () => Promise<T>): Promise<T>;
}

export interface Storage<S> extends Transactions {
  readonly stores: S;
  read<T>(fn: (stores: S) => Promise<T>): Promise<T>;
  write<T>(fn: (stores: S) => Promise<T>): Promise<T>;
}

export function storageOver<S>(runner: TransactionRunner, stores: S): Storage<S> {
  return {
    stores,
    read: (fn) => runner.run(() => fn(stores)),
    write: (fn) => runner.transaction(() => fn(stores)),
  };
}
