/**
 * vitest setup file: one full collection after each test file. Test files share a worker
 * (isolate: false), and what a file leaves behind (closed PGlite engines hold 256 MB of WebAssembly
 * memory each until collected, in-process labds their heaps) stays mapped until V8 collects it. Every
 * child process a test starts (ssh, git, tmux, ssh-keygen) is forked from the worker, and a fork costs
 * in proportion to the worker's mapped memory: `spawnSync('true')` took 0.6 ms of system time from a
 * 50 MB process, 4.3 ms from 250 MB, 14 ms from 650 MB. Workers run with --expose-gc (vitest.config.ts).
 */
import { afterAll } from 'vitest';

afterAll(() => {
  (globalThis as { gc?: (o?: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void }).gc?.({
    type: 'major',
    execution: 'sync',
    flavor: 'last-resort',
  });
});
