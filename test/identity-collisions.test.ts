/**
 * Identity collisions (issue 10 item 5), attacked with the real OpenSSH client, ssh-keygen-made
 * certificates and `ssh-keygen -Y sign`: a principal `admin` never reaches the initial admin, a
 * principal is an identity exactly as written (never merged into another), `keys add` needs proof of
 * possession, initial admin keys belong to nobody else, and a plain key never captures another user's login.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { certFor, dropCert, logSince, type KeyAndCert } from './support/auth-lab.ts';
import { KeyLab, LabdProcess, run } from './support/labd.ts';

interface Whoami {
  user: string;
  role: string;
}

function sign(key: string, message: string, namespace = 'labd-keys-add'): string {
  const r = run('ssh-keygen', ['-Y', 'sign', '-n', namespace, '-f', key], { input: message });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /-----BEGIN SSH SIGNATURE-----/);
  return r.stdout;
}

describe('identity collisions (sign-up on)', () => {
  const lab = new KeyLab();
  let labd: LabdProcess;
  let ca: string;
  let admin: string;

  const as = (k: KeyAndCert, command: string[], o: { user?: string; input?: string } = {}) => labd.ssh(k.key, command, { cert: k.cert, ...o });
  const whoami = (k: KeyAndCert, user?: string): Whoami => {
    const r = as(k, ['whoami', '--json'], { user });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as Whoami;
  };
  const challenge = (k: KeyAndCert): string => {
    const r = as(k, ['keys', 'challenge', '--json']);
    assert.equal(r.status, 0, r.stderr);
    return (JSON.parse(r.stdout) as { challenge: string }).challenge;
  };

  before(async () => {
    ca = lab.key('ca');
    admin = lab.key('admin');
    labd = await LabdProcess.start({ caKeys: [`${ca}.pub`], adminKeys: [lab.publicKey(admin)] });
  });
  after(async () => {
    await labd?.stop();
    lab.cleanup();
  });

  test('a certificate with principal admin does not log in as the initial admin', async () => {
    const forged = certFor(lab, ca, { principals: ['admin'] });
    const r = as(forged, ['whoami', '--json'], { user: 'admin' });
    assert.equal(r.status, 255, `logged in: ${r.stdout}`);
    await logSince(labd, 0, /user name 'admin' for principal 'admin' is taken by another identity/);
    // The initial admin's key still is the admin.
    const me = labd.ssh(admin, ['whoami', '--json']);
    assert.equal(me.status, 0, me.stderr);
    assert.deepEqual((JSON.parse(me.stdout) as Whoami).role, 'admin');
  });

  test('dave@evil.example is its own identity: the real dave never lands in its account', async () => {
    const evil = certFor(lab, ca, { principals: ['dave@evil.example'] });
    assert.equal(whoami(evil).user, 'dave_evil_example');
    const hidden = as(evil, ['paste', 'bait.txt', '--hidden', '--json'], { input: 'attacker paste\n' });
    assert.equal(hidden.status, 0, hidden.stderr);

    const dave = certFor(lab, ca, { principals: ['dave'] });
    assert.equal(whoami(dave, 'dave').user, 'dave');
    const mine = as(dave, ['paste', 'ls', '--all', '--json']);
    assert.equal(mine.status, 0, mine.stderr);
    assert.deepEqual(JSON.parse(mine.stdout), []);
    const secret = as(dave, ['paste', 'secret.txt', '--hidden'], { input: "dave's secret\n" });
    assert.equal(secret.status, 0, secret.stderr);
    // And the other way round: evil sees only its own paste.
    const theirs = JSON.parse(as(evil, ['paste', 'ls', '--all', '--json']).stdout) as { name: string }[];
    assert.equal(theirs.length, 1);
    assert.match(theirs[0]!.name, /bait/);

    // A principal whose name another identity holds is refused, never merged.
    const squatter = certFor(lab, ca, { principals: ['dave_evil_example'] });
    assert.equal(as(squatter, ['whoami']).status, 255);
    const upper = certFor(lab, ca, { principals: ['Dave'] });
    assert.equal(as(upper, ['whoami'], { user: 'Dave' }).status, 255);
    await logSince(labd, 0, /user name 'dave' for principal 'Dave' is taken by another identity/);
    assert.equal(whoami(dave, 'dave').user, 'dave');
  });

  test('principals named constructor, __proto__ and toString are plain names', async () => {
    for (const name of ['constructor', 'toString']) {
      const k = certFor(lab, ca, { principals: [name] });
      const r = as(k, ['whoami', '--json'], { user: name });
      assert.equal(r.status, 0, r.stderr);
      assert.equal((JSON.parse(r.stdout) as Whoami).user, name.toLowerCase());
      const flag = as(k, ['paste', 'ls', '--constructor']);
      assert.equal(flag.status, 2, flag.stderr);
      assert.match(flag.stderr, /unknown flag '--constructor'/);
    }
    // `__proto__` does not start with a letter: refused as a user name, not an internal error.
    const proto = certFor(lab, ca, { principals: ['__proto__'] });
    assert.equal(as(proto, ['whoami']).status, 255);
    await logSince(labd, 0, /principal '__proto__' does not make a valid user name/);
    assert.doesNotMatch(labd.logs(), /authentication handler failed/);
  });

  test('keys add needs proof of possession: the session key, or a signature over a labd challenge', () => {
    const mallory = certFor(lab, ca, { principals: ['mallory'] });
    const bob = certFor(lab, ca, { principals: ['bob'] });
    assert.equal(whoami(bob, 'bob').user, 'bob');
    assert.equal(whoami(mallory, 'mallory').user, 'mallory');

    // The attack: mallory registers bob's public key.
    const noProof = as(mallory, ['keys', 'add'], { input: lab.publicKey(bob.key) + '\n' });
    assert.equal(noProof.status, 3, noProof.stderr);
    assert.match(noProof.stderr, /prove you hold this key/);
    // A signature by her own key over her challenge, sent with bob's key, proves nothing about bob's key.
    const nonce = challenge(mallory);
    const wrongKey = as(mallory, ['keys', 'add'], { input: lab.publicKey(bob.key) + '\n' + sign(mallory.key, nonce) });
    assert.equal(wrongKey.status, 3, wrongKey.stderr);
    // A signature in another namespace (e.g. made for git) does not count either.
    const nonce2 = challenge(mallory);
    const otherNs = as(mallory, ['keys', 'add'], { input: lab.publicKey(mallory.key) + '\n' + sign(mallory.key, nonce2, 'git') });
    assert.equal(otherNs.status, 3, otherNs.stderr);

    // bob adds the key his certificate logged in with (no challenge needed), and a second key by signing a challenge.
    const own = as(bob, ['keys', 'add'], { input: lab.publicKey(bob.key) + '\n' });
    assert.equal(own.status, 0, own.stderr);
    const spare = lab.key('bob-spare');
    const bobNonce = challenge(bob);
    const signed = as(bob, ['keys', 'add'], { input: lab.publicKey(spare) + '\n' + sign(spare, bobNonce) });
    assert.equal(signed.status, 0, signed.stderr);
    assert.match(signed.stdout, /^added key \d+: SHA256:/);
    // The challenge is used once.
    const replay = as(bob, ['keys', 'add'], { input: lab.publicKey(lab.key('bob-third')) + '\n' + sign(spare, bobNonce) });
    assert.equal(replay.status, 3, replay.stderr);
    const plain = labd.ssh(spare, ['whoami', '--json'], { user: 'bob' });
    assert.equal(plain.status, 0, plain.stderr);
    assert.equal((JSON.parse(plain.stdout) as Whoami).user, 'bob');

    // An initial admin key is never anyone else's, even with a valid signature by that key.
    const adminNonce = challenge(mallory);
    const adminKey = as(mallory, ['keys', 'add'], { input: lab.publicKey(admin) + '\n' + sign(admin, adminNonce) });
    assert.equal(adminKey.status, 1, adminKey.stderr);
    assert.match(adminKey.stderr, /initial admin key/);
  });

  test("a plain key registered to one user does not capture another user's login", async () => {
    // Registered by an admin to mal (as if mallory had got bob2's key registered somehow).
    const bob2 = certFor(lab, ca, { principals: ['bob2'] });
    assert.equal(whoami(bob2, 'bob2').user, 'bob2');
    const add = labd.ssh(admin, ['user', 'add', 'mal', '--key', `'${lab.publicKey(bob2.key)}'`]);
    assert.equal(add.status, 0, add.stderr);
    // bob2's certificate expires: his ssh falls back to the bare key, as user bob2, and does not land in mal's account.
    dropCert(bob2);
    const fallback = labd.ssh(bob2.key, ['whoami', '--json'], { user: 'bob2' });
    assert.equal(fallback.status, 255, `logged in as ${fallback.stdout}`);
    await logSince(labd, 0, /key belongs to user 'mal', not to 'bob2'/);
    // With a user name that is no labd user, the key is its owner's, as before.
    const asOwner = labd.ssh(bob2.key, ['whoami', '--json'], { user: 'labd' });
    assert.equal(asOwner.status, 0, asOwner.stderr);
    assert.equal((JSON.parse(asOwner.stdout) as Whoami).user, 'mal');
    // user add refuses an initial admin key too.
    const adminKey = labd.ssh(admin, ['user', 'add', 'eve', '--key', `'${lab.publicKey(admin)}'`]);
    assert.equal(adminKey.status, 1, adminKey.stderr);
  });
});

describe('identity collisions (sign-up off, explicit principal map, a pre-registered admin key)', () => {
  const lab = new KeyLab();
  const dataDir = mkdtempSync(join(tmpdir(), 'labd-data-'));
  let labd: LabdProcess | undefined;
  let ca: string;
  let admin: string;

  before(() => {
    ca = lab.key('ca');
    admin = lab.key('admin');
  });
  after(async () => {
    await labd?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    lab.cleanup();
  });

  test('principal admin is refused with sign-up off; a principal mapped by config reaches the initial admin', async () => {
    labd = await LabdProcess.start({
      dataDir,
      caKeys: [`${ca}.pub`],
      adminKeys: [lab.publicKey(admin)],
      env: { LABD_CERT_SIGNUP: 'false', LABD_PRINCIPAL_USERS: 'root@corp.example=admin' },
    });
    const forged = certFor(lab, ca, { principals: ['admin'] });
    assert.equal(labd.ssh(forged.key, ['whoami'], { cert: forged.cert, user: 'admin' }).status, 255);
    const mapped = certFor(lab, ca, { principals: ['root@corp.example'] });
    const r = labd.ssh(mapped.key, ['whoami', '--json'], { cert: mapped.cert });
    assert.equal(r.status, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as Whoami).user, 'admin');
    await labd.stop();
    labd = undefined;
  });

  test("a member who pre-registered a key that becomes an initial admin key does not stop labd; the key is the admin's", async () => {
    const future = lab.key('future-admin');
    labd = await LabdProcess.start({ dataDir, caKeys: [`${ca}.pub`], adminKeys: [lab.publicKey(admin)] });
    const member = certFor(lab, ca, { principals: ['nina'] });
    const add = labd.ssh(admin, ['user', 'add', 'nina']);
    assert.equal(add.status, 0, add.stderr);
    const nonce = JSON.parse(labd.ssh(member.key, ['keys', 'challenge', '--json'], { cert: member.cert }).stdout) as { challenge: string };
    const pre = labd.ssh(member.key, ['keys', 'add'], { cert: member.cert, input: lab.publicKey(future) + '\n' + sign(future, nonce.challenge) });
    assert.equal(pre.status, 0, pre.stderr);
    await labd.stop();
    labd = await LabdProcess.start({ dataDir, caKeys: [`${ca}.pub`], adminKeys: [lab.publicKey(admin), lab.publicKey(future)] });
    const me = labd.ssh(future, ['whoami', '--json']);
    assert.equal(me.status, 0, me.stderr);
    assert.equal((JSON.parse(me.stdout) as Whoami).user, 'admin');
    const ninaKeys = JSON.parse(labd.ssh(member.key, ['keys', 'ls', '--json'], { cert: member.cert }).stdout) as unknown[];
    assert.equal(ninaKeys.length, 0);
    await logSince(labd!, 0, /an initial admin key was registered to another user: taken back/);
  });
});
