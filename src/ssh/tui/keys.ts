/**
 * Key tables: every TUI screen says which keys it takes in one table, and both the footer hint
 * line and the `?` help are drawn from it, so they cannot disagree. The words are the same on
 * every screen (soft-serve and k9s style): move, open, back, quit, help, refresh, scroll.
 */
import { blessed } from './blessed.ts';
import { stringWidth } from '../../core/string-width.ts';
import type { Theme } from './theme.ts';
import { wrapWords } from './wrap.ts';

/** One row of a key table: the blessed key names it is bound to and what it does. */
export interface KeyHint {
  keys: string[];
  /** A short verb or two, shown in the footer ('open', 'cordon'). */
  label: string;
  /** A longer sentence for the help; the label when absent. */
  help?: string;
}

/** The same words everywhere. */
export const WORDS = {
  move: 'move',
  open: 'open',
  back: 'back',
  quit: 'quit',
  help: 'help',
  refresh: 'refresh',
  scroll: 'scroll',
  columns: 'columns',
} as const;

/** How a blessed key name is written in hints: 'S-u' → 'U', 'C-r' → 'ctrl-r', 'escape' → 'esc'. */
export function keyName(key: string): string {
  if (key.startsWith('S-')) return key.slice(2).toUpperCase();
  if (key.startsWith('C-')) return `ctrl-${key.slice(2)}`;
  if (key === 'escape') return 'esc';
  if (key === 'backspace') return 'bksp';
  if (key === 'pagedown') return 'pgdn';
  if (key === 'pageup') return 'pgup';
  return key;
}

/** The keys every screen shares, after its own: help, back (not on the home menu) and quit. */
export function globalHints(home: boolean): KeyHint[] {
  return [
    { keys: ['?'], label: WORDS.help, help: 'show the keys of this screen' },
    ...(home ? [] : [{ keys: ['escape'], label: WORDS.back, help: 'go back one level' }]),
    { keys: ['q', 'C-c'], label: WORDS.quit, help: 'leave labd' },
  ];
}

/** The "move" hint, written with the theme's glyphs. */
export function moveHint(theme: Theme, label: string = WORDS.move): KeyHint {
  return { keys: [theme.glyphs.upDown], label, help: label === WORDS.move ? 'move the selection' : undefined };
}

/** The "←/→ columns" hint for tables wider than the screen. */
export function sideHint(theme: Theme): KeyHint {
  return { keys: [theme.glyphs.leftRight], label: WORDS.columns, help: 'scroll the table sideways, one column at a time' };
}

function plainHint(h: KeyHint): string {
  // ctrl-c is a safety net, not something to advertise on every line.
  return `${h.keys
    .filter((k) => k !== 'C-c')
    .map(keyName)
    .join('/')} ${h.label}`;
}

/**
 * The footer line, as blessed tags: key names in bold (readable on any background, no colour),
 * labels in the terminal's own foreground. The screen's keys come first; when the line is too
 * narrow they are dropped from the end, so the shared "? help · esc back · q quit" always shows.
 */
export function hintLine(screenKeys: KeyHint[], home: boolean, theme: Theme, width: number): string {
  const sep = ` ${theme.glyphs.separator} `;
  const shared = globalHints(home);
  let own = screenKeys.slice();
  const length = (list: KeyHint[]) => stringWidth(' ' + [...list, ...shared].map(plainHint).join(sep));
  while (own.length && length(own) > width) own = own.slice(0, -1);
  const styled = (h: KeyHint) => {
    const keys = h.keys
      .filter((k) => k !== 'C-c')
      .map(keyName)
      .join('/');
    return `{bold}${blessed.escape(keys)}{/bold} ${blessed.escape(h.label)}`;
  };
  return ' ' + [...own, ...shared].map(styled).join(sep);
}

/**
 * The `?` help of a screen: one line per key, from the same table as the footer, its text wrapped at
 * words under itself to fit `room` (the inside of the overlay). The shared keys (help, back, quit)
 * always show: when the whole list is taller than the room, they come first and the rest scrolls.
 */
export function helpLines(
  title: string,
  screenKeys: KeyHint[],
  home: boolean,
  room: { rows: number; cols: number } = { rows: Infinity, cols: Infinity },
): string[] {
  const rows = (hints: KeyHint[]) => hints.map((h) => [h.keys.map(keyName).join(', '), h.help ?? h.label] as const);
  const own = rows(screenKeys);
  const shared = rows(globalHints(home));
  const width = Math.max(...[...own, ...shared].map(([k]) => stringWidth(k)));
  const indent = 2 + width + 3;
  const lines = (list: (readonly [string, string])[]) =>
    list.flatMap(([k, text]) => {
      const wrapped = wrapWords(text, Math.max(10, room.cols - indent)).split('\n');
      return wrapped.map((part, i) => (i === 0 ? `  ${k}${' '.repeat(width - stringWidth(k))}   ${part}` : `${' '.repeat(indent)}${part}`));
    });
  const all = [`Keys: ${title}`, '', ...lines([...own, ...shared])];
  if (all.length <= room.rows) return all;
  return [`Keys: ${title}`, ...lines(shared), '', ...lines(own)];
}
