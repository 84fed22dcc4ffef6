/** NODE_OPTIONS as node read it at start (flags there apply as on its command line): for src/main.ts, which tunes V8. */
export function nodeOptions(): string {
  return process.env.NODE_OPTIONS ?? '';
}

/** NODE_COMPILE_CACHE, the directory Node keeps compiled code in when set (src/core/compile-cache.ts). */
export function nodeCompileCacheDir(): string | undefined {
  return process.env.NODE_COMPILE_CACHE || undefined;
}
