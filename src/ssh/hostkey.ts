import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { fingerprint } from '../core/sshwire/keys.ts';

/** Loads the ed25519 host key from the data dir, creating it on first start. */
export function loadOrCreateHostKey(dataDir: string): { privateKey: string; fingerprint: string; publicKey: string } {
  const path = join(dataDir, 'ssh_host_ed25519_key');
  if (!existsSync(path)) {
    const pair = ssh2.utils.generateKeyPairSync('ed25519', { comment: 'labd host key' });
    writeFileSync(path, pair.private, { mode: 0o600, flag: 'wx' });
    writeFileSync(`${path}.pub`, pair.public + '\n', { mode: 0o644 });
  }
  const privateKey = readFileSync(path, 'utf8');
  const parsed = ssh2.utils.parseKey(privateKey);
  if (parsed instanceof Error) throw new Error(`host key ${path}: ${parsed.message}`);
  const blob = parsed.getPublicSSH();
  return { privateKey, fingerprint: fingerprint(blob), publicKey: `${parsed.type} ${blob.toString('base64')}` };
}
