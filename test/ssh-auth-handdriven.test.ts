/**
 * Authentication attacks the OpenSSH client will not make, sent by a hand-driven ssh2 client:
 * a forged certificate, an unsigned query for one key followed by a signature from another,
 * signatures that do not match the requested algorithm, a host certificate.
 */
import assert from 'node:assert/strict';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { certFor, logMark, logSince } from './support/auth-lab.ts';
import { KeyLab, run } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';
import { blobOf, HandDrivenClient, signerFor } from './support/ssh2-client.ts';

function sshString(value: Buffer | string): Buffer {
  const b = typeof value === 'string' ? Buffer.from(value) : value;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

/**
 * Rewrites the principals of an ed25519 user certificate and leaves the CA signature as it
 * was: what an attacker holding a valid certificate for themselves could make.
 */
function forgePrincipals(cert: Buffer, principals: string[]): Buffer {
  let off = 0;
  const skipString = () => (off += 4 + cert.readUInt32BE(off));
  skipString(); // certificate type
  skipString(); // nonce
  skipString(); // ed25519 public key
  off += 8 + 4; // serial, type
  skipString(); // key id
  const start = off;
  skipString();
  return Buffer.concat([cert.subarray(0, start), sshString(Buffer.concat(principals.map((p) => sshString(p)))), cert.subarray(off)]);
}

/** Sets an ed25519 certificate's validity window and signs it again with the CA: what a careless or hostile CA could issue. */
function resignValidity(cert: Buffer, caKey: string, validAfter: bigint, validBefore: bigint): Buffer {
  let off = 0;
  const skipString = () => (off += 4 + cert.readUInt32BE(off));
  skipString(); // certificate type
  skipString(); // nonce
  skipString(); // ed25519 public key
  off += 8 + 4; // serial, type
  skipString(); // key id
  skipString(); // principals
  const validAt = off;
  off += 16;
  for (let i = 0; i < 4; i++) skipString(); // critical options, extensions, reserved, CA key
  const signed = Buffer.from(cert.subarray(0, off));
  signed.writeBigUInt64BE(validAfter, validAt);
  signed.writeBigUInt64BE(validBefore, validAt + 8);
  return Buffer.concat([signed, sshString(signerFor(caKey, 'ssh-ed25519')(signed))]);
}

interface Whoami {
  user: string;
  role: string;
  credential: { kind: string; fingerprint?: string; principal?: string };
}

describe('hand-driven ssh2 client against labd authentication', () => {
  const lab = new KeyLab();
  let labd: InProcessLabd;
  let ca: string;
  let admin: string;
  let mia: string;
  const open: HandDrivenClient[] = [];

  /** ssh2 (like sshd) ends a connection whose requests change the user name, so each keeps one. */
  const connect = async (user = 'labd') => {
    const c = await HandDrivenClient.connect(labd.sshPort, user);
    open.push(c);
    return c;
  };
  const whoami = async (c: HandDrivenClient): Promise<Whoami> => {
    const r = await c.exec('whoami --json');
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as Whoami;
  };

  before(async () => {
    ca = lab.key('ca');
    admin = lab.key('admin');
    mia = lab.key('mia');
    labd = await InProcessLabd.start({ adminKeys: [lab.publicKey(admin)], caKeys: [`${ca}.pub`] });
    const r = await labd.ssh(admin, ['user', 'add', 'mia', '--role', 'member', '--key', `'${lab.publicKey(mia)}'`]);
    assert.equal(r.status, 0, r.stderr);
  });
  after(async () => {
    for (const c of open) c.close();
    await labd.stop();
    lab.cleanup();
  });

  test('a genuine certificate sent by hand logs in (the helper works)', async () => {
    const k = certFor(lab, ca, { principals: ['mallory'] });
    const { algo, blob } = blobOf(k.cert);
    const c = await connect();
    assert.equal(await c.query('labd', algo, blob), 'pk-ok');
    assert.equal(await c.signed('labd', algo, blob, signerFor(k.key, 'ssh-ed25519')), 'success');
    assert.equal((await whoami(c)).user, 'mallory');
  });

  test('a forged certificate (principal changed to admin, CA signature broken) is refused', async () => {
    const k = certFor(lab, ca, { principals: ['mallory2'] });
    const { algo, blob } = blobOf(k.cert);
    const forged = forgePrincipals(blob, ['admin']);
    assert.notDeepEqual(forged, blob);
    const c = await connect();
    const mark = logMark(labd);
    assert.equal(await c.query('labd', algo, forged), 'failure');
    assert.match(await logSince(labd, mark, /refused publickey/), /CA signature does not verify/);
    assert.equal(await c.signed('labd', algo, forged, signerFor(k.key, 'ssh-ed25519')), 'failure');
    // The same connection still logs in with the genuine certificate, as its own principal.
    assert.equal(await c.signed('labd', algo, blob, signerFor(k.key, 'ssh-ed25519')), 'success');
    const me = await whoami(c);
    assert.equal(me.user, 'mallory2');
    assert.equal(me.role, 'member');
  });

  test("an unsigned query for the admin's key binds nobody: the signing key's user logs in", async () => {
    const adminPub = blobOf(`${admin}.pub`);
    const miaPub = blobOf(`${mia}.pub`);
    // As user `labd` (no labd user): with the SSH user `admin`, mia's key is refused outright (identity-collisions test).
    const c = await connect('labd');
    assert.equal(await c.query('labd', adminPub.algo, adminPub.blob), 'pk-ok', "labd says the admin's key would be acceptable");
    assert.equal(await c.signed('labd', miaPub.algo, miaPub.blob, signerFor(mia, 'ssh-ed25519')), 'success');
    const me = await whoami(c);
    assert.equal(me.user, 'mia');
    assert.equal(me.role, 'member');
    assert.equal(me.credential.kind, 'key');
  });

  test("a signature by another key over the admin's key blob is refused", async () => {
    const adminPub = blobOf(`${admin}.pub`);
    const c = await connect('admin');
    assert.equal(await c.query('admin', adminPub.algo, adminPub.blob), 'pk-ok');
    const mark = logMark(labd);
    assert.equal(await c.signed('admin', adminPub.algo, adminPub.blob, signerFor(mia, 'ssh-ed25519')), 'failure');
    assert.match(await logSince(labd, mark, /refused publickey/), /signature does not verify/);
  });

  test("the attacker's own key queried first, then the admin's blob signed by it: refused (the key parsed for the query is not reused for another blob)", async () => {
    const adminPub = blobOf(`${admin}.pub`);
    const miaPub = blobOf(`${mia}.pub`);
    const c = await connect('admin');
    assert.equal(await c.query('admin', miaPub.algo, miaPub.blob), 'failure', "mia's key does not log in as admin");
    const mark = logMark(labd);
    assert.equal(await c.signed('admin', adminPub.algo, adminPub.blob, signerFor(mia, 'ssh-ed25519')), 'failure');
    assert.match(await logSince(labd, mark, /refused publickey/), /signature does not verify/);
  });

  test('an unsigned query for an admin certificate binds nobody either', async () => {
    const adminCert = certFor(lab, ca, { principals: ['admin'] });
    const certPub = blobOf(adminCert.cert);
    const miaPub = blobOf(`${mia}.pub`);
    const c = await connect('labd');
    assert.equal(await c.query('labd', certPub.algo, certPub.blob), 'pk-ok');
    assert.equal(await c.signed('labd', miaPub.algo, miaPub.blob, signerFor(mia, 'ssh-ed25519')), 'success');
    assert.equal((await whoami(c)).user, 'mia');
  });

  test("an unknown key that signs after the admin's key was queried is refused", async () => {
    const stranger = lab.key('stranger');
    const adminPub = blobOf(`${admin}.pub`);
    const strangerPub = blobOf(`${stranger}.pub`);
    const c = await connect('admin');
    assert.equal(await c.query('admin', adminPub.algo, adminPub.blob), 'pk-ok');
    assert.equal(await c.signed('admin', strangerPub.algo, strangerPub.blob, signerFor(stranger, 'ssh-ed25519')), 'failure');
  });

  test("a certificate signed for by a key other than the certificate's own is refused", async () => {
    const k = certFor(lab, ca, { principals: ['borrowed'] });
    const { algo, blob } = blobOf(k.cert);
    const c = await connect();
    const mark = logMark(labd);
    assert.equal(await c.signed('labd', algo, blob, signerFor(mia, 'ssh-ed25519')), 'failure');
    assert.match(await logSince(labd, mark, /refused publickey/), /user signature does not verify/);
  });

  test('an RSA certificate whose signature does not match the requested algorithm is refused', async () => {
    const k = certFor(lab, ca, { type: 'rsa', principals: ['rsauser'] });
    const { blob } = blobOf(k.cert);
    const c = await connect();
    assert.equal(await c.signed('labd', 'rsa-sha2-512-cert-v01@openssh.com', blob, signerFor(k.key, 'rsa-sha2-256')), 'failure');
    assert.equal(await c.query('labd', 'ssh-rsa-cert-v01@openssh.com', blob), 'failure', 'SHA-1 ssh-rsa certificates are refused');
    assert.equal(await c.signed('labd', 'rsa-sha2-512-cert-v01@openssh.com', blob, signerFor(k.key, 'rsa-sha2-512')), 'success');
    assert.equal((await whoami(c)).user, 'rsauser');
  });

  test('an ECDSA certificate signed by hand logs in (SSH-framed ECDSA signature)', async () => {
    const k = certFor(lab, ca, { type: 'ecdsa', principals: ['ecuser'] });
    const { algo, blob } = blobOf(k.cert);
    const c = await connect();
    assert.equal(await c.signed('labd', algo, blob, signerFor(k.key, 'ecdsa-sha2-nistp256')), 'success');
    assert.equal((await whoami(c)).user, 'ecuser');
  });

  test('a plain key offered under another algorithm name is refused, even on the query', async () => {
    const miaPub = blobOf(`${mia}.pub`);
    const c = await connect();
    const mark = logMark(labd);
    assert.equal(await c.query('labd', 'ecdsa-sha2-nistp256', miaPub.blob), 'failure');
    assert.match(await logSince(labd, mark, /refused publickey/), /algorithm ecdsa-sha2-nistp256 does not match the key \(ssh-ed25519\)/);
    assert.equal(await c.query('labd', miaPub.algo, miaPub.blob), 'pk-ok');
  });

  test('a registered RSA key is acceptable for rsa-sha2-256/512 only, not SHA-1 ssh-rsa', async () => {
    const rsa = lab.key('admin-rsa', 'rsa');
    const challenge = (JSON.parse((await labd.ssh(admin, ['keys', 'challenge', '--json'])).stdout) as { challenge: string }).challenge;
    const sig = run('ssh-keygen', ['-Y', 'sign', '-n', 'labd-keys-add', '-f', rsa], { input: challenge });
    assert.equal((await labd.ssh(admin, ['keys', 'add'], { input: lab.publicKey(rsa) + '\n' + sig.stdout })).status, 0);
    const { blob } = blobOf(`${rsa}.pub`);
    const c = await connect();
    assert.equal(await c.query('labd', 'ssh-rsa', blob), 'failure');
    assert.equal(await c.query('labd', 'rsa-sha2-256', blob), 'pk-ok');
    assert.equal(await c.signed('labd', 'rsa-sha2-256', blob, signerFor(rsa, 'rsa-sha2-512')), 'failure', 'the signature must be the algorithm asked for');
    assert.equal(await c.signed('labd', 'rsa-sha2-512', blob, signerFor(rsa, 'rsa-sha2-512')), 'success');
    assert.equal((await whoami(c)).user, 'admin');
  });

  test('a certificate whose validity window is inverted is refused, though both ends are within the clock skew', async () => {
    const k = certFor(lab, ca, { principals: ['inverted'] });
    const { algo, blob } = blobOf(k.cert);
    const now = BigInt(Math.floor(Date.now() / 1000));
    const c = await connect();
    // The helper's re-signed certificates are good when the window is the right way round.
    const fine = resignValidity(blob, ca, now - 10n, now + 300n);
    assert.equal(await c.query('labd', algo, fine), 'pk-ok');
    const inverted = resignValidity(blob, ca, now + 20n, now - 10n);
    const mark = logMark(labd);
    assert.equal(await c.signed('labd', algo, inverted, signerFor(k.key, 'ssh-ed25519')), 'failure');
    assert.match(await logSince(labd, mark, /refused publickey/), /validity window is empty or inverted/);
  });

  test('a host certificate is refused (OpenSSH will not even offer one)', async () => {
    const k = certFor(lab, ca, { principals: ['hosty'], host: true });
    const { algo, blob } = blobOf(k.cert);
    const c = await connect();
    const mark = logMark(labd);
    assert.equal(await c.signed('labd', algo, blob, signerFor(k.key, 'ssh-ed25519')), 'failure');
    assert.match(await logSince(labd, mark, /refused publickey/), /not a user certificate/);
  });
});
