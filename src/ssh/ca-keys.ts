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

/** The port certificate checks read their trusted user CA keys from (read at every login). */
export interface TrustedCaKeys {
  blobs(): readonly Buffer[];
}

/** Keys fixed at start (auth.userCaKeys). */
export function staticCaKeys(blobs: readonly Buffer[]): TrustedCaKeys {
  return { blobs: () => blobs };
}

/** Every key any source trusts now (the static file and step-ca: a union). */
export function unionCaKeys(sources: readonly TrustedCaKeys[]): TrustedCaKeys {
  return {
    blobs() {
      const out: Buffer[] = [];
      for (const source of sources) for (const b of source.blobs()) if (!out.some((o) => o.equals(b))) out.push(b);
      return out;
    },
  };
}
