/**
 * Device-flow login (issue #14) against a real OpenID Provider (oidc-provider 9, in this process, its
 * device pages driven over HTTP like a browser) with the real OpenSSH client in a tmux pane: an unknown
 * key proves possession, labd shows the verification URL and code, the test approves (or denies, or lets
 * the code expire) at the provider, and the same ssh session goes on as the mapped user. Hand-driven
 * ssh2 attempts show that a key whose possession was not proven is never linked.
 */
import assert from 'node:assert/strict';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { jsonOf, KeyLab, LabdProcess } from './support/labd.ts';
import { TestOidcProvider } from './support/oidc-provider.ts';
import { blobOf, HandDrivenClient, signerFor } from './support/ssh2-client.ts';
import { TmuxTerminal } from './support/tmux.ts';
import { allSettled } from './support/wait.ts';

const ACCOUNTS = {
  alice: { email: 'alice@example.net', email_verified: true, preferred_username: 'alice', groups: ['lab-admins'] },
  bob: { email: 'bob@example.net', email_verified: true, preferred_username: 'bob', groups: [] },
  erin: { email: 'erin@example.net', email_verified: true, preferred_username: 'erin', groups: [] },
  dave: { email: 'dave@evil.example', email_verified: true, groups: [] },
  frank: { email: 'frank@example.net', email_verified: true, preferred_username: 'frank', groups: [] },
};

function oidcEnv(op: TestOidcProvider, extra: Record<string, string> = {}): Record<string, string> {
  return op.labdEnv({ LABD_OIDC_GROUP_ROLES: 'lab-admins=admin', ...extra });
}

describe('OIDC device-flow login: oidc-provider, OpenSSH in tmux', () => {
  const lab = new KeyLab();
  let op: TestOidcProvider;
  let shortOp: TestOidcProvider;
  let labd: LabdProcess;
  let closedLabd: LabdProcess;
  let shortLabd: LabdProcess;
  let briefLinkLabd: LabdProcess;
  let admin: string;
  const terminals: TmuxTerminal[] = [];

  before(async () => {
    admin = lab.key('admin');
    // Both providers ask for a poll every second (TestOidcProvider's pollInterval), so a confirmed,
    // denied or expired code is seen within a second of it.
    op = await TestOidcProvider.start({ accounts: ACCOUNTS });
    // Codes that expire after 3 seconds; links that last 8 (with the usual code lifetime: a 3 s code can
    // expire on a loaded machine before the test approves it).
    shortOp = await TestOidcProvider.start({ accounts: ACCOUNTS, deviceCodeTtl: 3 });
    // Four labds boot side by side; each is kept as soon as it is up, so the after hook stops it even if another failed.
    await allSettled([
      LabdProcess.start({ adminKeys: [lab.publicKey(admin)], env: oidcEnv(op, { LABD_OIDC_KEY_LIFETIME: '1h' }) }).then((l) => (labd = l)),
      LabdProcess.start({
        adminKeys: [lab.publicKey(admin)],
        env: oidcEnv(op, { LABD_SIGNUP: 'closed', LABD_OIDC_MAX_FLOWS_PER_SOURCE: '1' }),
      }).then((l) => (closedLabd = l)),
      LabdProcess.start({ adminKeys: [lab.publicKey(admin)], env: oidcEnv(shortOp) }).then((l) => (shortLabd = l)),
      LabdProcess.start({ adminKeys: [lab.publicKey(admin)], env: oidcEnv(op, { LABD_OIDC_KEY_LIFETIME: '8s' }) }).then((l) => (briefLinkLabd = l)),
    ]);
  }, 120_000);
  after(async () => {
    for (const t of terminals) t.kill();
    await Promise.all([labd?.stop(), closedLabd?.stop(), shortLabd?.stop(), briefLinkLabd?.stop()]);
    await Promise.all([op?.stop(), shortOp?.stop()]);
    lab.cleanup();
  });

  /** The OpenSSH client in a tmux pane, allowed to answer keyboard-interactive (no BatchMode). */
  function interactiveSsh(target: LabdProcess, key: string, command: string[]): TmuxTerminal {
    const args = [
      'ssh',
      '-F',
      '/dev/null',
      '-o',
      'StrictHostKeyChecking=no',
      '-o',
      'UserKnownHostsFile=/dev/null',
      '-o',
      'IdentitiesOnly=yes',
      '-o',
      'IdentityAgent=none',
      // OpenSSH prints keyboard-interactive instructions through its log: the default LogLevel (INFO) shows them.
      '-o',
      'PreferredAuthentications=publickey,keyboard-interactive',
      '-i',
      key,
      '-p',
      String(target.sshPort),
      '-T',
      'labd@127.0.0.1',
      '--',
      ...command,
    ];
    const t = TmuxTerminal.start(args, { cols: 120, rows: 80, env: { LANG: 'C.UTF-8' } });
    terminals.push(t);
    return t;
  }

  async function codeOn(t: TmuxTerminal): Promise<string> {
    const lines = await t.waitFor(/code\s+[A-Z]{4}-[A-Z]{4}/, 'the device code');
    return /code\s+([A-Z]{4}-[A-Z]{4})/.exec(lines.join('\n'))![1]!;
  }

  test('an unknown key proves possession, the code is approved at the IdP, and the same session goes on as the mapped user with its group role', async () => {
    const key = lab.key('alice');
    const t = interactiveSsh(labd, key, ['whoami']);
    const code = await codeOn(t);
    // The QR code comes in the next info requests, after the code: wait for it rather than read the screen once.
    const screen = (await t.waitFor(/^#{20,}$/m, 'a QR code (ASCII: OpenSSH escapes anything else)')).join('\n');
    assert.match(screen, new RegExp(`open\\s+${op.issuer.replace(/[.]/g, '\\.')}/device`), 'the verification URL is shown');
    await op.approve(code, 'alice');
    await t.waitFor(/Logged in as alice \(admin\), a new account/, 'the login message');
    // whoami ran in the same ssh session: the mapped user, with the role its IdP group grants.
    const lines = await t.waitFor(/role:\s+admin/, 'whoami');
    assert.match(lines.join('\n'), /user:\s+alice/);
    assert.equal(await t.waitForExit(), 0, await t.text());

    // The key now logs in by itself (no keyboard-interactive: BatchMode) until its link expires.
    const who = jsonOf<{ user: string; role: string; credential: { kind: string } }>(labd.ssh(key, ['whoami', '--json']));
    assert.deepEqual([who.user, who.role, who.credential.kind], ['alice', 'admin', 'key']);
    const keys = jsonOf<{ fingerprint: string; source: string; expiresAt: string; claims: { sub: string; email: string; groups: string[] } }[]>(
      labd.ssh(key, ['keys', 'ls', '--json']),
    );
    assert.equal(keys.length, 1);
    assert.equal(keys[0]!.source, 'oidc');
    assert.ok(Date.parse(keys[0]!.expiresAt) > Date.now() + 30 * 60_000, 'linked for keyLifetime (1h)');
    assert.deepEqual(keys[0]!.claims, { issuer: op.issuer, sub: 'alice', email: 'alice@example.net', preferredUsername: 'alice', groups: ['lab-admins'] });
    const table = labd.ssh(key, ['keys', 'ls']);
    assert.match(table.stdout, /LINKED UNTIL/);
    assert.match(table.stdout, /alice \(sub alice; groups lab-admins\)/);

    const row = labd.auditRows(admin).find((r) => r.command === 'oidc link' && r.actor === 'alice');
    assert.ok(row, 'the link is audited');
    assert.equal(row.outcome, 'ok');
    const args = JSON.parse(row.args) as Record<string, unknown>;
    assert.equal(args.sub, 'alice');
    assert.equal(args.created, true);
    assert.deepEqual(args.groups, ['lab-admins']);
    assert.equal(args.key, keys[0]!.fingerprint);
  });

  test('a denied code ends the attempt with a clear message, and the key stays unlinked', async () => {
    const key = lab.key('bob');
    const t = interactiveSsh(labd, key, ['whoami']);
    await op.deny(await codeOn(t));
    await t.waitFor(/login failed: the login was denied at the identity provider/, 'the refusal');
    assert.notEqual(await t.waitForExit(), 0);
    assert.equal(labd.ssh(key, ['whoami']).status, 255, 'the key does not log in');
  });

  test('a key whose possession was not proven is never linked: an unsigned query, or a signature by another key, then keyboard-interactive', async () => {
    const mallory = lab.key('mallory');
    const other = lab.key('mallory-other');
    const { algo, blob } = blobOf(`${mallory}.pub`);
    const before = labd.logs().length;

    const c1 = await HandDrivenClient.connect(labd.sshPort);
    assert.equal(await c1.query('labd', algo, blob), 'pk-ok', 'an unknown key is asked to sign');
    assert.equal(await c1.keyboardInteractive('labd'), 'failure', 'no device flow without a signature');
    c1.close();

    const c2 = await HandDrivenClient.connect(labd.sshPort);
    assert.equal(await c2.signed('labd', algo, blob, signerFor(other, 'ssh-ed25519')), 'failure', "another key's signature proves nothing");
    assert.equal(await c2.keyboardInteractive('labd'), 'failure', 'no device flow after a bad signature');
    c2.close();

    const logs = labd.logs().slice(before);
    assert.doesNotMatch(logs, /OIDC device flow started/);
    assert.doesNotMatch(logs, /key linked by OIDC login/);
  });

  test('login in a session links its key again, for a new lifetime, and is audited', async () => {
    const key = lab.key('frank');
    const t = interactiveSsh(labd, key, ['whoami']);
    await op.approve(await codeOn(t), 'frank');
    assert.equal(await t.waitForExit(), 0, await t.text());
    const [first] = jsonOf<{ expiresAt: string }[]>(labd.ssh(key, ['keys', 'ls', '--json']));

    const running = labd.sshStart(key, ['login']);
    const deadline = Date.now() + 30_000;
    while (!/code\s+[A-Z]{4}-[A-Z]{4}/.test(running.stderr()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const code = /code\s+([A-Z]{4}-[A-Z]{4})/.exec(running.stderr())?.[1];
    assert.ok(code, running.stderr());
    await op.approve(code, 'frank');
    const done = await running.done;
    assert.equal(done.status, 0, done.stderr);
    assert.match(done.stdout, /is linked to frank \(member\) until/);
    const [second] = jsonOf<{ expiresAt: string }[]>(labd.ssh(key, ['keys', 'ls', '--json']));
    assert.ok(Date.parse(second!.expiresAt) > Date.parse(first!.expiresAt), 'the link lasts longer');
    const rows = labd.auditRows(admin);
    assert.ok(rows.some((r) => r.command === 'login' && r.actor === 'frank' && r.outcome === 'ok'));
    assert.ok(rows.some((r) => r.command === 'oidc link' && r.actor === 'frank' && (JSON.parse(r.args) as { link: string }).link === 'extended'));
  });

  test('login approved by another identity, linked to another account, is refused: the key is not moved (issue #24 item 7)', async () => {
    const erinKey = lab.key('erin-a');
    const bobKey = lab.key('bob-b');
    for (const [key, sub] of [
      [erinKey, 'erin'],
      [bobKey, 'bob'],
    ] as const) {
      const t = interactiveSsh(labd, key, ['whoami']);
      await op.approve(await codeOn(t), sub);
      assert.equal(await t.waitForExit(), 0, await t.text());
    }
    const running = labd.sshStart(bobKey, ['login']);
    const deadline = Date.now() + 30_000;
    while (!/code\s+[A-Z]{4}-[A-Z]{4}/.test(running.stderr()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const code = /code\s+([A-Z]{4}-[A-Z]{4})/.exec(running.stderr())?.[1];
    assert.ok(code, running.stderr());
    assert.match(running.stderr(), /links the identity you approve with to the labd account 'bob'/);
    await op.approve(code, 'erin');
    const done = await running.done;
    assert.equal(done.status, 3, done.stderr);
    assert.match(done.stderr, /'erin' is linked to the labd account 'erin', not to yours \('bob'\)/);
    const who = jsonOf<{ user: string }>(labd.ssh(bobKey, ['whoami', '--json']));
    assert.equal(who.user, 'bob');
    const row = labd
      .auditRows(admin)
      .find((r) => r.command === 'oidc link' && r.outcome === 'permission' && /linked to the labd account 'erin'/.test(r.error ?? ''));
    assert.ok(row, 'the refusal is audited');
  });

  test('a name derived from an email is exact: dave@evil.example becomes dave_evil_example, never dave', async () => {
    const key = lab.key('dave');
    const t = interactiveSsh(labd, key, ['whoami']);
    await op.approve(await codeOn(t), 'dave');
    await t.waitFor(/user:\s+dave_evil_example/, 'whoami');
    assert.equal(await t.waitForExit(), 0, await t.text());
  });

  test('sign-up closed: an approved login for a new account is refused with the policy’s reason, and audited', async () => {
    const key = lab.key('erin');
    const t = interactiveSsh(closedLabd, key, ['whoami']);
    await op.approve(await codeOn(t), 'erin');
    await t.waitFor(/login refused: sign-up is closed on this lab/, 'the refusal');
    assert.notEqual(await t.waitForExit(), 0);
    assert.equal(closedLabd.ssh(key, ['whoami']).status, 255);
    const row = closedLabd.auditRows(admin).find((r) => r.command === 'oidc link');
    assert.ok(row);
    assert.equal(row.outcome, 'permission');
    assert.match(row.error ?? '', /sign-up is closed/);
  });

  test('device flows waiting at once are bounded per source: one more is refused with a clear message', async () => {
    const start = async (name: string) => {
      const key = lab.key(name);
      const { algo, blob } = blobOf(`${key}.pub`);
      const c = await HandDrivenClient.connect(closedLabd.sshPort);
      assert.equal(await c.signed('labd', algo, blob, signerFor(key, 'ssh-ed25519')), 'failure', 'partial success: keyboard-interactive next');
      assert.equal(await c.keyboardInteractive('labd'), 'info-request');
      return c;
    };
    const first = await start('flood1');
    assert.match(first.infoRequests[0]!.instructions, /code\s+[A-Z]{4}-[A-Z]{4}/, 'the first flow shows its code');
    const second = await start('flood2');
    assert.match(second.infoRequests[0]!.instructions, /too many logins are waiting for the identity provider/);
    assert.doesNotMatch(second.infoRequests[0]!.instructions, /code\s+[A-Z]{4}-[A-Z]{4}/);
    second.close();
    first.close();
    await Promise.all([first.closed, second.closed]);
  });

  test('an expired code ends the attempt with a clear message', async () => {
    const key = lab.key('late');
    const t = interactiveSsh(shortLabd, key, ['whoami']);
    await codeOn(t);
    await t.waitFor(/login failed: the code expired/, 'the expiry message');
    assert.notEqual(await t.waitForExit(), 0);
    assert.equal(shortLabd.ssh(key, ['whoami']).status, 255);
  });

  test('a linked key stops working after its lifetime, and its open session is closed', async () => {
    const key = lab.key('bob2');
    // The session that logs in runs `sub` right away: the link's 8 s start at the approval, and a
    // second connection made afterwards could come too late on a loaded machine.
    const t = interactiveSsh(briefLinkLabd, key, ['sub', 'news']);
    await op.approve(await codeOn(t), 'bob');
    const linked = await t.waitFor(/linked until (\S+?)\.?$/m, 'the login message');
    const expiresAt = Date.parse(/linked until (\S+?)\.?$/m.exec(linked.join('\n'))![1]!);
    assert.ok(Number.isFinite(expiresAt), linked.join('\n'));
    // A session open when the link expires ends with it: labd says why and ends it (exit 1).
    await t.waitFor(/labd: your linked key expires at .*this session closes then/, 'the warning before the link expires');
    assert.equal(await t.waitForExit(), 1, await t.text());
    assert.ok(Date.now() >= expiresAt - 1000, 'not before the link expired');
    while (Date.now() < expiresAt + 500) await new Promise((r) => setTimeout(r, 200));
    const r = briefLinkLabd.ssh(key, ['whoami']);
    assert.equal(r.status, 255, 'an expired link no longer authenticates');
    assert.match(briefLinkLabd.logs(), /link \(OIDC login\) expired|unknown key proved possession/);
  });
});
