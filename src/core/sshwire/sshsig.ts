/**
 * OpenSSH's detached signature format (PROTOCOL.sshsig), as `ssh-keygen -Y sign -n NAMESPACE` writes it:
 * an armored blob "SSHSIG" ‖ uint32 version ‖ string publickey ‖ string namespace ‖ string reserved ‖
 * string hash_algorithm ‖ string signature, where the signature covers
 * "SSHSIG" ‖ string namespace ‖ string reserved ‖ string hash_algorithm ‖ string H(message).
 * Verified with node:crypto through verifySshSignature.
 */
import { createHash } from 'node:crypto';
import { parsePublicKeyBlob, verifySshSignature, type PublicKey } from './keys.ts';
import { WireError, WireReader, writeString } from './reader.ts';

const MAGIC = Buffer.from('SSHSIG');
const BEGIN = '-----BEGIN SSH SIGNATURE-----';
const END = '-----END SSH SIGNATURE-----';
const HASHES = new Set(['sha256', 'sha512']);

export interface SshSignature {
  key: PublicKey;
  namespace: string;
  hashAlgorithm: string;
  signature: Buffer;
}

/** Finds and decodes the armored SSH SIGNATURE block in `text`; undefined when there is none. */
export function findArmoredSignature(text: string): Buffer | undefined {
  const start = text.indexOf(BEGIN);
  if (start < 0) return undefined;
  const end = text.indexOf(END, start);
  if (end < 0) throw new WireError('the SSH SIGNATURE block has no END line');
  const body = text.slice(start + BEGIN.length, end).replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body)) throw new WireError('the SSH SIGNATURE block is not base64');
  return Buffer.from(body, 'base64');
}

export function parseSshSignature(blob: Buffer): SshSignature {
  if (blob.length < 10 || !blob.subarray(0, 6).equals(MAGIC)) throw new WireError('not an SSHSIG signature');
  const r = new WireReader(blob.subarray(6));
  const version = r.uint32();
  if (version !== 1) throw new WireError(`SSHSIG version ${version} is not supported`);
  const key = parsePublicKeyBlob(r.bytes());
  const namespace = r.text();
  r.bytes(); // reserved
  const hashAlgorithm = r.text();
  const signature = r.bytes();
  r.end();
  if (!HASHES.has(hashAlgorithm)) throw new WireError(`SSHSIG hash '${hashAlgorithm.slice(0, 20)}' is not supported`);
  return { key, namespace, hashAlgorithm, signature };
}

/**
 * Whether `sig` is a valid signature by `expectedKey` over `message` in `namespace` (the namespace keeps
 * a signature made for something else, e.g. a git commit or a file, from being replayed here).
 */
export function verifySshSignatureOver(sig: SshSignature, expectedKey: PublicKey, namespace: string, message: Buffer): boolean {
  if (!sig.key.blob.equals(expectedKey.blob)) return false;
  if (sig.namespace !== namespace) return false;
  const parts: Buffer[] = [MAGIC];
  writeString(parts, namespace);
  writeString(parts, Buffer.alloc(0));
  writeString(parts, sig.hashAlgorithm);
  writeString(parts, createHash(sig.hashAlgorithm).update(message).digest());
  return verifySshSignature(sig.key, sig.signature, Buffer.concat(parts));
}
