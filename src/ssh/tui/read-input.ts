import type { Widgets } from 'blessed';

/**
 * Starts reading a text box without losing the first keys. blessed's readInput begins listening
 * one setImmediate later, so keys that reach labd in the same read as the key that opened the box
 * (typed fast, or pasted: "/tools") went nowhere. Keys that reach the box meanwhile are kept and
 * handed to it once it listens.
 */
export function readInputNow(box: Widgets.TextboxElement, done: (err: unknown, value?: string | null) => void): void {
  const early: [string, Widgets.Events.IKeyEventArg][] = [];
  const keep = (ch: string, key: Widgets.Events.IKeyEventArg) => early.push([ch, key]);
  box.on('keypress', keep);
  box.readInput(done as (err: unknown, value?: string) => void);
  // Queued after readInput's own setImmediate, so its listener is on by now.
  setImmediate(() => {
    box.off('keypress', keep);
    for (const [ch, key] of early) box.emit('keypress', ch, key);
  });
}
