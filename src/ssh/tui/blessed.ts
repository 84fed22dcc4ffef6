/**
 * blessed, loaded with the first TUI session rather than when labd starts: its 44 modules (≈ 2.5 MB of
 * heap) are dead weight for a labd nobody has opened a TUI on (labd at rest, bench/rest-memory; issue 22).
 * TUI code imports `blessed` from here and its types from 'blessed'; every use goes through the proxy,
 * which requires the package on the first property read.
 */
import type BlessedModule from 'blessed';
import { lazyRequire } from '../../core/lazy-require.ts';

const loadBlessed = lazyRequire<typeof BlessedModule>('blessed');

export const blessed = new Proxy({} as typeof BlessedModule, {
  get: (_target, key) => Reflect.get(loadBlessed(), key) as unknown,
  set: (_target, key, value) => Reflect.set(loadBlessed(), key, value),
  has: (_target, key) => Reflect.has(loadBlessed(), key),
});
