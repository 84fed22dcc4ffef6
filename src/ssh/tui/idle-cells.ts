import type { Widgets } from 'blessed';

/**
 * How long a screen stays unchanged before it gives its cell buffers back. A key pressed after that
 * costs one full repaint (a few KB to the client, well under a millisecond here).
 */
export const IDLE_CELLS_MS = 5000;

/** The parts of blessed's screen this file relies on (blessed 0.1.x). */
interface ScreenInternals {
  lines: unknown[];
  olines: unknown[];
  rows: number;
  destroyed?: boolean;
  render(): void;
  /** Allocates both buffers with every line dirty and clears the terminal: the next draw repaints it all. */
  realloc(): void;
}

/**
 * Frees an idle screen's two cell buffers. blessed keeps what it drew and what it is drawing as
 * cols × rows cells of two-element arrays each (two buffers of 1,920 cells at 80 × 24, about 250 KB,
 * most of a session's memory), though a session sitting at a menu draws nothing for minutes. After
 * `idleMs` without a render both are dropped; the next render allocates them again and repaints the
 * whole screen, as blessed does after a resize. Returns the function that stops the watch.
 */
export function releaseCellsWhenIdle(screen: Widgets.Screen, idleMs = IDLE_CELLS_MS): () => void {
  const s = screen as unknown as ScreenInternals;
  if (!Array.isArray(s.lines) || !Array.isArray(s.olines) || typeof s.realloc !== 'function' || typeof s.render !== 'function') {
    // Another blessed: keep its buffers rather than guess.
    return () => undefined;
  }
  const render = s.render.bind(s);
  const timer = setTimeout(() => {
    if (s.destroyed) return;
    s.lines = [];
    s.olines = [];
  }, idleMs);
  timer.unref();
  s.render = () => {
    // blessed's own resize allocates them again before it renders; a scroll while they were gone
    // (insertLine/deleteLine, outside render) left a few lines: allocated again all the same.
    if (!s.destroyed && (s.lines.length !== s.rows || s.olines.length !== s.rows)) s.realloc();
    render();
    timer.refresh();
  };
  return () => clearTimeout(timer);
}
