/**
 * One line for every bench's report: which Node ran it (labd is spawned with the same binary) and
 * which cipher path ssh2 takes on it, native binding or JavaScript (several times slower per byte,
 * and what a Node upgrade without `npm rebuild ssh2` silently gives).
 */
import { sshCryptoPath } from '../../src/ssh/crypto-path.ts';

export function runtimeLine(): string {
  return `Node ${process.version}, ssh2 ciphers ${sshCryptoPath()}`;
}
