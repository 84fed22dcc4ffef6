import { randomBytes } from 'node:crypto';
import { newRawKeyPair } from '../core/raw-keys.ts';
import { existsSync, linkSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { writeString } from '../core/sshwire/reader.ts';
import { fingerprint } from '../core/sshwire/keys.ts';

/**
 * A new ed25519 key in OpenSSH's private key format (openssh-key-v1, unencrypted).
 * Not ssh2's generateKeyPairSync: it drops leading zero bytes of the public key, so about
 * one key in 200 comes out malformed.
 */
export function newEd25519Key(comment: string): { privatePem: string; publicLine: string } {
  const { seed, publicKey: pk } = newRawKeyPair('ed25519');
  const pubParts: Buffer[] = [];
  writeString(pubParts, 'ssh-ed25519');
  writeString(pubParts, pk);
  const pubBlob = Buffer.concat(pubParts);
  const check = randomBytes(4);
  const priv: Buffer[] = [check, check];
  writeString(priv, 'ssh-ed25519');
  writeString(priv, pk);
  writeString(priv, Buffer.concat([seed, pk]));
  writeString(priv, comment);
  let privBlock = Buffer.concat(priv);
  const pad = (8 - (privBlock.length % 8)) % 8;
  privBlock = Buffer.concat([privBlock, Buffer.from(Array.from({ length: pad }, (_, i) => i + 1))]);
  const body: Buffer[] = [Buffer.from('openssh-key-v1\0')];
  writeString(body, 'none');
  writeString(body, 'none');
  writeString(body, '');
  const count = Buffer.alloc(4);
  count.writeUInt32BE(1);
  body.push(count);
  writeString(body, pubBlob);
  writeString(body, privBlock);
  const b64 = Buffer.concat(body)
    .toString('base64')
    .replace(/.{1,70}/g, '$&\n');
  return {
    privatePem: `-----BEGIN OPENSSH PRIVATE KEY-----\n${b64}-----END OPENSSH PRIVATE KEY-----\n`,
    publicLine: `ssh-ed25519 ${pubBlob.toString('base64')} ${comment}`,
  };
}

/**
 * Loads the ed25519 host key from the data dir, creating it on first start. Replicas sharing the
 * data dir (a ReadWriteMany volume) may start at once on an empty one: each writes a complete key to
 * a temp file of its own and hard-links it to the key's name, which fails if the name exists, so
 * exactly one key wins and every replica reads (and presents) that one. A reader never sees a
 * half-written key: the name appears only once the file is whole.
 */
export function loadOrCreateHostKey(dataDir: string): { privateKey: string; fingerprint: string; publicKey: string } {
  const path = join(dataDir, 'ssh_host_ed25519_key');
  if (!existsSync(path)) {
    const key = newEd25519Key('labd host key');
    const temp = `${path}.${randomBytes(8).toString('hex')}.tmp`;
    writeFileSync(temp, key.privatePem, { mode: 0o600, flag: 'wx' });
    let won = false;
    try {
      linkSync(temp, path);
      won = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      rmSync(temp, { force: true });
    }
    if (won) {
      // The public half, for operators (known_hosts); written whole and renamed into place.
      writeFileSync(`${temp}.pub`, key.publicLine + '\n', { mode: 0o644 });
      renameSync(`${temp}.pub`, `${path}.pub`);
    }
  }
  const privateKey = readFileSync(path, 'utf8');
  const parsed = ssh2.utils.parseKey(privateKey);
  if (parsed instanceof Error) throw new Error(`host key ${path}: ${parsed.message}`);
  const blob = parsed.getPublicSSH();
  return { privateKey, fingerprint: fingerprint(blob), publicKey: `${parsed.type} ${blob.toString('base64')}` };
}
