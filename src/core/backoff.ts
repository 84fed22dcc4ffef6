/**
 * The one retry policy of labd: exponential back-off with a ceiling. `backoffDelay` serves retries that
 * are scheduled durably (the Matrix outbox, Apprise escalations: the next attempt time is stored);
 * `retry` serves the ones that loop in memory (joining a room, reaching the homeserver, 409 conflicts).
 */
import { setTimeout as sleep } from 'node:timers/promises';

export interface BackoffPolicy {
  /** Delay before the first retry. */
  baseMs: number;
  /** Ceiling of the delay. */
  maxMs: number;
}

/** Delay before retry number `attempt` (0 for the first retry): base · 2^attempt, at most maxMs. */
export function backoffDelay(attempt: number, policy: BackoffPolicy): number {
  return Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(Math.max(0, attempt), 30));
}

export interface RetryOptions {
  policy: BackoffPolicy;
  /** Attempts in all, the first included (default: unlimited, until it succeeds or is stopped). */
  attempts?: number;
  /** Which errors are worth another attempt (default: all). Others are thrown at once. */
  retryable?: (err: unknown) => boolean;
  /** Told before each pause, e.g. to log it. */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  /** Aborting stops the pause and the loop; the last error is thrown. */
  signal?: AbortSignal;
}

/** Runs `fn` until it succeeds, backing off between attempts. Throws the last error when it gives up. */
export async function retry<T>(fn: (attempt: number) => Promise<T>, o: RetryOptions): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      const last = o.attempts !== undefined && attempt + 1 >= o.attempts;
      if (last || o.signal?.aborted || (o.retryable && !o.retryable(err))) throw err;
      const delayMs = backoffDelay(attempt, o.policy);
      o.onRetry?.(err, attempt + 1, delayMs);
      await sleep(delayMs, undefined, { signal: o.signal }).catch(() => {
        throw err;
      });
    }
  }
}
