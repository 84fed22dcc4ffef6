import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { fingerprint, verifySshSignature, type PublicKey } from '../core/sshwire/keys.ts';
import { optionString, parseCertificate, plainTypeOfCert, type SshCertificate } from '../core/sshwire/cert.ts';

/** What sshd would check of a user certificate, plus labd's deny list and lifetime cap. */
export interface CertPolicy {
  trustedCaBlobs: readonly Buffer[];
  clockSkewSeconds: number;
  maxLifetimeSeconds?: number;
  revokedSerials: ReadonlySet<string>;
  revokedKeyIds: ReadonlySet<string>;
}

export interface CertGrant {
  cert: SshCertificate;
  caFingerprint: string;
  forceCommand?: string;
  permitPty: boolean;
  validBefore: Date | undefined;
}

export type CertCheck = { ok: true; grant: CertGrant } | { ok: false; reason: string };

const KNOWN_CRITICAL = new Set(['force-command', 'source-address']);
/** CA signature algorithms OpenSSH accepts by default (CASignatureAlgorithms): no SHA-1. */
const CA_SIG_ALGOS = new Set(['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-256', 'rsa-sha2-512']);
const MAX_U64 = (1n << 64n) - 1n;

function normaliseIp(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return mapped ? mapped[1]! : ip;
}

/** Matches the remote address against a source-address list (comma-separated addresses and CIDRs). */
export function sourceAddressAllows(list: string, remoteIp: string): boolean {
  const ip = normaliseIp(remoteIp);
  const family = isIPv4(ip) ? 'ipv4' : isIPv6(ip) ? 'ipv6' : undefined;
  if (!family) return false;
  const blocks = new BlockList();
  for (const entry of list.split(',')) {
    const [addr, bitsText] = entry.trim().split('/') as [string, string | undefined];
    const fam = isIPv4(addr) ? 'ipv4' : isIPv6(addr) ? 'ipv6' : undefined;
    if (!fam) return false; // sshd refuses a malformed list outright
    if (bitsText === undefined) blocks.addAddress(addr, fam);
    else {
      const bits = Number(bitsText);
      if (!/^\d+$/.test(bitsText) || bits > (fam === 'ipv4' ? 32 : 128)) return false;
      blocks.addSubnet(addr, bits, fam);
    }
  }
  return blocks.check(ip, family);
}

/** The user signature algorithm a requested public key algorithm implies (sshd's pkalg match). */
function expectedUserSigAlgo(requestedAlgo: string, cert: SshCertificate): string | undefined {
  const plainRequested = plainTypeOfCert(requestedAlgo);
  const inner = cert.key.type;
  if (inner === 'ssh-rsa') return plainRequested === 'rsa-sha2-256' || plainRequested === 'rsa-sha2-512' ? plainRequested : undefined;
  return plainRequested === inner ? inner : undefined;
}

function caSignatureAlgo(signature: Buffer): string | undefined {
  if (signature.length < 4) return undefined;
  const len = signature.readUInt32BE(0);
  return signature.subarray(4, 4 + len).toString('latin1');
}

/**
 * Checks a certificate blob offered for `requestedAlgo` from `remoteIp` at `now`.
 * With `userSignature` and `signedData` it also verifies the user's proof of the inner key;
 * without them (ssh2's unsigned query) it only says whether the certificate would be acceptable.
 */
export function checkUserCertificate(
  policy: CertPolicy,
  input: { blob: Buffer; requestedAlgo: string; remoteIp: string; now: Date; userSignature?: Buffer; signedData?: Buffer },
): CertCheck {
  let cert: SshCertificate;
  try {
    cert = parseCertificate(input.blob);
  } catch (err) {
    return { ok: false, reason: `malformed certificate: ${(err as Error).message}` };
  }
  const plainRequested = plainTypeOfCert(input.requestedAlgo);
  const blobMatches =
    cert.certType === input.requestedAlgo ||
    (cert.certType === 'ssh-rsa-cert-v01@openssh.com' && (plainRequested === 'rsa-sha2-256' || plainRequested === 'rsa-sha2-512'));
  if (!blobMatches) return { ok: false, reason: `certificate type ${cert.certType} does not match algorithm ${input.requestedAlgo}` };
  if (plainRequested === 'ssh-rsa') return { ok: false, reason: 'ssh-rsa (SHA-1) signatures are not accepted' };
  if (cert.type !== 'user') return { ok: false, reason: 'not a user certificate' };

  const caFingerprint = fingerprint(cert.signatureKeyBlob);
  if (!policy.trustedCaBlobs.some((b) => b.equals(cert.signatureKeyBlob))) return { ok: false, reason: `certificate signed by untrusted CA ${caFingerprint}` };
  const caAlgo = caSignatureAlgo(cert.signature);
  if (!caAlgo || !CA_SIG_ALGOS.has(caAlgo)) return { ok: false, reason: `CA signature algorithm ${caAlgo ?? '?'} not accepted` };
  if (!verifySshSignature(cert.signatureKey, cert.signature, cert.signedData)) return { ok: false, reason: 'CA signature does not verify' };

  const nowSec = BigInt(Math.floor(input.now.getTime() / 1000));
  const skew = BigInt(policy.clockSkewSeconds);
  // An empty or inverted window is valid at no time (ssh-keygen refuses to make one); skew never widens it.
  if (cert.validAfter >= cert.validBefore) return { ok: false, reason: 'certificate validity window is empty or inverted' };
  // The skew forgives a CA clock a little ahead (step-ca back-dates by a minute); it never extends the end.
  if (nowSec + skew < cert.validAfter) return { ok: false, reason: 'certificate is not yet valid' };
  if (cert.validBefore !== MAX_U64 && nowSec >= cert.validBefore) return { ok: false, reason: 'certificate has expired' };
  if (policy.maxLifetimeSeconds !== undefined && cert.validBefore - cert.validAfter > BigInt(policy.maxLifetimeSeconds)) {
    return { ok: false, reason: `certificate lifetime exceeds the maximum of ${policy.maxLifetimeSeconds}s` };
  }
  if (cert.principals.length === 0) return { ok: false, reason: 'certificate lacks principal list' };
  if (policy.revokedSerials.has(cert.serial.toString())) return { ok: false, reason: `certificate serial ${cert.serial} is revoked` };
  if (policy.revokedKeyIds.has(cert.keyId)) return { ok: false, reason: `certificate key id "${cert.keyId}" is revoked` };

  let forceCommand: string | undefined;
  for (const [name, data] of cert.criticalOptions) {
    if (!KNOWN_CRITICAL.has(name)) return { ok: false, reason: `critical option '${name.slice(0, 60)}' is not supported` };
    let value: string;
    try {
      value = optionString(data);
    } catch {
      return { ok: false, reason: `critical option '${name}' is malformed` };
    }
    if (name === 'source-address' && !sourceAddressAllows(value, input.remoteIp)) {
      return { ok: false, reason: `source-address ${value.slice(0, 100)} does not allow ${normaliseIp(input.remoteIp)}` };
    }
    if (name === 'force-command') forceCommand = value;
  }

  if (input.userSignature && input.signedData) {
    const algo = expectedUserSigAlgo(input.requestedAlgo, cert);
    if (!algo || !verifySshSignature(cert.key as PublicKey, input.userSignature, input.signedData, algo)) {
      return { ok: false, reason: 'user signature does not verify' };
    }
  }
  const validBefore = cert.validBefore === MAX_U64 || cert.validBefore > BigInt(8.64e12) ? undefined : new Date(Number(cert.validBefore) * 1000);
  return { ok: true, grant: { cert, caFingerprint, forceCommand, permitPty: cert.extensions.has('permit-pty'), validBefore } };
}
