/** Migration 0014: git's HTTP tokens move into the one token store and keep working. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'vitest';
import { migrateDb } from '../src/db/client.ts';
import { tokenHash } from '../src/ops/tokens/store.ts';
import { dbBefore } from './support/migrations.ts';

test('git tokens become app tokens of scope git: same hash, expiry and use kept, a clashing name renamed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'labd-migrate-'));
  try {
    const db = dbBefore(dir, '0014_one_token_store');
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
