/**
 * Issue #24 items 12 and 13, as they were attacked:
 * - `join --name anonymous|system|root` created those accounts. Reserved names (labd's own actors,
 *   the default initial admin, the usual system accounts) are refused on every path that creates a
 *   user by a chosen or derived name: join (--name and the SSH user name), sign-up by certificate
 *   principal, sign-up by OIDC (oidc-provider, OpenSSH in tmux), and `user add` by an admin; the
 *   configured initial admin still exists and logs in.
 * - an invite kept a custom role that was deleted before the invite was used: `role rm` is now
 *   refused while an open invite gives the role, and the join then gets the role that exists.
 */
import assert from 'node:assert/strict';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { certFor, logMark, logSince } from './support/auth-lab.ts';
import { KeyLab } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';
import { TestOidcProvider } from './support/oidc-provider.ts';
import { TmuxTerminal } from './support/tmux.ts';

describe('sign-up: reserved names and roles of open invites', () => {
  const lab = new KeyLab();
  let labd: InProcessLabd;
  let admin: string;
  let ca: string;

  const users = async () => (JSON.parse((await labd.ssh(admin, ['user', 'ls', '--json'])).stdout) as { name: string }[]).map((u) => u.name);

  before(async () => {
    admin = lab.key('admin');
    ca = lab.key('ca');
    labd = await InProcessLabd.start({ adminKeys: [lab.publicKey(admin)], caKeys: [`${ca}.pub`], env: { LABD_SIGNUP: 'open' } });
  });
  after(async () => {
    await labd?.stop();
    lab.cleanup();
  });

  test('join --name anonymous|system|root (and as ssh root@HOST) creates no account', async () => {
    const mallory = lab.key('mallory');
    for (const name of ['anonymous', 'system', 'root', 'nobody', 'www-data', 'git', 'postgres']) {
      const r = await labd.ssh(mallory, ['join', '--name', name]);
      assert.equal(r.status, 2, `${name}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, new RegExp(`the user name '${name}' is reserved`));
    }
    // The name taken from the SSH login (ssh root@HOST join) is refused the same way, and says how to pick one.
    const asRoot = await labd.ssh(mallory, ['join'], { user: 'root' });
    assert.equal(asRoot.status, 2, asRoot.stderr);
    assert.match(asRoot.stderr, /the user name 'root' is reserved .*join CODE --name NAME/);
    // The initial admin's name exists: it is taken, as before.
    const asAdmin = await labd.ssh(mallory, ['join', '--name', 'admin']);
    assert.equal(asAdmin.status, 1, asAdmin.stderr);
    assert.match(asAdmin.stderr, /the name 'admin' is taken/);
    const ok = await labd.ssh(mallory, ['join', '--name', 'mallory']);
    assert.equal(ok.status, 0, ok.stderr);
    assert.deepEqual((await users()).sort(), ['admin', 'mallory']);
  });

  test('a certificate for principal root signs nobody up; user add root is refused to admins too', async () => {
    const mark = logMark(labd);
    const root = certFor(lab, ca, { principals: ['root'] });
    const r = await labd.ssh(root.key, ['whoami', '--json'], { cert: root.cert, user: 'root' });
    // Refused as a certificate; under sign-up policy open the bare key may still come in as a newcomer (join only).
    assert.notEqual(r.status, 0, `logged in: ${r.stdout}`);
    assert.doesNotMatch(r.stdout, /root/);
    assert.match(r.stderr, /this key has no account yet/);
    await logSince(labd, mark, /'root' is a reserved name/);
    const add = await labd.ssh(admin, ['user', 'add', 'system', '--role', 'member']);
    assert.equal(add.status, 2, add.stderr);
    assert.match(add.stderr, /the user name 'system' is reserved/);
    assert.ok(!(await users()).some((n) => n === 'root' || n === 'system'));
    // The initial admin (config names it, 'admin' by default) is who it was.
    assert.equal(JSON.parse((await labd.ssh(admin, ['whoami', '--json'])).stdout).user, 'admin');
  });

  test('role rm is refused while an open invite gives the role; the join gets a role that exists', async () => {
    assert.equal((await labd.ssh(admin, ['role', 'create', 'tester'])).status, 0);
    const invite = JSON.parse((await labd.ssh(admin, ['invite', 'create', '--role', 'tester', '--json'])).stdout) as { id: number; code: string };
    const rm = await labd.ssh(admin, ['role', 'rm', 'tester', '--yes']);
    assert.equal(rm.status, 1, rm.stderr);
    assert.match(rm.stderr, new RegExp(`open invite\\(s\\) ${invite.id} give role 'tester': remove them first \\(invite rm ID\\)`));
    const joined = await labd.ssh(lab.key('tess'), ['join', invite.code, '--name', 'tess', '--json']);
    assert.equal(joined.status, 0, joined.stderr);
    assert.equal(JSON.parse(joined.stdout).role, 'tester');
    // Used up, the invite holds nothing back; the holder still does, as before.
    const held = await labd.ssh(admin, ['role', 'rm', 'tester', '--yes']);
    assert.match(held.stderr, /1 user\(s\) hold role 'tester'/);
    assert.equal((await labd.ssh(admin, ['user', 'role', 'tess', 'member'])).status, 0);
    // A withdrawn invite holds nothing back either.
    const second = JSON.parse((await labd.ssh(admin, ['invite', 'create', '--role', 'tester', '--json'])).stdout) as { id: number };
    assert.equal((await labd.ssh(admin, ['role', 'rm', 'tester', '--yes'])).status, 1);
    assert.equal((await labd.ssh(admin, ['invite', 'rm', String(second.id), '--yes'])).status, 0);
    const removed = await labd.ssh(admin, ['role', 'rm', 'tester', '--yes']);
    assert.equal(removed.status, 0, removed.stderr);
  });
});

describe('sign-up by OIDC: a reserved preferred_username makes no account', () => {
  const lab = new KeyLab();
  let op: TestOidcProvider;
  let labd: InProcessLabd;
  let admin: string;
  let terminal: TmuxTerminal | undefined;

  before(async () => {
    admin = lab.key('admin');
    op = await TestOidcProvider.start({ accounts: { sysop: { email: 'root@example.net', email_verified: true, preferred_username: 'root', groups: [] } } });
    labd = await InProcessLabd.start({ adminKeys: [lab.publicKey(admin)], env: op.labdEnv() });
  });
  after(async () => {
    terminal?.kill();
    await labd?.stop();
    await op?.stop();
    lab.cleanup();
  });

  test('an approved device-flow login whose name would be root is refused with the reason', async () => {
    const key = lab.key('sysop');
    terminal = TmuxTerminal.start(
      [
        'ssh',
        ...['-F', '/dev/null', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none'],
        ...['-o', 'PreferredAuthentications=publickey,keyboard-interactive', '-i', key, '-p', String(labd.sshPort), '-T', 'labd@127.0.0.1', '--', 'whoami'],
      ],
      { cols: 120, rows: 80, env: { LANG: 'C.UTF-8' } },
    );
    const lines = await terminal.waitFor(/code\s+[A-Z]{4}-[A-Z]{4}/, 'the device code');
    const code = /code\s+([A-Z]{4}-[A-Z]{4})/.exec(lines.join('\n'))![1]!;
    await op.approve(code, 'sysop');
    await terminal.waitFor(/the user name 'root' is reserved/, 'the refusal');
    assert.notEqual(await terminal.waitForExit(), 0);
    const names = (JSON.parse((await labd.ssh(admin, ['user', 'ls', '--json'])).stdout) as { name: string }[]).map((u) => u.name);
    assert.deepEqual(names, ['admin']);
  });
});
