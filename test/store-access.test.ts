/**
 * The access store's port (custom roles, role and user grants, invites and their uses) and the wrong
 * invite code log, on both engines; and `join`, which uses an invite (access store) and creates the
 * account with its key (identity store) in one `Transactions.write`: a failure after the invite's use
 * (the name taken meanwhile, the key taken meanwhile) leaves the invite unused, on both engines.
 */
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, test } from 'vitest';
import type { Actor } from '../src/core/actor.ts';
import { Conflict } from '../src/core/errors.ts';
import { createLogger } from '../src/core/logger.ts';
import { DEFAULT_ROLE_PERMISSIONS } from '../src/core/permissions.ts';
import { fingerprint, formatPublicKey, parsePublicKeyLine } from '../src/core/sshwire/keys.ts';
import { AccessControl } from '../src/ops/access/control.ts';
import { Delegation } from '../src/ops/access/delegation.ts';
import { hashCode, inviteCommands } from '../src/ops/access/invites.ts';
import { SqlAccessStore } from '../src/ops/access/sql-store.ts';
import { SqlWrongCodes } from '../src/ops/access/sql-wrong-codes.ts';
import { SqlAuditLog } from '../src/ops/audit/sql-store.ts';
import { Backends } from '../src/ops/backends.ts';
import { SqlIdentityStore } from '../src/ops/identity/sql-store.ts';
import type { IdentityStore } from '../src/ops/identity/store.ts';
import { Registry } from '../src/ops/registry.ts';
import { ed25519Blob } from './support/auth-context.ts';
import { ENGINES, openTestEngine, type TestEngine } from './support/engines.ts';

const t0 = new Date('2026-03-01T10:00:00.123Z');
const at = (s: number) => new Date(t0.getTime() + s * 1000);

describe.each(ENGINES)('access store on %s', (engineName) => {
  let engine: TestEngine;
  let store: SqlAccessStore;
  let identities: SqlIdentityStore;
  let wrongCodes: SqlWrongCodes;
  beforeAll(async () => {
    engine = await openTestEngine(engineName);
    store = new SqlAccessStore(engine.handle);
    identities = new SqlIdentityStore(engine.handle);
    wrongCodes = new SqlWrongCodes(engine.handle);
  });
  afterAll(() => engine.close());

  const newInvite = (codeHash: string, o: { maxUses?: number; expiresAt?: Date | null; role?: string; createdBy?: number | null } = {}) =>
    store.createInvite({
      codeHash,
      role: o.role ?? 'member',
      maxUses: o.maxUses ?? 1,
      expiresAt: o.expiresAt ?? null,
      createdBy: o.createdBy ?? null,
      note: 'for x',
    });

  test('custom roles, role changes and user grants: set, replaced, cleared, read back at one moment', async () => {
    const uma = await identities.createUser('uma', 'member');
    const ned = await identities.createUser('ned', 'member');
    await store.addCustomRole('tester', 'runs the tests');
    await store.addCustomRole('auditor', '');
    await store.setRoleChange('tester', 'lab.use', 'grant');
    await store.setRoleChange('member', 'lab.use', 'grant');
    await store.setRoleChange('member', 'lab.use', 'revoke');
    await store.setRoleChange('member', 'paste.create', 'grant');
    await store.setRoleChange('member', 'paste.create', null);
    assert.equal(await store.setUserGrant(uma.id, 'lab.use', 'allow'), true);
    assert.equal(await store.setUserGrant(uma.id, 'lab.use', 'deny'), true);
    assert.equal(await store.setUserGrant(ned.id, 'crm', 'allow'), true);
    assert.equal(await store.setUserGrant(ned.id, 'crm', null), true);
    assert.equal(await store.setUserGrant(ned.id, 'crm', null), false, 'nothing left to clear');
    const rules = await store.rules();
    assert.deepEqual(
      rules.customRoles.map((r) => [r.name, r.description, r.createdAt instanceof Date]),
      [
        ['auditor', '', true],
        ['tester', 'runs the tests', true],
      ],
    );
    assert.deepEqual(rules.roleChanges, [
      { role: 'member', permission: 'lab.use', effect: 'revoke' },
      { role: 'tester', permission: 'lab.use', effect: 'grant' },
    ]);
    assert.deepEqual(rules.userGrants, [{ userId: uma.id, permission: 'lab.use', effect: 'deny' }]);
    await store.removeCustomRole('tester');
    const after = await store.rules();
    assert.deepEqual(
      after.customRoles.map((r) => r.name),
      ['auditor'],
    );
    assert.deepEqual(after.roleChanges, [{ role: 'member', permission: 'lab.use', effect: 'revoke' }], "the removed role's changes went with it");
    // A user's grants go with the user.
    await identities.removeUser('uma');
    assert.deepEqual((await store.rules()).userGrants, []);
  });

  test('invites: created, found by id and hash, listed, usable until used up or expired, removed', async () => {
    const vic = await identities.createUser('vic', 'admin');
    const one = await newInvite('hash-one', { createdBy: vic.id, expiresAt: at(3600) });
    assert.deepEqual(
      [one.codeHash, one.role, one.usesLeft, one.maxUses, one.expiresAt?.getTime(), one.createdBy, one.note, one.lastUsedAt],
      ['hash-one', 'member', 1, 1, at(3600).getTime(), vic.id, 'for x', null],
    );
    assert.ok(one.createdAt instanceof Date);
    const two = await newInvite('hash-two', { maxUses: 2, role: 'operator' });
    assert.deepEqual(await store.inviteById(one.id), one);
    assert.deepEqual(await store.inviteByHash('hash-two'), two);
    assert.equal(await store.inviteByHash('nope'), undefined);
    assert.equal(await store.inviteById(999_999), undefined);
    assert.deepEqual(
      (await store.invites()).map((i) => i.id),
      [one.id, two.id],
    );
    await assert.rejects(newInvite('hash-one'), 'a code hash is unique');

    assert.equal(await store.hasUsableInvite(at(0)), true);
    assert.equal(await store.removeInvite(two.id), true);
    assert.equal(await store.removeInvite(two.id), false);
    assert.equal(await store.hasUsableInvite(at(3599)), true);
    assert.equal(await store.hasUsableInvite(at(3600)), false, 'expired at its expiry');

    await store.useInvite(one.id, at(10));
    const used = await store.inviteById(one.id);
    assert.deepEqual([used?.usesLeft, used?.lastUsedAt?.getTime()], [0, at(10).getTime()]);
    assert.equal(await store.hasUsableInvite(at(0)), false, 'used up');
    await assert.rejects(store.useInvite(one.id, at(11)), Conflict);
    await assert.rejects(store.useInvite(two.id, at(11)), Conflict, 'a removed invite has no use left');
    assert.equal((await store.inviteById(one.id))?.usesLeft, 0);
    // Removing the invite removes its uses; the account stays.
    await store.recordInviteUse({ inviteId: one.id, userId: vic.id, userName: 'vic', fingerprint: '', at: at(10) });
    assert.equal((await store.inviteUses()).filter((u) => u.inviteId === one.id).length, 1);
    assert.equal(await store.removeInvite(one.id), true);
    assert.equal((await store.inviteUses()).filter((u) => u.inviteId === one.id).length, 0);
  });

  test('invite uses: oldest first; the name and key stay when the account is removed', async () => {
    const inv = await newInvite('hash-uses', { maxUses: 3 });
    const wes = await identities.createUser('wes', 'member');
    const wyn = await identities.createUser('wyn', 'member');
    await store.recordInviteUse({ inviteId: inv.id, userId: wyn.id, userName: 'wyn', fingerprint: 'SHA256:wyn', at: at(20) });
    await store.recordInviteUse({ inviteId: inv.id, userId: wes.id, userName: 'wes', fingerprint: '', at: at(5) });
    await identities.removeUser('wyn');
    const uses = (await store.inviteUses()).filter((u) => u.inviteId === inv.id);
    assert.deepEqual(
      uses.map((u) => [u.userId, u.userName, u.fingerprint, u.at.getTime()]),
      [
        [wes.id, 'wes', '', at(5).getTime()],
        [null, 'wyn', 'SHA256:wyn', at(20).getTime()],
      ],
    );
  });

  test('wrong codes: counted per counter since a time, old ones forgotten', async () => {
    assert.deepEqual(await wrongCodes.counts([], at(0)), new Map());
    await wrongCodes.note(['key:A', 'addr:1'], at(0), at(-100));
    await wrongCodes.note(['key:A', 'addr:1'], at(10), at(-100));
    await wrongCodes.note(['key:B', 'addr:1'], at(20), at(-100));
    assert.deepEqual(
      await wrongCodes.counts(['key:A', 'key:B', 'addr:1', 'key:C'], at(0)),
      new Map([
        ['key:A', 2],
        ['key:B', 1],
        ['addr:1', 3],
      ]),
    );
    assert.deepEqual(
      await wrongCodes.counts(['key:A', 'addr:1'], at(10)),
      new Map([
        ['key:A', 1],
        ['addr:1', 2],
      ]),
    );
    // Noting with forgetBefore past the first two rows' time prunes them.
    await wrongCodes.note([], at(30), at(15));
    assert.deepEqual(
      await wrongCodes.counts(['key:A', 'key:B', 'addr:1'], at(-100)),
      new Map([
        ['key:B', 1],
        ['addr:1', 1],
      ]),
    );
  });

  describe('join: the invite use and the account in one write', () => {
    const newcomer = (name: string): { actor: Actor; fingerprint: string } => {
      const blob = ed25519Blob();
      const publicKey = formatPublicKey(parsePublicKeyLine(`ssh-ed25519 ${blob.toString('base64')}`).key);
      const fp = fingerprint(blob);
      return {
        actor: { userId: null, name: 'newcomer', role: 'guest', via: 'ssh', credential: { kind: 'newcomer', fingerprint: fp, publicKey, loginName: name } },
        fingerprint: fp,
      };
    };

    /** The registry with the invite commands over these stores; `racing` lets join's own taken checks miss (the race they cannot close). */
    async function joinRegistry(racing: boolean) {
      const control = new AccessControl(store, { defaults: {}, roles: {} });
      control.declare('access', [{ name: 'admin.users', summary: 'manage users', roles: ['admin'] }]);
      await control.load();
      const ids: IdentityStore = racing
        ? new Proxy(identities, {
            get(target, p) {
              if (p === 'userByName' || p === 'keyByFingerprint') return async () => undefined;
              const v = Reflect.get(target, p) as unknown;
              return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
            },
          })
        : identities;
      const registry = new Registry({
        log: createLogger('silent'),
        clock: { now: () => at(100) },
        rolePermissions: DEFAULT_ROLE_PERMISSIONS,
        permissions: control,
        audit: new SqlAuditLog(engine.handle),
        backends: new Backends(),
        transaction: (fn) => engine.handle.transaction(() => fn()),
      });
      registry.register(
        ...inviteCommands({
          store,
          control,
          identities: ids,
          signup: { policy: 'invite', defaultRole: 'member', initialAdminName: 'admin' },
          wrongCodes,
          delegation: new Delegation({ control, identities: ids, initialAdminName: 'admin', groupRoles: new Map() }),
          transactions: { write: (fn) => engine.handle.transaction(() => fn()) },
        }),
      );
      return registry;
    }

    test('a name taken after the checks: the join fails and the invite stays unused, no account, no key', async () => {
      await identities.createUser('xena', 'member');
      const invite = await newInvite(hashCode('inv-race-name'));
      const registry = await joinRegistry(true);
      const { actor, fingerprint: fp } = newcomer('xena');
      await assert.rejects(registry.invoke(actor, ['join'], { code: 'inv-race-name', name: 'xena' }), Conflict);
      const after = await store.inviteById(invite.id);
      assert.deepEqual([after?.usesLeft, after?.lastUsedAt], [1, null]);
      assert.deepEqual(
        (await store.inviteUses()).filter((u) => u.inviteId === invite.id),
        [],
      );
      assert.equal(await identities.keyByFingerprint(fp), undefined);

      // The same invite then works, once: the use, the account, its key and the use row together.
      const joined = await registry.invoke(actor, ['join'], { code: 'inv-race-name', name: 'xavi' });
      assert.equal(joined.kind === 'message' && joined.json && (joined.json as { name: string }).name, 'xavi');
      const xavi = await identities.requireUser('xavi');
      assert.equal((await identities.keyByFingerprint(fp))?.userId, xavi.id);
      const used = await store.inviteById(invite.id);
      assert.deepEqual([used?.usesLeft, used?.lastUsedAt?.getTime()], [0, at(100).getTime()]);
      assert.deepEqual(
        (await store.inviteUses()).filter((u) => u.inviteId === invite.id).map((u) => [u.userId, u.userName, u.fingerprint, u.at.getTime()]),
        [[xavi.id, 'xavi', fp, at(100).getTime()]],
      );
      const again = newcomer('yves');
      await assert.rejects(registry.invoke(again.actor, ['join'], { code: 'inv-race-name', name: 'yves' }), /already used/);
      assert.equal(await identities.userByName('yves'), undefined);
    });

    test('a key taken after the checks: the join fails and the invite stays unused, no account', async () => {
      const invite = await newInvite(hashCode('inv-race-key'));
      const registry = await joinRegistry(true);
      const { actor, fingerprint: fp } = newcomer('zed');
      const owner = await identities.createUser('zoe', 'member');
      const cred = actor.credential as { publicKey: string };
      await identities.addKey(owner.id, { fingerprint: fp, algo: 'ssh-ed25519', publicKey: cred.publicKey, comment: '' });
      await assert.rejects(registry.invoke(actor, ['join'], { code: 'inv-race-key', name: 'zed' }), Conflict);
      assert.equal((await store.inviteById(invite.id))?.usesLeft, 1);
      assert.equal(await identities.userByName('zed'), undefined);
      assert.equal((await identities.keyByFingerprint(fp))?.userId, owner.id);
    });
  });
});
