/** Migration 0014: git's HTTP tokens move into the one token store and keep working. */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { test } from 'vitest';
import { MIGRATIONS_DIR, migrateDb, openDb } from '../src/db/client.ts';
import { tokenHash } from '../src/ops/tokens/store.ts';

test('git tokens become app tokens of scope git: same hash, expiry and use kept, a clashing name renamed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'labd-migrate-'));
  try {
    // The migrations as they were before 0014.
    const before = join(dir, 'migrations');
    cpSync(MIGRATIONS_DIR, before, { recursive: true });
    const journalFile = join(before, 'meta', '_journal.json');
    const journal = JSON.parse(readFileSync(journalFile, 'utf8')) as { entries: { idx: number; tag: string }[] };
    const at = journal.entries.findIndex((e) => e.tag === '0014_one_token_store');
    assert.ok(at > 0, 'migration 0014 exists');
    journal.entries = journal.entries.slice(0, at);
    writeFileSync(journalFile, JSON.stringify(journal));

    const db = openDb(join(dir, 'data'));
    migrate(db, { migrationsFolder: before });
    const sql = db.$client;
    sql.prepare("insert into users (name, role) values ('bob', 'member')").run();
    const bob = (sql.prepare("select id from users where name = 'bob'").get() as { id: number }).id;
    const expires = Date.now() + 86_400_000;
    sql
      .prepare('insert into git_tokens (user_id, name, hash, created_at, expires_at, last_used_at) values (?, ?, ?, ?, ?, ?)')
      .run(bob, 'laptop', tokenHash('labd_git_old1'), 1000, expires, 2000);
    sql.prepare('insert into git_tokens (user_id, name, hash, created_at) values (?, ?, ?, ?)').run(bob, 'phone', tokenHash('labd_git_old2'), 1000);
    sql.prepare("insert into app_tokens (user_id, name, scope, hash, created_at) values (?, 'phone', 'carddav', ?, 1000)").run(bob, tokenHash('labd_dav'));

    migrateDb(db);
    const rows = sql.prepare('select name, scope, hash, expires_at as expiresAt, last_used_at as lastUsedAt from app_tokens order by name').all();
    db.$client.close();
    assert.deepEqual(rows, [
      { name: 'laptop', scope: 'git', hash: tokenHash('labd_git_old1'), expiresAt: expires, lastUsedAt: 2000 },
      { name: 'phone', scope: 'carddav', hash: tokenHash('labd_dav'), expiresAt: null, lastUsedAt: null },
      { name: 'phone-git', scope: 'git', hash: tokenHash('labd_git_old2'), expiresAt: null, lastUsedAt: null },
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
