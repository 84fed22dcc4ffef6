/**
 * The registry's one path, in process: typed `invoke` and word `execute` share permission check,
 * validation, the command's own `authorize`, confirmation and audit. Secrets never reach an audit
 * row on any path (refused, malformed, ok); a per-resource rule refuses another user's paste.
 */
import { sqliteHandle } from '../src/db/sqlite-engine.ts';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { z } from 'zod';
import type { Actor } from '../src/core/actor.ts';
import { systemClock } from '../src/core/clock.ts';
import { PermissionDenied, UsageError } from '../src/core/errors.ts';
import { createLogger } from '../src/core/logger.ts';
import { DEFAULT_ROLE_PERMISSIONS } from '../src/core/permissions.ts';
import { migrateDb, openDb, type Db } from '../src/db/client.ts';
import { pasteCommands } from '../src/apps/paste/commands.ts';
import { SqlPasteStore } from '../src/apps/paste/sql-store.ts';
import { SqlAuditLog } from '../src/ops/audit/sql-store.ts';
import { SqlIdentityStore } from '../src/ops/identity/sql-store.ts';
import type { IdentityStore } from '../src/ops/identity/store.ts';
import { defineCommand, Registry } from '../src/ops/registry.ts';
import { Backends } from '../src/ops/backends.ts';

const SECRET = 'hunter2-do-not-log';

describe('registry: one path for words and typed calls', () => {
  let dir: string;
  let db: Db;
  let registry: Registry;
  let audit: SqlAuditLog;
  let identities: IdentityStore;
  let pastes: SqlPasteStore;
  let alice: Actor;
  let bob: Actor;
  let admin: Actor;
  let ran = 0;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'labd-registry-'));
    db = openDb(dir);
    migrateDb(db);
    audit = new SqlAuditLog(sqliteHandle(db));
    identities = new SqlIdentityStore(sqliteHandle(db));
    registry = new Registry({ log: createLogger('silent'), clock: systemClock, rolePermissions: DEFAULT_ROLE_PERMISSIONS, audit, backends: new Backends() });
    const a = await identities.createUser('alice', 'member');
    const b = await identities.createUser('bob', 'member');
    const c = await identities.createUser('chief', 'admin');
    alice = { userId: a.id, name: a.name, role: a.role, via: 'ssh' };
    bob = { userId: b.id, name: b.name, role: b.role, via: 'ssh' };
    admin = { userId: c.id, name: c.name, role: c.role, via: 'ssh' };
    registry.register(
      defineCommand({
        path: ['vault', 'put'],
        summary: 'test: stores a secret',
        args: z.object({ name: z.string().regex(/^[a-z]+$/), token: z.string().min(4) }),
        positionals: ['name'],
        permission: 'admin.users',
        mutating: true,
        results: ['message'],
        secrets: ['token'],
        async run(_ctx, args) {
          ran++;
          return { kind: 'message', text: `stored ${args.name}` };
        },
      }),
    );
    pastes = new SqlPasteStore(sqliteHandle(db), dir, systemClock);
    pastes.prepare();
    registry.register(...pasteCommands({ store: pastes, identities, publicUrl: 'http://labd.test', maxSize: 1024, defaultExpirySeconds: null }));
    const temp = pastes.newTempPath();
    writeFileSync(temp, 'alice wrote this');
    await pastes.commit({ userId: a.id, name: 'notes.txt', tempPath: temp, size: 16, binary: false, hidden: false, expiresAt: null });
  });
  after(() => {
    db.$client.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const rows = async () => audit.since(new Date(0), 1000);

  test('a command with secrets: refused, malformed (words and typed) and ok calls all audit it redacted', async () => {
    await assert.rejects(registry.execute({ actor: alice, argv: ['vault', 'put', 'db', '--token', SECRET], confirmed: false }), PermissionDenied);
    await assert.rejects(registry.invoke(alice, ['vault', 'put'], { name: 'db', token: SECRET }), PermissionDenied);
    // Malformed: a bad NAME (validation fails after parsing), words that do not parse at all, typed args missing a key.
    await assert.rejects(registry.execute({ actor: admin, argv: ['vault', 'put', 'BAD', '--token', SECRET], confirmed: false }), UsageError);
    await assert.rejects(registry.execute({ actor: admin, argv: ['vault', 'put', 'db', '--token', SECRET, '--bogus'], confirmed: false }), UsageError);
    await assert.rejects(registry.execute({ actor: admin, argv: ['vault', 'put', 'db', 'extra', `--token=${SECRET}`], confirmed: false }), UsageError);
    await assert.rejects(registry.invoke(admin, ['vault', 'put'], { token: SECRET }), UsageError);
    assert.equal(ran, 0);
    await registry.execute({ actor: admin, argv: ['vault', 'put', 'db', '--token', SECRET], confirmed: false });
    await registry.invoke(admin, ['vault', 'put'], { name: 'cache', token: SECRET });
    assert.equal(ran, 2);

    const vault = (await rows()).filter((r) => r.command === 'vault put');
    assert.deepEqual(vault.map((r) => r.outcome).reverse(), ['permission', 'permission', 'usage', 'usage', 'usage', 'usage', 'ok', 'ok']);
    for (const row of vault) assert.ok(!row.args.includes(SECRET), `secret in audit row ${row.id}: ${row.args}`);
    // What is not secret stays useful: the name of the refused call, the redacted token of the ok one.
    assert.deepEqual(JSON.parse(vault.at(-1)!.args), { name: 'db', token: '[redacted]' });
    assert.deepEqual(JSON.parse(vault[0]!.args), { name: 'cache', token: '[redacted]' });
  });

  test("authorize refuses another user's paste, on words and typed calls, before confirmation; the owner and an admin pass", async () => {
    await assert.rejects(
      registry.invoke(bob, ['paste', 'rm'], { ref: 'alice/notes.txt' }, { confirmed: true }),
      (err: unknown) => err instanceof PermissionDenied && /only admins delete other users' pastes/.test(err.message),
    );
    // Refused before the confirmation question: no "add --yes" for something bob may not do at all.
    await assert.rejects(registry.execute({ actor: bob, argv: ['paste', 'rm', 'alice/notes.txt'], confirmed: false }), PermissionDenied);
    await assert.rejects(registry.invoke(bob, ['paste', 'ls'], { user: 'alice' }), PermissionDenied);
    assert.ok(await pastes.find('alice', 'notes.txt'), 'the paste is still there');
    const refused = (await rows()).filter((r) => r.command === 'paste rm');
    assert.deepEqual(
      refused.map((r) => [r.actor, r.outcome]),
      [
        ['bob', 'permission'],
        ['bob', 'permission'],
      ],
    );

    const listed = await registry.invoke(admin, ['paste', 'ls'], { user: 'alice' });
    assert.equal(listed.kind === 'table' && listed.rows.length, 1);
    await assert.rejects(registry.invoke(alice, ['paste', 'rm'], { ref: 'notes.txt' }), /destructive/);
    await registry.invoke(alice, ['paste', 'rm'], { ref: 'notes.txt' }, { confirmed: true });
    assert.equal(await pastes.find('alice', 'notes.txt'), undefined);
  });
});
