import { readFileSync } from 'node:fs';
import { parsePublicKeyLine } from '../core/sshwire/keys.ts';

/** Reads a TrustedUserCAKeys-style file: one public key per line, # comments. Returns wire blobs. */
export function loadCaKeys(path: string): Buffer[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`config: auth.userCaKeys (LABD_USER_CA_KEYS): cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const blobs: Buffer[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const t = line.trim();
    if (!t || t.startsWith('#')) return;
    try {
      blobs.push(parsePublicKeyLine(t).key.blob);
    } catch (err) {
      throw new Error(`config: auth.userCaKeys (LABD_USER_CA_KEYS): ${path} line ${i + 1}: ${(err as Error).message}`);
    }
  });
  return blobs;
}
