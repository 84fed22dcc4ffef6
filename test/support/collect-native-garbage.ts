/**
 * vitest setup file: one full collection after each test file, while a context is entered.
 *
 * ssh2's native cipher objects are node::ObjectWrap instances. On Node 24.21, a GC that runs outside
 * any context (from a V8 task) and collects one aborts the process in
 * RemoveEnvironmentCleanupHook ("Assertion failed: (env) != nullptr"). Two CI runs lost a worker
 * this way, each in a PGlite-heavy file that came after many SSH files in the same worker. Test
 * files share workers (isolate: false), so the dead ciphers of earlier files are collected here,
 * safely, instead. Workers run with --expose-gc (vitest.config.ts).
 */
import { afterAll } from 'vitest';

afterAll(() => {
  (globalThis as { gc?: () => void }).gc?.();
});
