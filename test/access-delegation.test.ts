/**
 * Delegated user administration (issue #24 item 8), with the real OpenSSH client against labd in
 * this process. The admin makes a `useradmin` role (what members hold, plus admin.users) and gives it
 * to eve. eve's attack of the issue (grant herself ops.keys, admin invites, deny and disable the
 * initial admin, make herself admin) and its neighbours each fail with a clear message and exit 3;
 * everything stays as it was. A legitimate useradmin still adds members, grants what she holds,
 * invites members, and disables and enables them.
 */
import assert from 'node:assert/strict';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { jsonOf, KeyLab, type SshResult } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';

const MEMBER = ['crm', 'git.read', 'paste', 'pubsub'];

describe('admin.users delegated to a custom role stays within its holder’s rights', () => {
  const lab = new KeyLab();
  let labd: InProcessLabd;
  let admin: string;
  let eve: string;
  let eveSpare: string;
  let olga: string;

  const asAdmin = async (command: string[], input?: string): Promise<SshResult> => {
    const r = await labd.ssh(admin, command, input === undefined ? {} : { input });
    assert.equal(r.status, 0, `${command.join(' ')}: ${r.stderr}`);
    return r;
  };
  const asEve = (command: string[], input?: string): Promise<SshResult> => labd.ssh(eve, command, input === undefined ? {} : { input });

  before(async () => {
    admin = lab.key('admin');
    eve = lab.key('eve');
    eveSpare = lab.key('eve-spare');
    olga = lab.key('olga');
    labd = await InProcessLabd.start({ adminKeys: [lab.publicKey(admin)] });
    await asAdmin(['user', 'add', 'eve'], lab.publicKey(eve));
    await asAdmin(['user', 'add', 'olga', '--role', 'operator'], lab.publicKey(olga));
    await asAdmin(['user', 'add', 'bob'], '');
    await asAdmin(['role', 'create', 'useradmin', 'manages', 'members']);
    for (const p of ['admin.users', ...MEMBER]) await asAdmin(['role', 'grant', 'useradmin', p]);
    await asAdmin(['user', 'role', 'eve', 'useradmin']);
  });
  after(async () => {
    await labd?.stop();
    lab.cleanup();
  });

  test('eve’s attack: every step is refused with a clear message, and nothing changes', async () => {
    const adminInvite = jsonOf<{ id: number }>(await asAdmin(['invite', 'create', '--role', 'admin', '--json', 'for', 'a', 'new', 'admin']));
    const steps: { command: string[]; input?: string; says: RegExp }[] = [
      { command: ['user', 'grant', 'eve', 'ops.keys'], says: /cannot grant ops\.keys for eve: it needs ops\.keys, which you do not hold/ },
      { command: ['role', 'grant', 'useradmin', 'ops.keys'], says: /cannot grant ops\.keys to role useradmin: it needs ops\.keys/ },
      { command: ['invite', 'create', '--role', 'admin'], says: /cannot create an invite for role admin: only an admin gives the admin role/ },
      { command: ['invite', 'create', '--role', 'operator'], says: /cannot create an invite for role operator: role operator holds .*git\.write/ },
      { command: ['user', 'deny', 'admin', 'admin.users'], says: /the initial admin 'admin' \(auth\.initialAdminKeys\) cannot be denied admin\.users/ },
      { command: ['user', 'disable', 'admin', '--yes'], says: /the initial admin 'admin' .*cannot be disabled/ },
      { command: ['user', 'rm', 'admin', '--yes'], says: /the initial admin 'admin' .*cannot be removed/ },
      { command: ['user', 'role', 'admin', 'member'], says: /the initial admin 'admin' .*cannot be made member/ },
      { command: ['keys', 'add', '--user', 'admin'], input: lab.publicKey(eveSpare), says: /the initial admin 'admin' .*cannot be given a key/ },
      { command: ['user', 'role', 'eve', 'admin'], says: /cannot change the role of eve: only an admin gives the admin role/ },
      { command: ['user', 'role', 'bob', 'operator'], says: /cannot change the role of bob: as operator bob would hold .*git\.write/ },
      { command: ['user', 'add', 'mal', '--role', 'admin'], input: '', says: /cannot create a user with role admin: only an admin gives the admin role/ },
      {
        command: ['user', 'grant', 'admin', 'paste'],
        says: /cannot change the grants of admin: admin is an admin, and only an admin changes an admin's account/,
      },
      { command: ['user', 'disable', 'olga', '--yes'], says: /cannot disable olga: olga holds .*ops\.nodes.*which you do not/ },
      { command: ['user', 'deny', 'olga', 'ops.deploy'], says: /cannot change the grants of olga: olga holds/ },
      { command: ['user', 'rm', 'olga', '--yes'], says: /cannot remove olga: olga holds/ },
      { command: ['keys', 'add', '--user', 'olga'], input: lab.publicKey(eveSpare), says: /cannot add a key to olga: olga holds/ },
      { command: ['role', 'revoke', 'operator', 'ops.nodes'], says: /cannot change role operator: role operator holds/ },
      { command: ['role', 'grant', 'member', 'ops.keys'], says: /cannot grant ops\.keys to role member/ },
      { command: ['invite', 'rm', String(adminInvite.id), '--yes'], says: new RegExp(`cannot withdraw invite ${adminInvite.id}: only an admin`) },
    ];
    const refused: string[] = [];
    for (const step of steps) {
      const r = await asEve(step.command, step.input);
      assert.equal(r.status, 3, `${step.command.join(' ')} should be refused: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, step.says, step.command.join(' '));
      assert.equal(r.stderr.trim().split('\n').length, 1, `one clear line: ${r.stderr}`);
      refused.push(step.command.join(' '));
    }
    console.log(`eve's attack: ${refused.length} of ${steps.length} steps refused`);

    // Nothing changed: eve is still a useradmin without ops.keys, the initial admin still rules, olga is still an operator.
    const who = jsonOf<{ role: string; permissions: string[] }>(await asEve(['whoami', '--json']));
    assert.equal(who.role, 'useradmin');
    assert.deepEqual(who.permissions, ['admin.users', ...MEMBER].sort());
    const adminShow = jsonOf<{ role: string; disabled: boolean; grants: unknown[]; permissions: string[]; keys: unknown[] }>(
      await asAdmin(['user', 'show', 'admin', '--json']),
    );
    assert.equal(adminShow.role, 'admin');
    assert.equal(adminShow.disabled, false);
    assert.deepEqual(adminShow.grants, []);
    assert.ok(adminShow.permissions.includes('admin.users'));
    assert.equal(adminShow.keys.length, 1, 'no key was added to the initial admin');
    await asAdmin(['user', 'ls']);
    const olgaShow = jsonOf<{ role: string; disabled: boolean; keys: unknown[]; grants: unknown[] }>(await asAdmin(['user', 'show', 'olga', '--json']));
    assert.deepEqual([olgaShow.role, olgaShow.disabled, olgaShow.keys.length, olgaShow.grants.length], ['operator', false, 1, 0]);
    const users = jsonOf<{ name: string }[]>(await asAdmin(['user', 'ls', '--json']));
    assert.ok(!users.some((u) => u.name === 'mal'));
    const roles = jsonOf<{ role: string; permissions: string[] }[]>(await asAdmin(['role', 'ls', '--json']));
    assert.deepEqual(roles.find((r) => r.role === 'useradmin')!.permissions, ['admin.users', ...MEMBER].sort());
    assert.ok(roles.find((r) => r.role === 'operator')!.permissions.includes('ops.nodes'));
    assert.ok(!roles.find((r) => r.role === 'member')!.permissions.includes('ops.keys'));
    const invites = jsonOf<{ id: number; role: string; state: string }[]>(await asAdmin(['invite', 'ls', '--json']));
    assert.deepEqual(
      invites.map((i) => [i.id, i.role, i.state]),
      [[adminInvite.id, 'admin', 'active']],
      'no invite was made, and the admin’s is not withdrawn',
    );

    // Every refusal is audited as one.
    const rows = await labd.auditRows(admin);
    const eveRefused = rows.filter((r) => r.actor === 'eve' && r.outcome === 'permission');
    assert.ok(eveRefused.length >= steps.length - 1, `audited refusals: ${eveRefused.length}`);
  });

  test('even a full admin cannot deny, disable, remove or demote the initial admin', async () => {
    const other = lab.key('second-admin');
    await asAdmin(['user', 'add', 'root2', '--role', 'admin'], lab.publicKey(other));
    for (const [command, says] of [
      [['user', 'deny', 'admin', 'admin.users'], /cannot be denied admin\.users/],
      [['user', 'disable', 'admin', '--yes'], /cannot be disabled/],
      [['user', 'rm', 'admin', '--yes'], /cannot be removed/],
      [['user', 'role', 'admin', 'operator'], /cannot be made operator/],
    ] as const) {
      const r = await labd.ssh(other, [...command]);
      assert.equal(r.status, 3, `${command.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, says);
    }
    // A full admin still manages everyone else, operators included.
    const r = await labd.ssh(other, ['user', 'deny', 'olga', 'ops.deploy']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal((await labd.ssh(other, ['user', 'clear', 'olga', 'ops.deploy'])).status, 0);
  });

  test('a legitimate useradmin adds members, grants what she holds, invites members, disables and enables them', async () => {
    const carol = lab.key('carol');
    const add = await asEve(['user', 'add', 'carol'], lab.publicKey(carol));
    assert.equal(add.status, 0, add.stderr);
    assert.match(add.stdout, /created user carol \(member\)/);
    assert.equal((await labd.ssh(carol, ['whoami'])).status, 0, 'carol logs in');

    assert.equal((await asEve(['user', 'role', 'carol', 'guest'])).status, 0);
    const grant = await asEve(['user', 'grant', 'carol', 'paste']);
    assert.equal(grant.status, 0, grant.stderr);
    assert.match(grant.stdout, /carol: granted paste \(holds it now\)/);
    assert.equal((await asEve(['user', 'deny', 'carol', 'git.read'])).status, 0);
    assert.equal((await asEve(['user', 'clear', 'carol', 'git.read'])).status, 0);
    assert.equal((await asEve(['user', 'role', 'carol', 'member'])).status, 0);
    // Another useradmin: she holds admin.users, so she may hand it on.
    assert.equal((await asEve(['user', 'role', 'carol', 'useradmin'])).status, 0);
    assert.equal((await asEve(['user', 'role', 'carol', 'member'])).status, 0);

    const invite = await asEve(['invite', 'create', 'for', 'dan']);
    assert.equal(invite.status, 0, invite.stderr);
    assert.match(invite.stdout, /role member/);
    const row = jsonOf<{ id: number; role: string }[]>(await asEve(['invite', 'ls', '--json'])).find((i) => i.role === 'member');
    assert.equal((await asEve(['invite', 'rm', String(row!.id), '--yes'])).status, 0);

    const spare = lab.key('carol-spare');
    assert.equal((await asEve(['keys', 'add', '--user', 'carol'], lab.publicKey(spare))).status, 0);
    assert.equal((await asEve(['user', 'disable', 'carol', '--yes'])).status, 0);
    assert.notEqual((await labd.ssh(carol, ['whoami'])).status, 0, 'a disabled account logs in no more');
    assert.equal((await asEve(['user', 'enable', 'carol'])).status, 0);
    assert.equal((await asEve(['user', 'rm', 'carol', '--yes'])).status, 0);
  });
});
