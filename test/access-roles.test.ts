/**
 * Roles and grants at run time (issue #14): admins change the role → permission table and single
 * users' grants while labd runs; a change counts from the next command on, also on an SSH connection
 * that is already open (OpenSSH ControlMaster); a user's denial beats every allow; custom roles;
 * modules' permissions and their defaults (`access.defaults` in config) show up in `role show`.
 * Every change is asserted in the audit log.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { certFor, type KeyAndCert } from './support/auth-lab.ts';
import { KeyLab, LabdProcess, run, runAsync, type SshResult } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';

const lab = new KeyLab();
const ca = lab.key('ca');
const admin = lab.key('admin');
const labds: InProcessLabd[] = [];

after(async () => {
  for (const labd of labds) await labd.stop();
  lab.cleanup();
});

async function audit(labd: InProcessLabd, prefix: string): Promise<{ actor: string; command: string; args: Record<string, unknown>; outcome: string }[]> {
  const r = await labd.ssh(admin, ['audit', '--json', '--limit', '1000']);
  assert.equal(r.status, 0, r.stderr);
  return (JSON.parse(r.stdout) as { actor: string; command: string; args: string; outcome: string }[])
    .filter((row) => row.command.startsWith(prefix))
    .map((row) => ({ ...row, args: JSON.parse(row.args) as Record<string, unknown> }))
    .reverse();
}

describe('roles and grants at run time', () => {
  let labd: InProcessLabd;
  let mia: KeyAndCert;
  const controlPath = join(lab.dir, 'cm-mia');
  /** mia's commands, all over one SSH connection that stays open. */
  const asMia = (command: string[]): Promise<SshResult> => labd.sshShared(mia.key, controlPath, command, { cert: mia.cert });
  const asAdmin = async (command: string[]) => {
    const r = await labd.ssh(admin, command);
    assert.equal(r.status, 0, `${command.join(' ')}: ${r.stderr}`);
    return r;
  };

  before(async () => {
    labd = await InProcessLabd.start({ caKeys: [`${ca}.pub`], adminKeys: [lab.publicKey(admin)] });
    labds.push(labd);
    mia = certFor(lab, ca, { principals: ['mia'] });
    const first = await asMia(['whoami', '--json']);
    assert.equal(first.status, 0, first.stderr);
  });
  after(async () => {
    await runAsync('ssh', ['-O', 'exit', '-o', `ControlPath=${controlPath}`, '-p', String(labd.sshPort), 'labd@127.0.0.1']);
  });

  test('role show lists every permission modules declare, with the defaults; role ls the roles', async () => {
    const show = JSON.parse((await asAdmin(['role', 'show', 'member', '--json'])).stdout) as {
      role: string;
      permissions: { permission: string; held: boolean; why: string; module: string }[];
    };
    const byName = new Map(show.permissions.map((p) => [p.permission, p]));
    for (const p of ['paste', 'pubsub', 'git.read', 'git.write', 'crm', 'ops.read', 'ops.nodes', 'ops.deploy', 'ops.alerts', 'ops.keys', 'admin.users'])
      assert.ok(byName.has(p), `role show lists ${p}`);
    assert.deepEqual(
      show.permissions.filter((p) => p.held).map((p) => p.permission),
      ['crm', 'git.read', 'paste', 'pubsub'],
    );
    assert.equal(byName.get('git.write')!.module, 'git');
    const ls = JSON.parse((await asAdmin(['role', 'ls', '--json'])).stdout) as { role: string; kind: string; permissions: string[] }[];
    assert.deepEqual(
      ls.map((r) => [r.role, r.kind]),
      [
        ['admin', 'built-in'],
        ['operator', 'built-in'],
        ['member', 'built-in'],
        ['guest', 'built-in'],
      ],
    );
    const unknown = await labd.ssh(admin, ['role', 'grant', 'member', 'wiki.edit']);
    assert.equal(unknown.status, 4, unknown.stderr);
    assert.match(unknown.stderr, /no permission 'wiki.edit'/);
  });

  test('a role change counts on the next command of a connection that is already open', async () => {
    assert.equal((await asMia(['paste', 'ls'])).status, 0);
    await asAdmin(['role', 'revoke', 'member', 'paste']);
    const refused = await asMia(['paste', 'ls']);
    assert.equal(refused.status, 3, refused.stderr);
    assert.match(refused.stderr, /needs paste \(you are member\)/);
    const who = JSON.parse((await asMia(['whoami', '--json'])).stdout) as { permissions: string[] };
    assert.ok(!who.permissions.includes('paste'));
    const show = JSON.parse((await asAdmin(['role', 'show', 'member', '--json'])).stdout) as { permissions: { permission: string; why: string }[] };
    assert.equal(show.permissions.find((p) => p.permission === 'paste')!.why, 'revoked');
    await asAdmin(['role', 'grant', 'member', 'paste']);
    assert.equal((await asMia(['paste', 'ls'])).status, 0);
    // A permission members never had, granted live.
    assert.equal((await asMia(['user', 'ls'])).status, 3);
    await asAdmin(['role', 'grant', 'member', 'admin.users']);
    assert.equal((await asMia(['user', 'ls'])).status, 0);
    await asAdmin(['role', 'revoke', 'member', 'admin.users']);
    assert.equal((await asMia(['user', 'ls'])).status, 3);
  });

  test("a user's denial beats every allow (role and own grant); clear goes back to the role", async () => {
    await asAdmin(['user', 'deny', 'mia', 'crm']);
    const denied = await asMia(['crm', 'ls']);
    assert.equal(denied.status, 3, denied.stderr);
    // Even with the role granting it twice over, and another role change in between.
    await asAdmin(['role', 'grant', 'member', 'crm']);
    assert.equal((await asMia(['crm', 'ls'])).status, 3);
    await asAdmin(['user', 'grant', 'mia', 'crm']);
    assert.equal((await asMia(['crm', 'ls'])).status, 0, 'user grant replaces the denial');
    await asAdmin(['user', 'deny', 'mia', 'crm']);
    assert.equal((await asMia(['crm', 'ls'])).status, 3);
    await asAdmin(['user', 'clear', 'mia', 'crm']);
    assert.equal((await asMia(['crm', 'ls'])).status, 0, 'back to the role');
    const clearAgain = await labd.ssh(admin, ['user', 'clear', 'mia', 'crm']);
    assert.equal(clearAgain.status, 4);
    // A single user's grant of something the role lacks.
    await asAdmin(['user', 'grant', 'mia', 'admin.users']);
    assert.equal((await asMia(['user', 'ls'])).status, 0);
    await asAdmin(['role', 'grant', 'member', 'admin.users']);
    await asAdmin(['user', 'deny', 'mia', 'admin.users']);
    const deniedAdmin = await asMia(['user', 'ls']);
    assert.equal(deniedAdmin.status, 3, 'the denial beats the role');
    await asAdmin(['role', 'revoke', 'member', 'admin.users']);
    await asAdmin(['user', 'clear', 'mia', 'admin.users']);
    const show = JSON.parse((await asAdmin(['user', 'show', 'mia', '--json'])).stdout) as { role: string; grants: unknown[]; permissions: string[] };
    assert.deepEqual(show.grants, []);
    assert.deepEqual(show.permissions, ['crm', 'git.read', 'paste', 'pubsub']);
  });

  test('custom roles: create, grant, give to a user, refuse removing while held; admins keep admin.users', async () => {
    await asAdmin(['role', 'create', 'readers', 'read', 'only', 'people']);
    assert.equal((await labd.ssh(admin, ['role', 'create', 'readers'])).status, 1);
    assert.equal((await labd.ssh(admin, ['role', 'create', 'member'])).status, 1);
    await asAdmin(['role', 'grant', 'readers', 'git.read']);
    await asAdmin(['user', 'role', 'mia', 'readers']);
    const who = JSON.parse((await asMia(['whoami', '--json'])).stdout) as { role: string; permissions: string[] };
    assert.deepEqual([who.role, who.permissions], ['readers', ['git.read']]);
    const paste = await asMia(['paste', 'ls']);
    assert.equal(paste.status, 3);
    assert.match(paste.stderr, /you are readers/);
    assert.equal((await asMia(['repo', 'ls'])).status, 0);
    const held = await labd.ssh(admin, ['role', 'rm', 'readers', '--yes']);
    assert.equal(held.status, 1, held.stderr);
    assert.match(held.stderr, /1 user\(s\) hold role 'readers'/);
    assert.equal((await labd.ssh(admin, ['user', 'role', 'mia', 'nosuchrole'])).status, 4);
    await asAdmin(['user', 'role', 'mia', 'member']);
    await asAdmin(['role', 'rm', 'readers', '--yes']);
    const lockout = await labd.ssh(admin, ['role', 'revoke', 'admin', 'admin.users']);
    assert.equal(lockout.status, 2, lockout.stderr);
    const selfDeny = await labd.ssh(admin, ['user', 'deny', 'admin', 'admin.users']);
    assert.equal(selfDeny.status, 2, selfDeny.stderr);
    assert.equal((await labd.ssh(admin, ['user', 'ls'])).status, 0);

    const rows = (await audit(labd, 'role ')).concat(await audit(labd, 'user grant'), await audit(labd, 'user deny'), await audit(labd, 'user clear'));
    const summary = rows.map((r) => `${r.actor} ${r.command} ${[r.args.role, r.args.name, r.args.permission].filter(Boolean).join(' ')} ${r.outcome}`);
    for (const line of [
      'admin role revoke member paste ok',
      'admin role grant member paste ok',
      'admin role grant member wiki.edit not_found',
      'admin role create readers ok',
      'admin role grant readers git.read ok',
      'admin role rm readers conflict',
      'admin role rm readers ok',
      'admin role revoke admin admin.users usage',
      'admin user deny mia crm ok',
      'admin user grant mia crm ok',
      'admin user clear mia crm ok',
      'admin user clear mia crm not_found',
      'admin user deny admin admin.users usage',
    ])
      assert.ok(summary.includes(line), `audited: ${line}\n${summary.join('\n')}`);
  });
  test('a disabled account logs in no more and its open connection closes; enabled, it comes back', async () => {
    assert.equal((await asMia(['whoami'])).status, 0);
    const masterUp = async () =>
      (await runAsync('ssh', ['-O', 'check', '-o', `ControlPath=${controlPath}`, '-p', String(labd.sshPort), 'labd@127.0.0.1'])).status === 0;
    assert.ok(await masterUp(), 'the shared connection is up');
    assert.equal((await labd.ssh(admin, ['user', 'disable', 'mia'])).status, 2, 'disable is destructive: --yes');
    await asAdmin(['user', 'disable', 'mia', '--yes']);
    for (let i = 0; i < 100 && (await masterUp()); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(!(await masterUp()), "the disabled user's connection was closed");
    // As under sshd's nologin: the certificate logs in only to be told why, and nothing runs.
    const refused = await labd.ssh(mia.key, ['whoami'], { cert: mia.cert });
    assert.equal(refused.status, 3, refused.stderr);
    assert.match(refused.stderr, /account disabled/);
    const ls = JSON.parse((await asAdmin(['user', 'ls', '--json'])).stdout) as { name: string; disabled: string }[];
    assert.equal(ls.find((u) => u.name === 'mia')!.disabled, 'disabled');
    assert.equal((await labd.ssh(admin, ['user', 'disable', 'admin', '--yes'])).status, 2, 'nobody disables themselves');
    await asAdmin(['user', 'enable', 'mia']);
    const back = await labd.ssh(mia.key, ['whoami', '--json'], { cert: mia.cert });
    assert.equal(back.status, 0, back.stderr);
    assert.deepEqual(
      (await audit(labd, 'user disable')).map((r) => [r.args.name, r.outcome]),
      [
        ['mia', 'usage'],
        ['mia', 'ok'],
        ['admin', 'usage'],
      ],
    );
    assert.deepEqual(
      (await audit(labd, 'user enable')).map((r) => [r.args.name, r.outcome]),
      [['mia', 'ok']],
    );
  });
});

describe('access.defaults in config', () => {
  test("a module permission's default roles come from config, and a permission no module declares stops labd", async () => {
    const file = join(lab.dir, 'labd.yaml');
    writeFileSync(file, 'access:\n  defaults:\n    git.write: [admin, operator, member]\nroles:\n  guest: [git.read, paste]\n');
    const labd = await InProcessLabd.start({ adminKeys: [lab.publicKey(admin)], env: { LABD_CONFIG: file } });
    labds.push(labd);
    const member = JSON.parse((await labd.ssh(admin, ['role', 'show', 'member', '--json'])).stdout) as {
      permissions: { permission: string; held: boolean; why: string }[];
    };
    assert.deepEqual(
      member.permissions.find((p) => p.permission === 'git.write'),
      { permission: 'git.write', held: true, why: 'default', module: 'git', summary: 'create repositories and push' },
    );
    const guest = JSON.parse((await labd.ssh(admin, ['role', 'show', 'guest', '--json'])).stdout) as { permissions: { permission: string; held: boolean }[] };
    assert.deepEqual(
      guest.permissions.filter((p) => p.held).map((p) => p.permission),
      ['git.read', 'paste'],
    );

    const bad = join(lab.dir, 'bad.yaml');
    writeFileSync(bad, 'access:\n  defaults:\n    wiki.edit: [member]\n');
    // labd refusing to start (its exit and the line it leaves): a real labd process.
    await assert.rejects(
      LabdProcess.start({ adminKeys: [lab.publicKey(admin)], env: { LABD_CONFIG: bad } }),
      /access\.defaults names 'wiki\.edit', which no module declares/,
    );
  });
});
