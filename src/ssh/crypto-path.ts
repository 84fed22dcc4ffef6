/**
 * Which cipher implementation ssh2 runs: its optional native binding (built by node-gyp for the Node
 * that installed it) or its JavaScript fallback, which it takes silently when the binding is missing
 * or was built for another Node (after a Node upgrade without `npm rebuild ssh2`). The fallback is
 * several times slower per byte, so labd says at start which one it got.
 */
import { createRequire } from 'node:module';

export type SshCryptoPath = 'native' | 'javascript';

export function sshCryptoPath(): SshCryptoPath {
  try {
    const crypto = createRequire(import.meta.url)('ssh2/lib/protocol/crypto.js') as { bindingAvailable?: boolean };
    return crypto.bindingAvailable ? 'native' : 'javascript';
  } catch {
    return 'javascript';
  }
}
