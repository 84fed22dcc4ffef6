import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { sortKey } from '../core/sort-key.ts';
import * as schema from './schema.ts';
import { Database } from './sqlite-driver.ts';

export type Db = BetterSQLite3Database<typeof schema> & { $client: Database };

export const MIGRATIONS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../migrations/sqlite');

/**
 * Opens (creating if needed) the SQLite database in the data dir, in WAL mode. The database holds hidden
 * paste names and join-token secrets: the data dir is 0700 and the database and its WAL and shared-memory
 * files 0600, also when an earlier labd (or mkdir's umask) left them open to others.
 */
export function openDb(dataDir: string): Db {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  chmodSync(dataDir, 0o700);
  const file = join(dataDir, 'labd.db');
  // SQLite gives the -wal and -shm files the database file's mode, so the file is made 0600 before SQLite opens it.
  closeSync(openSync(file, 'a', 0o600));
  for (const f of [file, `${file}-wal`, `${file}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
  const sqlite = withStatementCache(new Database(file));
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  // Stored sort keys are made by this function (migration 0020 backfills with it).
  sqlite.function('sort_key', { deterministic: true }, (text: unknown) => (typeof text === 'string' ? sortKey(text) : text));
  return drizzle(sqlite, { schema }) as Db;
}

/** Compiled statements kept per connection, by SQL text (the queries labd runs are a few hundred shapes). */
const STATEMENT_CACHE_SIZE = 500;

/**
 * drizzle asks better-sqlite3 to compile every query it runs, each time: most of a CRM import's time
 * went to compiling the same few statements again. A statement is reusable once it has run (labd never
 * iterates one lazily), so the connection keeps the last STATEMENT_CACHE_SIZE, and hands each one back
 * in its default (non-raw) mode: drizzle turns raw mode on itself where it wants arrays.
 */
function withStatementCache(sqlite: Database): Database {
  const compile = sqlite.prepare.bind(sqlite);
  const cache = new Map<string, ReturnType<typeof compile>>();
  sqlite.prepare = ((source: string) => {
    let stmt = cache.get(source);
    if (stmt && !stmt.busy) {
      // Most recently used last, so the first key is the one to drop.
      cache.delete(source);
      cache.set(source, stmt);
      return stmt.reader ? stmt.raw(false) : stmt;
    }
    stmt = compile(source);
    cache.set(source, stmt);
    if (cache.size > STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
    return stmt;
  }) as typeof sqlite.prepare;
  return sqlite;
}

export function migrateDb(db: Db): void {
  migrate(db, { migrationsFolder: MIGRATIONS_DIR });
}

export { schema };
