import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';

/**
 * Raw Curve25519 key pairs (ed25519 for SSH, x25519 for WireGuard) from 32 random bytes.
 *
 * Not `generateKeyPairSync` + `export({ format: 'jwk' })`: on Node 20 a garbage collection during
 * the JWK export can run the key-generation job's destructor, which waits for the lock the export
 * holds, and the process hangs for good (seen here, with gdb, after a few hundred keys).
 */
const PKCS8_PREFIX = {
  ed25519: Buffer.from('302e020100300506032b657004220420', 'hex'),
  x25519: Buffer.from('302e020100300506032b656e04220420', 'hex'),
};

export function newRawKeyPair(type: 'ed25519' | 'x25519'): { seed: Buffer; publicKey: Buffer } {
  const seed = randomBytes(32);
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX[type], seed]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  // The SPKI of both types is a fixed 12-byte header and the 32-byte key.
  const publicKey = Buffer.from(spki.subarray(spki.length - 32));
  return { seed: type === 'x25519' ? clampX25519(seed) : seed, publicKey };
}

/** The private key as `wg genkey` prints it is clamped (RFC 7748); OpenSSL clamps internally. */
function clampX25519(seed: Buffer): Buffer {
  const k = Buffer.from(seed);
  k[0]! &= 248;
  k[31]! &= 127;
  k[31]! |= 64;
  return k;
}
