import { createHash, createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { WireError, WireReader } from './reader.ts';

/** Plain public key types labd accepts (no DSA, as current OpenSSH). */
export const PLAIN_KEY_TYPES = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'ssh-rsa'] as const;
export type PlainKeyType = (typeof PLAIN_KEY_TYPES)[number];

const MIN_RSA_BITS = 1024;

const CURVES: Record<string, { crv: string; hash: string; size: number }> = {
  nistp256: { crv: 'P-256', hash: 'sha256', size: 32 },
  nistp384: { crv: 'P-384', hash: 'sha384', size: 48 },
  nistp521: { crv: 'P-521', hash: 'sha512', size: 66 },
};

export interface PublicKey {
  type: PlainKeyType;
  /** The wire blob of the plain key. */
  blob: Buffer;
  key: KeyObject;
  /** For ECDSA: the curve name used in the type (nistp256 …). */
  curve?: string;
  rsaBits?: number;
}

export function fingerprint(blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

const b64url = (b: Buffer) => b.toString('base64url');
const stripZero = (b: Buffer) => {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i);
};

/** Reads the key fields of a plain key type from a reader positioned just after the type string. */
export function readKeyFields(type: string, r: WireReader, blobForFingerprint?: Buffer): PublicKey {
  if (type === 'ssh-ed25519') {
    const pk = r.bytes();
    if (pk.length !== 32) throw new WireError('bad ed25519 key length');
    return { type, blob: blobForFingerprint ?? Buffer.alloc(0), key: createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(pk) }, format: 'jwk' }) };
  }
  if (type.startsWith('ecdsa-sha2-')) {
    const curveName = type.slice('ecdsa-sha2-'.length);
    const curve = CURVES[curveName];
    const ident = r.text();
    if (!curve || ident !== curveName) throw new WireError('ECDSA curve does not match the key type');
    const q = r.bytes();
    if (q.length !== 1 + 2 * curve.size || q[0] !== 4) throw new WireError('bad ECDSA point');
    const x = q.subarray(1, 1 + curve.size);
    const y = q.subarray(1 + curve.size);
    return {
      type: type as PlainKeyType,
      curve: curveName,
      blob: blobForFingerprint ?? Buffer.alloc(0),
      key: createPublicKey({ key: { kty: 'EC', crv: curve.crv, x: b64url(x), y: b64url(y) }, format: 'jwk' }),
    };
  }
  if (type === 'ssh-rsa') {
    const e = stripZero(r.bytes());
    const n = stripZero(r.bytes());
    const key = createPublicKey({ key: { kty: 'RSA', n: b64url(n), e: b64url(e) }, format: 'jwk' });
    const rsaBits = key.asymmetricKeyDetails?.modulusLength ?? n.length * 8;
    // OpenSSH's RequiredRSASize: shorter RSA keys are refused as user, CA and registered keys.
    if (rsaBits < MIN_RSA_BITS) throw new WireError(`RSA key of ${rsaBits} bits is shorter than the minimum of ${MIN_RSA_BITS}`);
    return { type, blob: blobForFingerprint ?? Buffer.alloc(0), key, rsaBits };
  }
  throw new WireError(`unsupported key type '${type.slice(0, 60)}'`);
}

/** Parses a plain public key blob (not a certificate). */
export function parsePublicKeyBlob(blob: Buffer): PublicKey {
  const r = new WireReader(blob);
  const type = r.text();
  const key = readKeyFields(type, r, blob);
  r.end();
  return key;
}

/** Parses an authorized_keys-style line "TYPE BASE64 [COMMENT]". */
export function parsePublicKeyLine(line: string): { key: PublicKey; comment: string } {
  const parts = line.trim().split(/\s+/);
  if (parts.length < 2) throw new WireError('expected "TYPE BASE64 [COMMENT]"');
  const [type, data, ...comment] = parts as [string, string, ...string[]];
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(data)) throw new WireError('key data is not base64');
  const blob = Buffer.from(data, 'base64');
  const key = parsePublicKeyBlob(blob);
  if (key.type !== type) throw new WireError(`key type '${type.slice(0, 40)}' does not match its data (${key.type})`);
  return { key, comment: comment.join(' ') };
}

export function formatPublicKey(key: PublicKey, comment = ''): string {
  return `${key.type} ${key.blob.toString('base64')}${comment ? ' ' + comment : ''}`;
}

/** Signature algorithms accepted (OpenSSH's defaults: no SHA-1 ssh-rsa). */
const SIG_HASH: Record<string, string | null> = {
  'ssh-ed25519': null,
  'ecdsa-sha2-nistp256': 'sha256',
  'ecdsa-sha2-nistp384': 'sha384',
  'ecdsa-sha2-nistp521': 'sha512',
  'rsa-sha2-256': 'sha256',
  'rsa-sha2-512': 'sha512',
};

/** Which signature algorithms a key type may produce. */
export function signatureAlgorithmsFor(key: PublicKey): string[] {
  return key.type === 'ssh-rsa' ? ['rsa-sha2-256', 'rsa-sha2-512'] : [key.type];
}

/**
 * Verifies an SSH signature blob (string algorithm, string signature) over data.
 * ECDSA signatures (mpint r, mpint s) are converted to IEEE P1363 for node:crypto.
 */
export function verifySshSignature(key: PublicKey, signature: Buffer, data: Buffer, expectedAlgo?: string): boolean {
  let algo: string;
  let sig: Buffer;
  try {
    const r = new WireReader(signature);
    algo = r.text();
    sig = r.bytes();
    r.end();
  } catch {
    return false;
  }
  if (expectedAlgo && algo !== expectedAlgo) return false;
  if (!(algo in SIG_HASH) || !signatureAlgorithmsFor(key).includes(algo)) return false;
  const hash = SIG_HASH[algo]!;
  try {
    if (key.type.startsWith('ecdsa-sha2-')) {
      const size = CURVES[key.curve!]!.size;
      const r = new WireReader(sig);
      const rr = stripZero(r.bytes());
      const ss = stripZero(r.bytes());
      r.end();
      if (rr.length > size || ss.length > size) return false;
      const p1363 = Buffer.concat([Buffer.alloc(size - rr.length), rr, Buffer.alloc(size - ss.length), ss]);
      return cryptoVerify(hash, data, { key: key.key, dsaEncoding: 'ieee-p1363' }, p1363);
    }
    return cryptoVerify(hash, data, key.key, sig);
  } catch {
    return false;
  }
}
