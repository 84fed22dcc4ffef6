/**
 * Identity squatting through `login` (issue #24 item 7), against a real OpenID Provider (oidc-provider,
 * its device pages driven over HTTP like a browser) and the real OpenSSH client, labd in this process.
 * mallory signed up through the IdP as herself; then she runs `login` in her session and gets other
 * people to approve her code (device-code phishing): "boss" (group lab-admins → admin), "carl" (whose
 * name is another labd account), and boss again once he has his own account. Each approval is refused:
 * mallory gains no role and no identity, her key stays hers, and boss's own later login lands in his
 * account. `user show` tells what an account can do, including the role a linked key's groups raise.
 */
import assert from 'node:assert/strict';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { jsonOf, KeyLab, type RunningSsh, type SshResult } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';
import { TestOidcProvider } from './support/oidc-provider.ts';

const ACCOUNTS = {
  boss: { email: 'boss@example.net', email_verified: true, preferred_username: 'boss', groups: ['lab-admins'] },
  mallory: { email: 'mallory@example.net', email_verified: true, preferred_username: 'mallory', groups: [] },
  carl: { email: 'carl@example.net', email_verified: true, preferred_username: 'carl', groups: [] },
};

const CODE = /code\s+([A-Z]{4}-[A-Z]{4})/;

async function codeIn(running: RunningSsh): Promise<string> {
  const deadline = Date.now() + 30_000;
  while (!CODE.test(running.stderr()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const code = CODE.exec(running.stderr())?.[1];
  assert.ok(code, `no device code shown: ${running.stderr()}`);
  return code;
}

interface UserShow {
  role: string;
  effectiveRole: string;
  raisedBy: { key: string; role: string; groups: string[] }[];
  permissions: string[];
  identities: { provider: string; subject: string }[];
  keys: { fingerprint: string }[];
}

describe('login cannot squat another identity or borrow its roles (device-code phishing)', () => {
  const lab = new KeyLab();
  let op: TestOidcProvider;
  let labd: InProcessLabd;
  let admin: string;
  let mallory: string;
  let boss: string;

  /** Runs `command` with `key`, and has `sub` approve the device code it shows; returns the command's end and what it printed first. */
  async function approvedBy(key: string, command: string[], sub: string): Promise<SshResult & { prompt: string }> {
    const running = labd.sshStart(key, command);
    await op.approve(await codeIn(running), sub);
    return { ...(await running.done), prompt: running.stderr() };
  }
  const show = async (name: string) => jsonOf<UserShow>(await labd.ssh(admin, ['user', 'show', name, '--json']));
  const whoami = async (key: string) => jsonOf<{ user: string; role: string; permissions: string[] }>(await labd.ssh(key, ['whoami', '--json']));

  before(async () => {
    admin = lab.key('admin');
    mallory = lab.key('mallory');
    boss = lab.key('boss');
    op = await TestOidcProvider.start({ accounts: ACCOUNTS });
    // Anonymous git on: an unknown key running a command logs in first, its code on stderr (issue #12).
    labd = await InProcessLabd.start({
      adminKeys: [lab.publicKey(admin)],
      env: op.labdEnv({ LABD_OIDC_GROUP_ROLES: 'lab-admins=admin', LABD_OIDC_KEY_LIFETIME: '16h', LABD_GIT_ANON_ACCESS: 'read-only' }),
    });
    const carl = lab.key('carl');
    const added = await labd.ssh(admin, ['user', 'add', 'carl'], { input: lab.publicKey(carl) });
    assert.equal(added.status, 0, added.stderr);
    // mallory signs up through the IdP as herself: a member, her key linked to her account.
    const signup = await approvedBy(mallory, ['whoami', '--json'], 'mallory');
    assert.equal(signup.status, 0, signup.stderr);
    assert.equal(jsonOf<{ user: string; role: string }>(signup).role, 'member');
  }, 60_000);
  after(async () => {
    await labd?.stop();
    await op?.stop();
    lab.cleanup();
  });

  test('boss (lab-admins) approves mallory’s login: refused; she gains no role, and boss’s own login lands in his account', async () => {
    const phished = await approvedBy(mallory, ['login'], 'boss');
    // The text shown with the code names the account the approval links.
    assert.match(phished.prompt, /Approving this code links the identity you approve with to the labd account 'mallory'/);
    assert.match(phished.prompt, /Approve it only if you are mallory/);
    assert.equal(phished.status, 3, phished.stderr);
    assert.match(phished.stderr, /login refused: .*'boss' is in groups \(lab-admins\) that grant role admin, more than your account 'mallory' holds/);

    const who = await whoami(mallory);
    assert.deepEqual([who.user, who.role], ['mallory', 'member']);
    assert.ok(!who.permissions.includes('admin.users'));
    const ls = await labd.ssh(mallory, ['user', 'ls']);
    assert.equal(ls.status, 3, 'user ls is refused to mallory');
    const m = await show('mallory');
    assert.deepEqual([m.role, m.effectiveRole, m.raisedBy], ['member', 'member', []]);
    assert.deepEqual(
      m.identities.map((i) => i.subject),
      ['mallory'],
      'boss’s identity is not in mallory’s account',
    );
    assert.ok(!m.permissions.includes('admin.users'));

    // boss's own later login (a key of his, never seen) makes his own account, with his group's role.
    const own = await approvedBy(boss, ['whoami', '--json'], 'boss');
    assert.equal(own.status, 0, own.stderr);
    const bossWho = jsonOf<{ user: string; role: string }>(own);
    assert.deepEqual([bossWho.user, bossWho.role], ['boss', 'admin']);

    // user show tells the truth: a member, acting as admin through the linked key, with admin's permissions.
    const b = await show('boss');
    assert.equal(b.role, 'member');
    assert.equal(b.effectiveRole, 'admin');
    assert.deepEqual(
      b.raisedBy.map((r) => [r.role, r.groups]),
      [['admin', ['lab-admins']]],
    );
    assert.ok(b.permissions.includes('admin.users'), b.permissions.join(','));
    assert.equal((await labd.ssh(boss, ['user', 'ls'])).status, 0, 'and boss can do what user show says');
    const text = await labd.ssh(admin, ['user', 'show', 'boss']);
    assert.match(text.stdout, /member, acting as admin through a linked key/);
    assert.match(text.stdout, /admin: key SHA256:\S+ \(IdP groups lab-admins\) until/);
    const users = jsonOf<{ name: string; role: string; effectiveRole: string }[]>(await labd.ssh(admin, ['user', 'ls', '--json']));
    assert.deepEqual(
      users.filter((u) => ['boss', 'mallory'].includes(u.name)).map((u) => [u.name, u.role, u.effectiveRole]),
      [
        ['boss', 'member', 'admin'],
        ['mallory', 'member', 'member'],
      ],
    );

    const row = (await labd.auditRows(admin)).find((r) => r.command === 'oidc link' && r.outcome === 'permission');
    assert.ok(row, 'the refused link is audited');
    assert.match(row.error ?? '', /grant role admin, more than your account 'mallory' holds/);
  });

  test('boss, now with his own account, approves mallory’s login: refused; her key is not moved into his account', async () => {
    const phished = await approvedBy(mallory, ['login'], 'boss');
    assert.equal(phished.status, 3, phished.stderr);
    assert.match(phished.stderr, /'boss' is linked to the labd account 'boss', not to yours \('mallory'\)/);
    assert.deepEqual(Object.values(await whoami(mallory)).slice(0, 2), ['mallory', 'member']);
    assert.equal((await whoami(boss)).user, 'boss');
    assert.equal((await show('boss')).keys.length, 1, 'mallory’s key did not join boss’s account');
  });

  test('carl (no groups, but his name is the labd account carl) approves mallory’s login: refused; carl keeps his identity', async () => {
    const phished = await approvedBy(mallory, ['login'], 'carl');
    assert.equal(phished.status, 3, phished.stderr);
    assert.match(phished.stderr, /'carl' would be the labd account 'carl', not yours \('mallory'\)/);
    assert.deepEqual(
      (await show('mallory')).identities.map((i) => i.subject),
      ['mallory'],
    );
  });

  test('mallory approving her own login still links her key again', async () => {
    const own = await approvedBy(mallory, ['login'], 'mallory');
    assert.equal(own.status, 0, own.stderr);
    assert.match(own.stdout, /is linked to mallory \(member\) until/);
  });
});
