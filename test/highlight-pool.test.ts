/**
 * The highlighting service's bounds without labd around it: a quadratic input is cut off at the
 * deadline and the worker replaced, a request past the queue is answered plain at once, a queue
 * of 0 still uses a free worker, and results (time-outs too) come from the cache.
 */
import assert from 'node:assert/strict';
import { test } from 'vitest';
import { createHighlighter } from '../src/core/highlight/index.ts';
import { createLogger } from '../src/core/logger.ts';

const log = createLogger('silent');
const SLOW = 'a'.repeat(64 * 1024);

test('deadline, queue bound and cache', async () => {
  const h = createHighlighter({ timeoutMs: 1000, maxBytes: 1024 * 1024, workers: 1, maxQueue: 1, cacheBytes: 1024 * 1024 }, log);
  try {
    const slow = h.highlight('a.ini', SLOW);
    const queued = h.highlight('b.js', 'const b = 1;');
    let pastQueueSettled = false;
    const pastQueue = await h.highlight('c.js', 'const c = 1;').finally(() => (pastQueueSettled = true));
    assert.ok(pastQueueSettled);
    assert.equal(pastQueue.language, 'plaintext', 'past the queue: plain at once');
    const s = await slow;
    assert.equal(s.language, 'plaintext', 'the quadratic input is cut off at the deadline');
    assert.equal(s.html.value, SLOW);
    await queued;
    const again = await h.highlight('d.js', 'function d() {}');
    assert.match(again.html.value, /hljs-keyword/, 'a new worker highlights after the time-out');
    assert.ok(h.stats().started >= 2, 'the stuck worker was replaced');
    const cachedSlow = await h.highlight('a.ini', SLOW);
    assert.equal(cachedSlow.language, 'plaintext');
    assert.ok(h.stats().cached >= 2);
  } finally {
    await h.close();
  }
});

test('a queue of 0 still uses a free worker; above maxBytes nothing is tried', async () => {
  const h = createHighlighter({ timeoutMs: 5000, maxBytes: 100, workers: 1, maxQueue: 0, cacheBytes: 1024 * 1024 }, log);
  try {
    assert.match((await h.highlight('x.js', 'let x = 1;')).html.value, /hljs-keyword/);
    const big = await h.highlight('y.js', 'let y = 1;'.repeat(20));
    assert.equal(big.language, 'plaintext');
    assert.equal((await h.highlight('z.unknownlang', '<b>')).html.value, '&lt;b&gt;');
  } finally {
    await h.close();
  }
});
