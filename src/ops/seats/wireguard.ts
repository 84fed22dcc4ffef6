/** WireGuard keys and the wg-quick config a seat's device imports. */
import { newRawKeyPair } from '../../core/raw-keys.ts';

export interface KeyPair {
  /** base64 of the raw 32-byte X25519 key, as `wg genkey` prints it. */
  privateKey: string;
  publicKey: string;
}

/** A fresh X25519 key pair as the base64 of the raw keys that wg uses. */
export function newKeyPair(): KeyPair {
  const { seed, publicKey } = newRawKeyPair('x25519');
  return { privateKey: seed.toString('base64'), publicKey: publicKey.toString('base64') };
}

/** What the lab side of a seat's tunnel looks like (config `seats`). */
export interface ServerSide {
  endpoint: string;
  serverPublicKey: string;
  allowedIPs: string[];
  dns: string[];
  persistentKeepalive: number;
}

/** The wg-quick config for one seat; `# ` lines are comments wg-quick ignores. */
export function wgQuickConfig(seat: { name: string; address: string; privateKey: string }, server: ServerSide): string {
  const lines = [`# labd seat ${seat.name}`, '[Interface]', `PrivateKey = ${seat.privateKey}`, `Address = ${seat.address}/32`];
  if (server.dns.length) lines.push(`DNS = ${server.dns.join(', ')}`);
  lines.push('', '[Peer]', `PublicKey = ${server.serverPublicKey}`, `Endpoint = ${server.endpoint}`, `AllowedIPs = ${server.allowedIPs.join(', ')}`);
  if (server.persistentKeepalive > 0) lines.push(`PersistentKeepalive = ${server.persistentKeepalive}`);
  return lines.join('\n') + '\n';
}

/** A short form of a public key for tables: its first characters, as `wg show` users compare them. */
export const keyFingerprint = (publicKey: string): string => `${publicKey.slice(0, 10)}…`;
