/**
 * OIDC logins and anonymous git on the same lab (issue #12: "a git command never waits on a device-code
 * prompt"). A key labd does not know, once it proved possession, comes in at once: git clone and fetch
 * run as anonymous (BatchMode, no terminal, no prompt), `join CODE` as a newcomer, and anything else
 * (the terminal UI, another command) runs the device-flow login in the session first and then goes on
 * as the user. A real OpenID Provider (oidc-provider), the real OpenSSH and git clients, tmux for -tt.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { logSince } from './support/auth-lab.ts';
import { GitLab } from './support/git.ts';
import { jsonOf, KeyLab, LabdProcess, type RunningSsh } from './support/labd.ts';
import { TestOidcProvider } from './support/oidc-provider.ts';
import { TmuxTerminal } from './support/tmux.ts';
import { until } from './support/wait.ts';

const ACCOUNTS = {
  alice: { email: 'alice@example.net', email_verified: true, preferred_username: 'alice', groups: [] },
  bob: { email: 'bob@example.net', email_verified: true, preferred_username: 'bob', groups: [] },
  carol: { email: 'carol@example.net', email_verified: true, preferred_username: 'carol', groups: [] },
  gina: { email: 'gina@example.net', email_verified: true, preferred_username: 'gina', groups: [] },
};

function oidcEnv(op: TestOidcProvider, extra: Record<string, string> = {}): Record<string, string> {
  return op.labdEnv({ LABD_GIT_ANON_ACCESS: 'read-only', ...extra });
}

const CODE = /code\s+([A-Z]{4}-[A-Z]{4})/;

/** The device code a running ssh printed on its stderr. */
async function codeIn(running: RunningSsh): Promise<string> {
  const deadline = Date.now() + 30_000;
  while (!CODE.test(running.stderr()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const code = CODE.exec(running.stderr())?.[1];
  assert.ok(code, `no device code shown: ${running.stderr()}`);
  return code;
}

describe('OIDC and anonymous git together: unlinked keys', () => {
  const lab = new KeyLab();
  let op: TestOidcProvider;
  let labd: LabdProcess;
  let git: GitLab;
  let admin: string;
  const terminals: TmuxTerminal[] = [];

  before(async () => {
    admin = lab.key('admin');
    op = await TestOidcProvider.start({ accounts: ACCOUNTS });
    labd = await LabdProcess.start({ adminKeys: [lab.publicKey(admin)], env: oidcEnv(op, { LABD_OIDC_KEY_LIFETIME: '1h' }) });
    git = new GitLab(labd);
    const created = await labd.sshAsync(admin, ['repo', 'create', 'dotfiles']);
    assert.equal(created.status, 0, created.stderr);
    const wt = git.workTree({ 'README.md': '# dotfiles\n' });
    const push = git.git(admin, ['push', git.url('dotfiles'), 'main'], { cwd: wt });
    assert.equal(push.status, 0, push.stderr);
  }, 120_000);
  after(async () => {
    for (const t of terminals) t.kill();
    await labd?.stop();
    await op?.stop();
    lab.cleanup();
  });

  test('git clone with an unknown key completes anonymously: no prompt, no device flow (BatchMode, no terminal); a push is refused', async () => {
    const key = lab.key('cloner');
    const before = labd.logs().length;
    // GitLab's ssh for a key: BatchMode=yes, publickey only, no tty. It must not wait on anything.
    const clone = git.git(key, ['clone', '-q', git.url('dotfiles'), git.path('unlinked-clone')]);
    assert.equal(clone.status, 0, clone.stderr);
    assert.ok(existsSync(git.path('unlinked-clone', 'README.md')));
    git.commit(git.path('unlinked-clone'), 'x.txt', 'x\n', 'unlinked');
    const push = git.git(key, ['push', 'origin', 'main'], { cwd: git.path('unlinked-clone') });
    assert.notEqual(push.status, 0);
    assert.match(push.stderr, /this key is linked to no account, so only git clone and fetch work .*log in with  ssh HOST login/);
    // Both connections (clone, push) came in as the unlinked key; the ssh calls above blocked this process, so wait for labd's lines.
    await until(
      'both logins logged',
      () =>
        (
          labd
            .logs()
            .slice(before)
            .match(/accepted an unlinked key/g) ?? []
        ).length >= 2,
    );
    const logs = labd.logs().slice(before);
    assert.doesNotMatch(logs, /OIDC device flow started|offering an OIDC login/);
    assert.doesNotMatch(logs, /key linked by OIDC login/);
    // The audit log names the key the clone came with.
    const row = labd.auditRows(admin).find((r) => r.command === 'git-receive-pack' && (r.credential ?? '').startsWith('anonymous (unlinked key SHA256:'));
    assert.ok(row, 'the refused push is audited with the unlinked key');
  });

  test('ssh -tt with an unknown key: the device code is shown in the session, the test approves it, and the TUI opens as the user', async () => {
    const key = lab.key('alice');
    const t = TmuxTerminal.start(['ssh', ...labd.sshArgs(key, { tty: true })], { cols: 120, rows: 60, env: { LANG: 'C.UTF-8' } });
    terminals.push(t);
    // The code's lines and the QR code below them may reach the screen in separate writes: wait for both.
    const lines = await t.waitFor((l) => CODE.test(l.join('\n')) && /[▀▄█]/.test(l.join('\n')), 'the device code and its QR code');
    const screen = lines.join('\n');
    assert.match(screen, new RegExp(`open\\s+${op.issuer.replace(/[.]/g, '\\.')}/device`), 'the verification URL is shown');
    assert.match(screen, /[▀▄█]/, 'a QR code is drawn on the terminal');
    await op.approve(CODE.exec(screen)![1]!, 'alice');
    await t.waitFor((l) => l.some((x) => x.includes('Welcome to labd, alice.')), 'the TUI as alice');
    t.sendKeys('q');
    assert.equal(await t.waitForExit(), 0);
    // The key is linked now: it logs in by itself.
    const who = jsonOf<{ user: string; credential: { kind: string } }>(labd.ssh(key, ['whoami', '--json']));
    assert.deepEqual([who.user, who.credential.kind], ['alice', 'key']);
    const link = labd.auditRows(admin).find((r) => r.command === 'oidc link' && r.actor === 'alice');
    assert.ok(link && link.outcome === 'ok', 'the link is audited');
  });

  test('an exec command with an unknown key logs in first (code on stderr), then runs as the user', async () => {
    const key = lab.key('bob');
    const running = labd.sshStart(key, ['whoami', '--json']);
    await op.approve(await codeIn(running), 'bob');
    const done = await running.done;
    assert.equal(done.status, 0, done.stderr);
    assert.match(done.stderr, /Logged in as bob \(member\), a new account\. This key is linked until/);
    assert.equal((JSON.parse(done.stdout) as { user: string }).user, 'bob');
  });

  test('ssh lab login from an unknown key is the login itself: it links once and ends with status 0', async () => {
    const key = lab.key('alice-login');
    const running = labd.sshStart(key, ['login']);
    await op.approve(await codeIn(running), 'alice');
    const done = await running.done;
    assert.equal(done.status, 0, done.stderr);
    assert.match(done.stderr, /Logged in as alice \(member\)\. This key is linked until/);
    assert.equal((done.stderr.match(/code\s+[A-Z]{4}-[A-Z]{4}/g) ?? []).length, 1, 'one device flow, not a second one for the login command');
    assert.equal(jsonOf<{ user: string }>(labd.ssh(key, ['whoami', '--json'])).user, 'alice');
  });

  test('a denied login ends the session with a clear message and a non-zero status, and links nothing', async () => {
    const key = lab.key('carol');
    const running = labd.sshStart(key, ['whoami']);
    await op.deny(await codeIn(running));
    const done = await running.done;
    assert.equal(done.status, 3, done.stderr);
    assert.match(done.stderr, /error: login failed: the login was denied at the identity provider/);
    assert.equal(done.stdout, '');
    const users = jsonOf<{ name: string }[]>(labd.ssh(admin, ['user', 'ls', '--json']));
    assert.ok(!users.some((u) => u.name === 'carol'), 'no account made');
    const link = labd.auditRows(admin).find((r) => r.command === 'oidc link' && r.actor.includes('carol'));
    assert.equal(link, undefined, 'nothing linked');
  });

  test('join CODE from an unknown key still signs up (no device flow), named after the SSH user name', async () => {
    const inv = jsonOf<{ code: string }>(labd.ssh(admin, ['invite', 'create', '--json']));
    const key = lab.key('gina');
    const before = labd.logs().length;
    // No --name: the account is named after the SSH user name (ssh gina@HOST).
    const joined = labd.ssh(key, ['join', inv.code], { user: 'gina' });
    assert.equal(joined.status, 0, joined.stderr);
    assert.match(joined.stdout, /welcome, gina/);
    await logSince(labd, before, /user signed up/);
    assert.doesNotMatch(labd.logs().slice(before), /OIDC device flow started/);
    assert.equal(jsonOf<{ user: string }>(labd.ssh(key, ['whoami', '--json'])).user, 'gina');
  });
});

describe('login renews the link of open connections', () => {
  const LINK_LIFETIME_MS = 15_000;
  const lab = new KeyLab();
  let op: TestOidcProvider;
  let labd: LabdProcess;

  before(async () => {
    op = await TestOidcProvider.start({ accounts: ACCOUNTS });
    // Links last 15 s: long enough for a second login (codes are polled every second) before the first expires.
    labd = await LabdProcess.start({
      adminKeys: [lab.publicKey(lab.key('admin'))],
      env: oidcEnv(op, { LABD_OIDC_KEY_LIFETIME: `${LINK_LIFETIME_MS / 1000}s` }),
    });
  }, 120_000);
  after(async () => {
    await labd?.stop();
    await op?.stop();
    lab.cleanup();
  });

  test('an open session on a linked key outlives the old expiry after ssh lab login, and closes at the new one', async () => {
    const key = lab.key('henry');
    const first = labd.sshStart(key, ['whoami']);
    await op.approve(await codeIn(first), 'alice');
    assert.equal((await first.done).status, 0);
    const link = async () => {
      const r = await labd.sshAsync(key, ['keys', 'ls', '--json']);
      assert.equal(r.status, 0, r.stderr);
      return Date.parse((JSON.parse(r.stdout) as { expiresAt: string }[])[0]!.expiresAt);
    };
    const oldExpiry = await link();
    // A session open on its own connection, as the TUI or a ControlMaster would be.
    const sub = labd.sshStart(key, ['sub', 'news']);
    let ended = false;
    void sub.done.then(() => (ended = true));
    // login from another connection links the key again, for a new lifetime from now.
    const login = labd.sshStart(key, ['login']);
    const code = await codeIn(login);
    // The new link must end well after the old one (the session is checked in between): confirm the code
    // no sooner than 5 s into the first link (codes are polled every second, so the login could be quicker).
    await until('5 s into the first link', () => Date.now() >= oldExpiry - LINK_LIFETIME_MS + 5000);
    await op.approve(code, 'alice');
    const relinked = await login.done;
    assert.equal(relinked.status, 0, relinked.stderr);
    const newExpiry = await link();
    assert.ok(newExpiry > oldExpiry, 'the link lasts longer');
    assert.ok(Date.now() < oldExpiry, `the login finished before the old expiry (machine too slow): ${relinked.stderr}`);
    while (Date.now() < oldExpiry + 2000) await new Promise((r) => setTimeout(r, 200));
    assert.equal(ended, false, `the session still runs after the old expiry: ${sub.stderr()}`);
    const done = await sub.done;
    assert.equal(done.status, 1, done.stderr);
    const at = new Date(newExpiry)
      .toISOString()
      .replace(/\.\d{3}Z$/, ' UTC')
      .replace('T', ' ');
    assert.match(done.stderr, new RegExp(`your linked key expired at ${at}`), 'closed at the new expiry');
    assert.match(done.stderr, /your linked key was renewed: this session lasts until/);
    assert.match(labd.logs(), /an open connection's linked key was renewed/);
  });
});
