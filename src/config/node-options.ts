/** NODE_OPTIONS as node read it at start (flags there apply as on its command line): for src/main.ts, which tunes V8. */
export function nodeOptions(): string {
  return process.env.NODE_OPTIONS ?? '';
}
