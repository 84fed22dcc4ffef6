/** Shared pieces of the SSH authentication tests: fresh key + certificate pairs and log polling. */
import { rmSync } from 'node:fs';
import type { KeyLab } from './labd.ts';

/** What the log helpers read of a labd under test (LabdProcess or InProcessLabd). */
interface Logged {
  logs(): string;
}

let counter = 0;

export interface KeyAndCert {
  key: string;
  cert: string;
}

/**
 * A new key of `type` and its certificate signed by `ca`. Each pair gets its own key so that
 * ssh never picks up a stale KEY-cert.pub from another test.
 */
export function certFor(lab: KeyLab, ca: string, o: Parameters<KeyLab['sign']>[2] & { type?: 'ed25519' | 'ecdsa' | 'rsa' } = {}): KeyAndCert {
  const key = lab.key(`user${++counter}`, o.type ?? 'ed25519');
  const cert = lab.sign(ca, key, o);
  return { key, cert };
}

/** Deletes a key's default certificate file, so ssh offers only the plain key. */
export function dropCert(k: KeyAndCert): void {
  rmSync(k.cert, { force: true });
}

/** Marks the current end of labd's log; `logSince` then polls for a line after the mark. */
export function logMark(labd: Logged): number {
  return labd.logs().length;
}

/** Waits (generously) until labd logged a line matching `pattern` after `mark`, and returns it. */
export async function logSince(labd: Logged, mark: number, pattern: RegExp, deadlineMs = 20_000): Promise<string> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const line = labd
      .logs()
      .slice(mark)
      .split('\n')
      .find((l) => pattern.test(l));
    if (line) return line;
    if (Date.now() > until) throw new Error(`labd did not log ${pattern} in time; log since mark:\n${labd.logs().slice(mark)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
