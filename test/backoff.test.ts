import assert from 'node:assert/strict';
import { test } from 'vitest';
import { backoffDelay, retry } from '../src/core/backoff.ts';

const policy = { baseMs: 1, maxMs: 8 };

test('backoff doubles from the base up to the ceiling', () => {
  assert.deepEqual(
    [0, 1, 2, 3, 4, 50].map((n) => backoffDelay(n, { baseMs: 500, maxMs: 15000 })),
    [500, 1000, 2000, 4000, 8000, 15000],
  );
});

test('retry gives up after its attempts with the last error, and stops at once on an error that is not retryable', async () => {
  let calls = 0;
  const seen: number[] = [];
  await assert.rejects(
    retry(
      async (n) => {
        calls++;
        throw new Error(`attempt ${n}`);
      },
      { policy, attempts: 3, onRetry: (_e, n, delay) => seen.push(n, delay) },
    ),
    /attempt 2/,
  );
  assert.equal(calls, 3);
  assert.deepEqual(seen, [1, 1, 2, 2]);
  calls = 0;
  await assert.rejects(
    retry(
      async () => {
        calls++;
        throw new TypeError('fatal');
      },
      { policy, retryable: (e) => !(e instanceof TypeError) },
    ),
    /fatal/,
  );
  assert.equal(calls, 1);
});

test('retry returns the first success; an abort ends the pause with the last error', async () => {
  assert.equal(await retry(async (n) => (n < 2 ? Promise.reject(new Error('not yet')) : 'ok'), { policy }), 'ok');
  const stop = new AbortController();
  const pending = retry(
    async () => {
      throw new Error('down');
    },
    { policy: { baseMs: 60_000, maxMs: 60_000 }, signal: stop.signal },
  );
  setImmediate(() => stop.abort());
  await assert.rejects(pending, /down/);
});
