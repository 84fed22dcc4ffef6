/** Read-modify-write with optimistic concurrency: a 409 (the object changed since it was read) re-reads and re-applies. */
import { Conflict } from '../../core/errors.ts';
import { setTimeout as sleep } from 'node:timers/promises';

export const CONFLICT_ATTEMPTS = 5;

/** Runs `attempt` (which reads, decides and writes with the read resourceVersion) until it does not conflict. */
export async function retryOnConflict<T>(what: string, signal: AbortSignal, onRetry: (attempt: number) => void, attempt: () => Promise<T>): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (!(err instanceof Conflict)) throw err;
      if (n >= CONFLICT_ATTEMPTS) throw new Conflict(`${what} kept changing while labd updated it (${CONFLICT_ATTEMPTS} attempts); try again`, { cause: err });
      onRetry(n);
      // A short, growing pause lets the other writer finish.
      await sleep(50 * n, undefined, { signal }).catch(() => {
        throw err;
      });
    }
  }
}
