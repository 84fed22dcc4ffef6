/**
 * The certificate parser and checker against certificates made by `ssh-keygen -s`, and the
 * same certificates with bytes changed.
 */
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { afterAll as after, describe, test } from 'vitest';
import { parseCertificate } from '../src/core/sshwire/cert.ts';
import { parsePublicKeyBlob, parsePublicKeyLine } from '../src/core/sshwire/keys.ts';
import { checkUserCertificate, sourceAddressAllows, type CertPolicy } from '../src/ssh/cert-check.ts';
import { certFor } from './support/auth-lab.ts';
import { KeyLab } from './support/labd.ts';
import { blobOf, signerFor } from './support/ssh2-client.ts';

function sshString(value: Buffer | string): Buffer {
  const b = typeof value === 'string' ? Buffer.from(value) : value;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

/** Offsets of the fields of an ed25519 certificate, to change them in place. */
function ed25519CertFields(cert: Buffer) {
  let off = 0;
  const str = () => {
    const start = off;
    off += 4 + cert.readUInt32BE(off);
    return { start, end: off };
  };
  const type = str();
  const nonce = str();
  const key = str();
  const serialAt = off;
  off += 12;
  const keyId = str();
  const principals = str();
  const validAt = off;
  off += 16;
  const critical = str();
  const extensions = str();
  const reserved = str();
  const caKey = str();
  const signature = str();
  return { type, nonce, key, serialAt, keyId, principals, validAt, critical, extensions, reserved, caKey, signature };
}

function replaceField(cert: Buffer, field: { start: number; end: number }, content: Buffer): Buffer {
  return Buffer.concat([cert.subarray(0, field.start), sshString(content), cert.subarray(field.end)]);
}

describe('certificate parser and checker', () => {
  const lab = new KeyLab();
  const ca = lab.key('ca');
  const otherCa = lab.key('other-ca');
  const policy: CertPolicy = {
    trustedCaBlobs: [blobOf(`${ca}.pub`).blob, blobOf(`${otherCa}.pub`).blob],
    clockSkewSeconds: 60,
    revokedSerials: new Set(),
    revokedKeyIds: new Set(),
  };
  const now = new Date();
  const check = (blob: Buffer, o: { algo?: string; at?: Date; ip?: string; policy?: Partial<CertPolicy>; signer?: (d: Buffer) => Buffer } = {}) => {
    const data = Buffer.from('session id and request');
    return checkUserCertificate(
      { ...policy, ...o.policy },
      {
        blob,
        requestedAlgo: o.algo ?? 'ssh-ed25519-cert-v01@openssh.com',
        remoteIp: o.ip ?? '127.0.0.1',
        now: o.at ?? now,
        signedData: o.signer ? data : undefined,
        userSignature: o.signer?.(data),
      },
    );
  };
  const reasonOf = (r: ReturnType<typeof check>) => (r.ok ? 'ok' : r.reason);
  after(() => lab.cleanup());

  test('parses what ssh-keygen wrote', () => {
    const k = certFor(lab, ca, { principals: ['ann', 'ann@example.com'], id: 'ann@example.com', serial: 77, options: ['force-command=whoami', 'no-pty'] });
    const cert = parseCertificate(blobOf(k.cert).blob);
    assert.equal(cert.certType, 'ssh-ed25519-cert-v01@openssh.com');
    assert.equal(cert.type, 'user');
    assert.equal(cert.keyId, 'ann@example.com');
    assert.equal(cert.serial, 77n);
    assert.deepEqual(cert.principals, ['ann', 'ann@example.com']);
    assert.deepEqual([...cert.criticalOptions.keys()], ['force-command']);
    assert.ok(!cert.extensions.has('permit-pty'));
    assert.ok(cert.extensions.has('permit-port-forwarding'));
    assert.equal(cert.validBefore - cert.validAfter, 61n * 60n);
  });

  test('a genuine certificate with the right user signature passes; grants follow its options', () => {
    const k = certFor(lab, ca, { principals: ['ann'], options: ['force-command=whoami --json', 'no-pty'] });
    const r = check(blobOf(k.cert).blob, { signer: signerFor(k.key, 'ssh-ed25519') });
    assert.ok(r.ok, reasonOf(r));
    assert.equal(r.grant.forceCommand, 'whoami --json');
    assert.equal(r.grant.permitPty, false);
  });

  test('a signature by another key than the one in the certificate fails', () => {
    const k = certFor(lab, ca, { principals: ['ann'] });
    assert.equal(reasonOf(check(blobOf(k.cert).blob, { signer: signerFor(otherCa, 'ssh-ed25519') })), 'user signature does not verify');
  });

  test('trailing or missing bytes make the certificate malformed', () => {
    const blob = blobOf(certFor(lab, ca, { principals: ['ann'] }).cert).blob;
    assert.match(reasonOf(check(Buffer.concat([blob, Buffer.from([0])]))), /^malformed certificate: trailing bytes/);
    assert.match(reasonOf(check(blob.subarray(0, blob.length - 1))), /^malformed certificate: truncated/);
  });

  test('any changed signed byte breaks the CA signature', () => {
    const blob = blobOf(certFor(lab, ca, { principals: ['ann'], serial: 5 }).cert).blob;
    const f = ed25519CertFields(blob);
    const serial = Buffer.from(blob);
    serial[f.serialAt + 7] = 6;
    assert.equal(reasonOf(check(serial)), 'CA signature does not verify');
    const validity = Buffer.from(blob);
    validity.writeBigUInt64BE(validity.readBigUInt64BE(f.validAt + 8) + 3600n, f.validAt + 8);
    assert.equal(reasonOf(check(validity)), 'CA signature does not verify');
    const principals = replaceField(blob, f.principals, sshString('admin'));
    assert.equal(reasonOf(check(principals)), 'CA signature does not verify');
    const sig = Buffer.from(blob);
    sig.writeUInt8(sig.readUInt8(sig.length - 1) ^ 1, sig.length - 1);
    assert.equal(reasonOf(check(sig)), 'CA signature does not verify');
  });

  test('extensions out of lexical order are malformed', () => {
    const blob = blobOf(certFor(lab, ca, { principals: ['ann'] }).cert).blob;
    const f = ed25519CertFields(blob);
    // The first extension is permit-X11-forwarding; "pesmit-…" sorts after the next one.
    const at = f.extensions.start + 4 + 4 + 2;
    assert.equal(blob.toString('latin1', at - 2, at + 4), 'permit');
    const reordered = Buffer.from(blob);
    reordered.writeUInt8(reordered.readUInt8(at) ^ 1, at);
    assert.equal(reasonOf(check(reordered)), 'malformed certificate: extensions are not in lexical order');
  });

  test("swapping in another trusted CA's key does not make the signature valid", () => {
    const blob = blobOf(certFor(lab, ca, { principals: ['ann'] }).cert).blob;
    const swapped = replaceField(blob, ed25519CertFields(blob).caKey, blobOf(`${otherCa}.pub`).blob);
    assert.equal(reasonOf(check(swapped)), 'CA signature does not verify');
  });

  test('a certificate cannot be its own CA key (no chains)', () => {
    const blob = blobOf(certFor(lab, ca, { principals: ['ann'] }).cert).blob;
    const chained = replaceField(blob, ed25519CertFields(blob).caKey, blob);
    assert.match(reasonOf(check(chained)), /^malformed certificate: unsupported key type/);
  });

  test('duplicate critical options are malformed', () => {
    const blob = blobOf(certFor(lab, ca, { principals: ['ann'] }).cert).blob;
    const opt = Buffer.concat([sshString('force-command'), sshString(sshString('x'))]);
    const twice = replaceField(blob, ed25519CertFields(blob).critical, Buffer.concat([opt, opt]));
    assert.match(reasonOf(check(twice)), /^malformed certificate: duplicate critical options 'force-command'/);
  });

  test('the requested algorithm must match the certificate', () => {
    const blob = blobOf(certFor(lab, ca, { principals: ['ann'] }).cert).blob;
    assert.match(reasonOf(check(blob, { algo: 'ecdsa-sha2-nistp256-cert-v01@openssh.com' })), /does not match algorithm/);
    const rsa = certFor(lab, ca, { type: 'rsa', principals: ['ann'] });
    const rsaBlob = blobOf(rsa.cert).blob;
    assert.equal(reasonOf(check(rsaBlob, { algo: 'ssh-rsa-cert-v01@openssh.com' })), 'ssh-rsa (SHA-1) signatures are not accepted');
    assert.equal(
      reasonOf(check(rsaBlob, { algo: 'rsa-sha2-256-cert-v01@openssh.com', signer: signerFor(rsa.key, 'rsa-sha2-512') })),
      'user signature does not verify',
    );
    assert.equal(reasonOf(check(rsaBlob, { algo: 'rsa-sha2-256-cert-v01@openssh.com', signer: signerFor(rsa.key, 'rsa-sha2-256') })), 'ok');
  });

  test('the skew applies to valid-after only: a certificate is expired from its valid-before on', () => {
    const blob = blobOf(certFor(lab, ca, { principals: ['ann'], validity: '20300101000000:20300101010000' }).cert).blob;
    const cert = parseCertificate(blob);
    const at = (sec: bigint) => new Date(Number(sec) * 1000);
    assert.equal(reasonOf(check(blob, { at: at(cert.validAfter - 30n) })), 'ok');
    assert.equal(reasonOf(check(blob, { at: at(cert.validAfter - 61n) })), 'certificate is not yet valid');
    assert.equal(reasonOf(check(blob, { at: at(cert.validBefore - 1n) })), 'ok');
    assert.equal(reasonOf(check(blob, { at: at(cert.validBefore) })), 'certificate has expired');
    assert.equal(reasonOf(check(blob, { at: at(cert.validBefore + 30n) })), 'certificate has expired');
    assert.equal(reasonOf(check(blob, { at: at(cert.validBefore + 60n), policy: { clockSkewSeconds: 0 } })), 'certificate has expired');
    assert.equal(reasonOf(check(blob, { at: at(cert.validBefore), policy: { clockSkewSeconds: 0 } })), 'certificate has expired');
  });

  test('an inverted or empty validity window is refused, whatever the skew', () => {
    const blob = blobOf(certFor(lab, ca, { principals: ['ann'], validity: '20300101000000:20300101010000' }).cert).blob;
    const f = ed25519CertFields(blob);
    const cert = parseCertificate(blob);
    const resign = (validAfter: bigint, validBefore: bigint) => {
      const b = Buffer.from(blob.subarray(0, f.signature.start));
      b.writeBigUInt64BE(validAfter, f.validAt);
      b.writeBigUInt64BE(validBefore, f.validAt + 8);
      return Buffer.concat([b, sshString(signerFor(ca, 'ssh-ed25519')(b))]);
    };
    const t = cert.validAfter;
    const at = new Date(Number(t) * 1000);
    assert.equal(reasonOf(check(resign(t - 10n, t + 10n), { at })), 'ok', 'the re-signing helper makes valid certificates');
    assert.equal(reasonOf(check(resign(t + 20n, t - 10n), { at })), 'certificate validity window is empty or inverted');
    assert.equal(reasonOf(check(resign(t, t), { at })), 'certificate validity window is empty or inverted');
  });

  test('a certificate valid forever is refused when a maximum lifetime is set', () => {
    const blob = blobOf(certFor(lab, ca, { principals: ['ann'], validity: 'always:forever' }).cert).blob;
    assert.equal(reasonOf(check(blob)), 'ok');
    assert.match(reasonOf(check(blob, { policy: { maxLifetimeSeconds: 86400 } })), /lifetime exceeds/);
  });

  test('source-address lists match like sshd', () => {
    assert.equal(sourceAddressAllows('127.0.0.1/32', '::ffff:127.0.0.1'), true);
    assert.equal(sourceAddressAllows('10.0.0.0/8, 127.0.0.0/8', '127.1.2.3'), true);
    assert.equal(sourceAddressAllows('10.0.0.0/8', '127.0.0.1'), false);
    assert.equal(sourceAddressAllows('::1', '::1'), true);
    assert.equal(sourceAddressAllows('2001:db8::/32', '::1'), false);
    assert.equal(sourceAddressAllows('127.0.0.1/33', '127.0.0.1'), false, 'a bad prefix refuses');
    assert.equal(sourceAddressAllows('bogus,127.0.0.1', '127.0.0.1'), false, 'a malformed list refuses');
  });

  test('RSA keys shorter than 1024 bits are refused, as OpenSSH does', () => {
    // DER out of the generator, JWK from a fresh KeyObject: exporting a generated KeyObject can hang Node 20 (src/core/raw-keys.ts).
    const { publicKey } = generateKeyPairSync('rsa', {
      modulusLength: 768,
      publicKeyEncoding: { type: 'spki', format: 'der' },
      privateKeyEncoding: { type: 'pkcs8', format: 'der' },
    });
    const jwk = createPublicKey({ key: publicKey, format: 'der', type: 'spki' }).export({ format: 'jwk' });
    const mpint = (b64: string) => {
      const raw = Buffer.from(b64, 'base64url');
      return sshString(raw[0]! & 0x80 ? Buffer.concat([Buffer.alloc(1), raw]) : raw);
    };
    const blob = Buffer.concat([sshString('ssh-rsa'), mpint(jwk.e!), mpint(jwk.n!)]);
    assert.throws(() => parsePublicKeyBlob(blob), /RSA key of 768 bits is shorter than the minimum of 1024/);
    assert.throws(() => parsePublicKeyLine(`ssh-rsa ${blob.toString('base64')} small`), /shorter than the minimum/);
    assert.equal(parsePublicKeyBlob(blobOf(`${lab.key('rsa-ok', 'rsa')}.pub`).blob).rsaBits, 2048);
  });
});
