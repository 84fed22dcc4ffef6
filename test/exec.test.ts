import assert from 'node:assert/strict';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { KeyLab, run } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';

describe('ssh exec front-end', () => {
  const lab = new KeyLab();
  let labd: InProcessLabd;
  let admin: string;
  let member: string;

  before(async () => {
    admin = lab.key('admin');
    member = lab.key('member');
    labd = await InProcessLabd.start({ adminKeys: [lab.publicKey(admin)] });
    const r = await labd.ssh(admin, ['user', 'add', 'mia', '--role', 'member', '--key', `'${lab.publicKey(member)}'`]);
    assert.equal(r.status, 0, r.stderr);
  });
  after(async () => {
    await labd.stop();
    lab.cleanup();
  });

  test('whoami --json prints one JSON document and nothing else', async () => {
    const r = await labd.ssh(admin, ['whoami', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.user, 'admin');
    assert.equal(doc.role, 'admin');
    assert.equal(doc.credential.kind, 'key');
  });

  test('an unknown command exits 2 with one line on stderr', async () => {
    const r = await labd.ssh(admin, ['frobnicate']);
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^error: unknown command 'frobnicate'/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  });

  test('a member calling an admin command exits 3', async () => {
    const r = await labd.ssh(member, ['user', 'ls']);
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stderr, /permission denied/);
  });

  test('a member sees only the commands they may run in help', async () => {
    const r = await labd.ssh(member, ['help']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /whoami/);
    assert.doesNotMatch(r.stdout, /user ls/);
  });

  test('--help prints usage and exits 0', async () => {
    const r = await labd.ssh(admin, ['user', 'add', '--help']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^usage: user add NAME/);
    assert.match(r.stdout, /--role ROLE/);
  });

  test('bad arguments exit 2', async () => {
    // Roles are live data now (role create): an unknown one is not found (4), not a malformed argument.
    assert.equal((await labd.ssh(admin, ['user', 'role', 'mia', 'emperor'])).status, 4);
    assert.equal((await labd.ssh(admin, ['user', 'add'])).status, 2);
    assert.equal((await labd.ssh(admin, ['whoami', '--nope'])).status, 2);
    assert.equal((await labd.ssh(admin, ['user', 'add', "'Bad Name'"])).status, 2);
  });

  test('not found exits 4', async () => {
    const r = await labd.ssh(admin, ['user', 'role', 'nobody', 'guest']);
    assert.equal(r.status, 4);
    assert.match(r.stderr, /no user 'nobody'/);
  });

  test('destructive commands need --yes', async () => {
    await labd.ssh(admin, ['user', 'add', 'tmp1']);
    const r = await labd.ssh(admin, ['user', 'rm', 'tmp1']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--yes/);
    assert.equal((await labd.ssh(admin, ['user', 'rm', 'tmp1', '--yes'])).status, 0);
    assert.equal((await labd.ssh(admin, ['user', 'role', 'tmp1', 'guest'])).status, 4);
  });

  /** The member's proof of holding `key`: labd's challenge signed with ssh-keygen -Y sign. */
  const proof = async (key: string): Promise<string> => {
    const challenge = (JSON.parse((await labd.ssh(member, ['keys', 'challenge', '--json'])).stdout) as { challenge: string }).challenge;
    const sig = run('ssh-keygen', ['-Y', 'sign', '-n', 'labd-keys-add', '-f', key], { input: challenge });
    assert.equal(sig.status, 0, sig.stderr);
    return sig.stdout;
  };

  test('keys add reads a key from stdin; the new key logs in; keys rm removes it', async () => {
    const extra = lab.key('extra', 'ecdsa');
    const add = await labd.ssh(member, ['keys', 'add'], { input: lab.publicKey(extra) + '\n' + (await proof(extra)) });
    assert.equal(add.status, 0, add.stderr);
    assert.equal((await labd.ssh(extra, ['whoami'])).status, 0);
    const ls = JSON.parse((await labd.ssh(member, ['keys', 'ls', '--json'])).stdout) as { id: number; algo: string }[];
    const ecdsa = ls.find((k) => k.algo === 'ecdsa-sha2-nistp256');
    assert.ok(ecdsa);
    assert.equal((await labd.ssh(member, ['keys', 'rm', String(ecdsa.id), '--yes'])).status, 0);
    assert.equal((await labd.ssh(extra, ['whoami'])).status, 255);
  });

  test('keys add refuses junk and oversized input', async () => {
    const junk = await labd.ssh(member, ['keys', 'add'], { input: 'ssh-ed25519 not-base64!!\n' });
    assert.equal(junk.status, 2);
    const big = await labd.ssh(member, ['keys', 'add'], { input: 'x'.repeat(100_000) });
    assert.equal(big.status, 2);
    assert.match(big.stderr, /too large/);
  });

  test("keys add --user: an admin vouches for another user's key (audited as such); a member may not", async () => {
    const laptop = lab.key('mia-laptop');
    const refused = await labd.ssh(member, ['keys', 'add', '--user', 'admin'], { input: lab.publicKey(lab.key('sneaky')) });
    assert.equal(refused.status, 3);
    assert.match(refused.stderr, /^error: permission denied: 'keys add --user' needs admin\.users/);
    const added = await labd.ssh(admin, ['keys', 'add', '--user', 'mia', '--json'], { input: lab.publicKey(laptop) });
    assert.equal(added.status, 0, added.stderr);
    assert.equal(JSON.parse(added.stdout).vouchedBy, 'admin');
    // The vouched key logs in as mia.
    assert.match((await labd.ssh(laptop, ['whoami'])).stdout, /^user: +mia$/m);
    const rows = JSON.parse((await labd.ssh(admin, ['audit', '--json'])).stdout) as { actor: string; command: string; outcome: string; args: string }[];
    assert.ok(
      rows.some((r) => r.actor === 'admin' && r.command === 'keys add' && r.outcome === 'ok' && (JSON.parse(r.args) as { user?: string }).user === 'mia'),
    );
    assert.ok(rows.some((r) => r.actor === 'mia' && r.command === 'keys add' && r.outcome === 'permission'));
  });

  test('mutating commands are audited with who, how and the outcome', async () => {
    await labd.ssh(member, ['user', 'add', 'eve']);
    const rows = JSON.parse((await labd.ssh(admin, ['audit', '--json'])).stdout) as {
      actor: string;
      command: string;
      outcome: string;
      via: string;
      credential: string;
    }[];
    const denied = rows.find((r) => r.actor === 'mia' && r.command === 'user add');
    assert.ok(denied, 'denied attempt audited');
    assert.equal(denied.outcome, 'permission');
    const created = rows.find((r) => r.actor === 'admin' && r.command === 'user add' && r.outcome === 'ok');
    assert.ok(created);
    assert.equal(created.via, 'ssh');
    assert.match(created.credential, /^key SHA256:/);
  });

  test('control characters in data never reach the terminal', async () => {
    const esc = lab.key('esc');
    const r = await labd.ssh(member, ['keys', 'add', '--comment', "$'\\e[31mred'"], { input: lab.publicKey(esc) + '\n' + (await proof(esc)) });
    assert.equal(r.status, 0, r.stderr);
    const ls = await labd.ssh(member, ['keys', 'ls']);
    assert.doesNotMatch(ls.stdout, /\x1b/);
  });
});
