/**
 * The one table layout of labd: SSH exec text, the TUI and the Matrix bot's plain-text body all lay
 * tables out here. Widths are display widths (string-width), so CJK and emoji take the two cells a
 * terminal gives them. With a width limit (the TUI), columns shrink and then drop in priority order,
 * and the caller is told what was cut, so nothing is clipped silently.
 */
import { stringWidth } from './string-width.ts';

export interface LayoutColumn {
  label: string;
  /** Higher is kept longer. Default 0; the first column is never dropped. Ties: rightmost goes first. */
  priority?: number;
  align?: 'left' | 'right';
}

export interface LayoutOptions {
  /** The width to fit (terminal columns); none: every column at its natural width. */
  maxWidth?: number;
  /** Spaces between columns. */
  gap?: number;
  /** Marks a cut cell: '…' where the client speaks UTF-8, '~' otherwise. */
  ellipsis?: string;
  /**
   * ←/→ in the TUI. 0: the columns that fit, by priority. n ≥ 1: the first column, then the columns
   * from column n on in table order (columns 1…n-1 scrolled past), so the first → shows the
   * columns priority left out, from the left.
   */
  offset?: number;
}

export interface Layout {
  /** Indexes of the shown columns, in table order, with their widths. */
  shown: { index: number; width: number }[];
  /** Indexes of the columns left out (dropped for width or scrolled past). */
  hidden: number[];
  /** Shown columns narrower than their widest cell (their long cells end in the ellipsis). */
  shrunk: number[];
  gap: number;
  ellipsis: string;
}

/** Cells never shrink below this (or their label, if shorter), so a shrunk column still says something. */
const MIN_CELL = 8;

export function displayWidth(text: string): number {
  return stringWidth(text);
}

/** Cuts `text` to at most `width` display cells, ending in the ellipsis when cut. */
export function truncate(text: string, width: number, ellipsis = '…'): string {
  if (displayWidth(text) <= width) return text;
  const room = width - displayWidth(ellipsis);
  if (room <= 0) return ellipsis.slice(0, Math.max(0, width));
  let out = '';
  let used = 0;
  for (const { segment } of new Intl.Segmenter().segment(text)) {
    const w = displayWidth(segment);
    if (used + w > room) break;
    out += segment;
    used += w;
  }
  return out + ellipsis;
}

/** Pads (or cuts) `text` to exactly `width` display cells. */
export function fit(text: string, width: number, align: 'left' | 'right' = 'left', ellipsis = '…'): string {
  const cut = truncate(text, width, ellipsis);
  const pad = ' '.repeat(Math.max(0, width - displayWidth(cut)));
  return align === 'right' ? pad + cut : cut + pad;
}

/** Decides which columns show and how wide; `cells` are the rows' texts, already made safe. */
export function layoutTable(columns: LayoutColumn[], cells: string[][], o: LayoutOptions = {}): Layout {
  const gap = o.gap ?? 2;
  const ellipsis = o.ellipsis ?? '…';
  const natural = columns.map((c, i) => Math.max(displayWidth(c.label), ...cells.map((row) => displayWidth(row[i] ?? ''))));
  const offset = Math.max(0, Math.min(o.offset ?? 0, columns.length - 1));
  // Scrolled: the first column, then the columns from the offset on, as many as fit.
  let indexes = columns.map((_, i) => i).filter((i) => i === 0 || i >= offset);
  const hidden = columns.map((_, i) => i).filter((i) => i !== 0 && i < offset);
  const widths = natural.slice();
  const total = () => indexes.reduce((sum, i) => sum + widths[i]!, 0) + gap * Math.max(0, indexes.length - 1);
  const max = o.maxWidth;
  if (max !== undefined && total() > max) {
    const rank = (i: number) => (i === 0 ? Infinity : (columns[i]!.priority ?? 0));
    // Least important first; among equals, the rightmost.
    const order = () => indexes.filter((i) => i !== 0).sort((a, b) => rank(a) - rank(b) || b - a);
    const floor = (i: number) => Math.min(natural[i]!, Math.max(displayWidth(columns[i]!.label), MIN_CELL));
    if (offset === 0) {
      // Least important first, one priority at a time: shrink its columns (the widest first) down to
      // their floor; if the table still does not fit, drop them (the rightmost first), before any more
      // important column is touched.
      const ranks = [...new Set(order().map(rank))].sort((a, b) => a - b);
      for (const level of ranks) {
        const group = order().filter((i) => rank(i) === level);
        for (const i of [...group].sort((a, b) => natural[b]! - natural[a]!)) {
          if (total() <= max) break;
          widths[i] = Math.max(floor(i), widths[i]! - (total() - max));
        }
        for (const i of group) {
          if (total() <= max) break;
          indexes = indexes.filter((x) => x !== i);
          hidden.push(i);
        }
        if (total() <= max) break;
      }
    } else {
      // Scrolled: keep table order, cut at the right edge. The column that reaches the edge is shrunk
      // to the room left when that is at least its floor (a long column is shown cut, not skipped).
      const kept = [indexes[0]!];
      let used = widths[indexes[0]!]!;
      for (const i of indexes.slice(1)) {
        const room = max - used - gap;
        if (widths[i]! <= room) {
          kept.push(i);
          used += gap + widths[i]!;
          continue;
        }
        if (room >= floor(i)) {
          widths[i] = room;
          kept.push(i);
        }
        break;
      }
      if (kept.length === 1 && indexes.length > 1) kept.push(indexes[1]!);
      hidden.push(...indexes.filter((i) => !kept.includes(i)));
      indexes = kept;
    }
    // 3. Still too wide (one huge column, a tiny screen): shrink what is left, the first column last.
    for (const i of [...indexes].reverse()) {
      if (total() <= max) break;
      widths[i] = Math.max(1, widths[i]! - (total() - max));
    }
  }
  hidden.sort((a, b) => a - b);
  return {
    shown: indexes.map((index) => ({ index, width: widths[index]! })),
    hidden,
    shrunk: indexes.filter((i) => widths[i]! < natural[i]!),
    gap,
    ellipsis,
  };
}

/**
 * One line per row (and the header first), cells padded to their column; the last column is not
 * padded, and trailing spaces are trimmed. `decorate` may wrap each fitted cell (colour tags in the
 * TUI); it gets the cell and its column index, and is not used on the header.
 */
export function renderLines(layout: Layout, columns: LayoutColumn[], cells: string[][], decorate?: (cell: string, index: number) => string): string[] {
  const line = (vals: string[], deco?: (cell: string, index: number) => string) =>
    layout.shown
      .map(({ index, width }, n) => {
        const last = n === layout.shown.length - 1;
        let cell = fit(vals[index] ?? '', width, columns[index]!.align, layout.ellipsis);
        if (last) cell = cell.trimEnd();
        return deco ? deco(cell, index) : cell;
      })
      .join(' '.repeat(layout.gap))
      .trimEnd();
  return [line(columns.map((c) => c.label)), ...cells.map((row) => line(row, decorate))];
}

/** Layout and lines in one call: the text of a table (no width limit unless given). */
export function textTable(columns: LayoutColumn[], cells: string[][], o: LayoutOptions = {}): string[] {
  return renderLines(layoutTable(columns, cells, o), columns, cells);
}
