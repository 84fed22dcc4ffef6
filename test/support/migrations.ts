/** A database as it was before a migration: for tests that check what the migration does to old rows. */
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { MIGRATIONS_DIR, openDb, type Db } from '../../src/db/client.ts';

/** Opens a database in `dir`/data with every migration applied up to (not including) the one tagged `tag`. */
export function dbBefore(dir: string, tag: string): Db {
  const before = join(dir, 'migrations');
  cpSync(MIGRATIONS_DIR, before, { recursive: true });
  const journalFile = join(before, 'meta', '_journal.json');
  const journal = JSON.parse(readFileSync(journalFile, 'utf8')) as { entries: { tag: string }[] };
  const at = journal.entries.findIndex((e) => e.tag === tag);
  assert.ok(at > 0, `migration ${tag} exists`);
  journal.entries = journal.entries.slice(0, at);
  writeFileSync(journalFile, JSON.stringify(journal));
  const db = openDb(join(dir, 'data'));
  migrate(db, { migrationsFolder: before });
  return db;
}
