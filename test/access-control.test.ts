/**
 * AccessControl over the async access store: permission checks answer from a snapshot of the stored
 * roles and grants, so a change made through it counts from the very next check, and a store write
 * that fails (here the real SQLite store, refused by a trigger) leaves the snapshot, and so every
 * permission, as it was. Before its first load it answers nothing rather than the bare seed.
 */
import { sqliteHandle } from '../src/db/sqlite-engine.ts';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'vitest';
import { z } from 'zod';
import type { Actor } from '../src/core/actor.ts';
import { systemClock } from '../src/core/clock.ts';
import { PermissionDenied } from '../src/core/errors.ts';
import { createLogger } from '../src/core/logger.ts';
import { DEFAULT_ROLE_PERMISSIONS } from '../src/core/permissions.ts';
import { migrateDb, openDb, type Db } from '../src/db/client.ts';
import { accessCommands } from '../src/ops/access/commands.ts';
import { AccessControl, type AccessSeed } from '../src/ops/access/control.ts';
import { Delegation } from '../src/ops/access/delegation.ts';
import { SqlAccessStore } from '../src/ops/access/sql-store.ts';
import { SqlAuditLog } from '../src/ops/audit/sql-store.ts';
import { Backends } from '../src/ops/backends.ts';
import { SqlIdentityStore } from '../src/ops/identity/sql-store.ts';
import { defineCommand, Registry } from '../src/ops/registry.ts';

const SEED: AccessSeed = { defaults: {}, roles: {} };
const DECLARED = [
  { name: 'admin.users', summary: 'manage users', roles: ['admin' as const] },
  { name: 'lab.use', summary: 'use the lab', roles: ['operator' as const] },
];

describe('access control: a snapshot of the async store', () => {
  let dir: string;
  let db: Db;
  let store: SqlAccessStore;
  let control: AccessControl;
  let audit: SqlAuditLog;
  let registry: Registry;
  let admin: Actor;
  let mia: Actor;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'labd-access-control-'));
    db = openDb(dir);
    migrateDb(db);
    store = new SqlAccessStore(sqliteHandle(db));
    control = new AccessControl(store, SEED);
    control.declare('test', DECLARED);
    await control.load();
    audit = new SqlAuditLog(sqliteHandle(db));
    const identities = new SqlIdentityStore(sqliteHandle(db));
    registry = new Registry({
      log: createLogger('silent'),
      clock: systemClock,
      rolePermissions: DEFAULT_ROLE_PERMISSIONS,
      permissions: control,
      audit,
      backends: new Backends(),
    });
    registry.register(
      ...accessCommands({ control, identities, store, delegation: new Delegation({ control, identities, initialAdminName: 'admin', groupRoles: new Map() }) }),
      defineCommand({
        path: ['lab', 'use'],
        summary: 'test: needs lab.use',
        args: z.object({}),
        permission: 'lab.use',
        mutating: false,
        results: ['message'],
        async run() {
          return { kind: 'message', text: 'used' };
        },
      }),
    );
    const root = await identities.createUser('chief', 'admin');
    const m = await identities.createUser('mia', 'member');
    admin = { userId: root.id, name: root.name, role: root.role, via: 'ssh' };
    mia = { userId: m.id, name: m.name, role: m.role, via: 'ssh' };
  });
  afterEach(() => {
    db.$client.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const miaMayUse = async () => {
    try {
      await registry.invoke(mia, ['lab', 'use'], {});
      return true;
    } catch (err) {
      if (err instanceof PermissionDenied) return false;
      throw err;
    }
  };
  const lastAudit = async (command: string) => (await audit.since(new Date(0), 100)).find((r) => r.command === command);
  /** What a labd starting now would load from the store. */
  const reloaded = async () => {
    const fresh = new AccessControl(store, SEED);
    fresh.declare('test', DECLARED);
    await fresh.load();
    return fresh;
  };
  const tableText = (c: AccessControl) => JSON.stringify([...c.table()].map(([role, perms]) => [role, [...perms].sort()]));

  test('before its first load it answers no permission question (the seed alone would undo revocations)', () => {
    const fresh = new AccessControl(store, SEED);
    fresh.declare('test', DECLARED);
    assert.throws(() => fresh.can({ userId: null, role: 'operator' }, 'lab.use'), /not loaded/);
    assert.throws(() => fresh.roleExists('tester'), /not loaded/);
  });

  test('a role grant, a user denial and their undoing each count from the very next command', async () => {
    assert.equal(await miaMayUse(), false);
    const granted = await registry.invoke(admin, ['role', 'grant'], { role: 'member', permission: 'lab.use' });
    assert.equal(granted.kind === 'message' && granted.text, 'member now holds lab.use');
    assert.equal(await miaMayUse(), true);
    assert.equal((await lastAudit('role grant'))?.outcome, 'ok');

    await registry.invoke(admin, ['user', 'deny'], { name: 'mia', permission: 'lab.use' });
    assert.equal(await miaMayUse(), false);
    assert.equal((await lastAudit('user deny'))?.outcome, 'ok');
    await registry.invoke(admin, ['user', 'clear'], { name: 'mia', permission: 'lab.use' });
    assert.equal(await miaMayUse(), true);

    await registry.invoke(admin, ['role', 'revoke'], { role: 'member', permission: 'lab.use' });
    assert.equal(await miaMayUse(), false);
    // What the snapshot said is what the store holds: a labd starting now agrees.
    assert.equal(tableText(await reloaded()), tableText(control));
  });

  test('a role grant the store refuses changes no permission', async () => {
    const before = tableText(control);
    db.$client.exec("create trigger refuse_role_grants before insert on role_grants begin select raise(abort, 'store refuses'); end");
    await assert.rejects(registry.invoke(admin, ['role', 'grant'], { role: 'member', permission: 'lab.use' }), /store refuses/);
    assert.equal(await miaMayUse(), false);
    assert.equal(tableText(control), before);
    assert.equal((await lastAudit('role grant'))?.outcome, 'failed');
    // Once the store takes it, it counts at once.
    db.$client.exec('drop trigger refuse_role_grants');
    await registry.invoke(admin, ['role', 'grant'], { role: 'member', permission: 'lab.use' });
    assert.equal(await miaMayUse(), true);
  });

  test("a user grant the store refuses changes neither the user's grants nor their permissions", async () => {
    db.$client.exec("create trigger refuse_user_grants before insert on user_grants begin select raise(abort, 'store refuses'); end");
    await assert.rejects(registry.invoke(admin, ['user', 'grant'], { name: 'mia', permission: 'lab.use' }), /store refuses/);
    assert.equal(await miaMayUse(), false);
    assert.deepEqual(control.userGrants(mia.userId!), []);
    assert.equal((await lastAudit('user grant'))?.outcome, 'failed');
  });

  test('removing a role fails as a whole when the store cannot drop its grants: the role and its permissions stay', async () => {
    await registry.invoke(admin, ['role', 'create'], { role: 'tester', description: [] });
    await registry.invoke(admin, ['role', 'grant'], { role: 'tester', permission: 'lab.use' });
    assert.equal(control.can({ userId: null, role: 'tester' }, 'lab.use'), true);
    const before = tableText(control);
    db.$client.exec("create trigger refuse_role_grant_rm before delete on role_grants begin select raise(abort, 'store refuses'); end");
    await assert.rejects(registry.invoke(admin, ['role', 'rm'], { role: 'tester' }, { confirmed: true }), /store refuses/);
    assert.equal(control.roleExists('tester'), true);
    assert.equal(control.can({ userId: null, role: 'tester' }, 'lab.use'), true);
    assert.equal(tableText(control), before);
    // The store undid the half it had done (the custom role row) too.
    assert.equal(tableText(await reloaded()), before);
    db.$client.exec('drop trigger refuse_role_grant_rm');
    await registry.invoke(admin, ['role', 'rm'], { role: 'tester' }, { confirmed: true });
    assert.equal(control.roleExists('tester'), false);
  });
});
