/** Read-modify-write with optimistic concurrency: a 409 (the object changed since it was read) re-reads and re-applies. */
import { retry } from '../../core/backoff.ts';
import { Conflict } from '../../core/errors.ts';

export const CONFLICT_ATTEMPTS = 5;

/** Runs `attempt` (which reads, decides and writes with the read resourceVersion) until it does not conflict. */
export async function retryOnConflict<T>(what: string, signal: AbortSignal, onRetry: (attempt: number) => void, attempt: () => Promise<T>): Promise<T> {
  try {
    // A short, growing pause lets the other writer finish.
    return await retry(attempt, {
      policy: { baseMs: 50, maxMs: 400 },
      attempts: CONFLICT_ATTEMPTS,
      retryable: (err) => err instanceof Conflict,
      onRetry: (_err, n) => onRetry(n),
      signal,
    });
  } catch (err) {
    if (err instanceof Conflict && !signal.aborted)
      throw new Conflict(`${what} kept changing while labd updated it (${CONFLICT_ATTEMPTS} attempts); try again`, { cause: err });
    throw err;
  }
}
