import { parsePublicKeyBlob, readKeyFields, type PublicKey } from './keys.ts';
import { WireError, WireReader, writeString } from './reader.ts';

/** OpenSSH certificate (PROTOCOL.certkeys / draft-miller-ssh-cert), parsed strictly. */
export interface SshCertificate {
  certType: string;
  /** The key inside the certificate: the one that signs the user's authentication. */
  key: PublicKey;
  serial: bigint;
  type: 'user' | 'host';
  keyId: string;
  principals: string[];
  validAfter: bigint;
  validBefore: bigint;
  criticalOptions: Map<string, Buffer>;
  extensions: Map<string, Buffer>;
  /** The CA key that signed, as its wire blob and parsed. */
  signatureKeyBlob: Buffer;
  signatureKey: PublicKey;
  signature: Buffer;
  /** Every byte the CA signed: the blob up to and including the signature key. */
  signedData: Buffer;
}

const CERT_SUFFIX = '-cert-v01@openssh.com';
const MAX_PRINCIPALS = 256;

export function isCertAlgorithm(algo: string): boolean {
  return algo.endsWith(CERT_SUFFIX);
}

/** The plain key type a certificate type wraps: ssh-ed25519-cert-v01@openssh.com → ssh-ed25519. */
export function plainTypeOfCert(certType: string): string {
  return certType.slice(0, -CERT_SUFFIX.length);
}

function readOptions(raw: Buffer, what: string): Map<string, Buffer> {
  const r = new WireReader(raw);
  const out = new Map<string, Buffer>();
  let previous = '';
  while (!r.done) {
    const name = r.text();
    const data = r.bytes();
    if (out.has(name)) throw new WireError(`duplicate ${what} '${name.slice(0, 40)}'`);
    if (previous && name < previous) throw new WireError(`${what} are not in lexical order`);
    previous = name;
    out.set(name, data);
  }
  return out;
}

export function parseCertificate(blob: Buffer): SshCertificate {
  const r = new WireReader(blob);
  const certType = r.text();
  if (!isCertAlgorithm(certType)) throw new WireError('not a certificate');
  r.bytes(); // nonce
  const keyStart = r.offset;
  const key = readKeyFields(plainTypeOfCert(certType), r);
  // The inner key as a plain key blob (its type, then the same fields): its fingerprint is the key's own.
  const plainKeyParts: Buffer[] = [];
  writeString(plainKeyParts, plainTypeOfCert(certType));
  plainKeyParts.push(blob.subarray(keyStart, r.offset));
  const serial = r.uint64();
  const typeNum = r.uint32();
  if (typeNum !== 1 && typeNum !== 2) throw new WireError(`unknown certificate type ${typeNum}`);
  const keyId = r.text();
  const principalsReader = new WireReader(r.bytes());
  const principals: string[] = [];
  while (!principalsReader.done) {
    principals.push(principalsReader.text());
    if (principals.length > MAX_PRINCIPALS) throw new WireError('too many principals');
  }
  const validAfter = r.uint64();
  const validBefore = r.uint64();
  const criticalOptions = readOptions(r.bytes(), 'critical options');
  const extensions = readOptions(r.bytes(), 'extensions');
  r.bytes(); // reserved
  const signatureKeyBlob = r.bytes();
  const signedData = blob.subarray(0, r.offset);
  const signature = r.bytes();
  r.end();
  // A CA key must be a plain key: chained certificates are not supported (sshkey_type_is_valid_ca).
  const signatureKey = parsePublicKeyBlob(signatureKeyBlob);
  return {
    certType,
    key: { ...key, blob: Buffer.concat(plainKeyParts) },
    serial,
    type: typeNum === 1 ? 'user' : 'host',
    keyId,
    principals,
    validAfter,
    validBefore,
    criticalOptions,
    extensions,
    signatureKeyBlob,
    signatureKey,
    signature,
    signedData,
  };
}

/** Decodes an option value: itself a string inside the data string (e.g. force-command). */
export function optionString(data: Buffer): string {
  const r = new WireReader(data);
  const value = r.text();
  r.end();
  return value;
}
