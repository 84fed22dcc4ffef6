import type { Widgets } from 'blessed';
import { blessed } from './blessed.ts';
import { textTable } from '../../core/table-layout.ts';
import type { Result } from '../../ops/result.ts';
import { cellText } from '../render.ts';
import { stripControl } from '../../core/terminal-text.ts';
import { WORDS, type KeyHint } from './keys.ts';
import type { Theme } from './theme.ts';
import { wrapInto } from './wrap.ts';

/**
 * Fills the parent's inside. A '100%' width is the parent's outer width, so inside a bordered pane
 * it would cover the right border; offsets of 0 keep the child within the border.
 */
const FILL = { top: 0, left: 0, right: 0, bottom: 0 } as const;

/** TUI renderers, one per result kind: each draws the result into `parent` and returns its widget. */
export const tuiRenderers: { [K in Result['kind']]: (parent: Widgets.BoxElement, r: Extract<Result, { kind: K }>, theme: Theme) => Widgets.BlessedElement } = {
  table(parent, r, theme) {
    if (!r.rows.length) return textBox(parent, r.empty ?? '(none)', theme);
    // Lists with actions are TableScreens; a table shown as a result is laid out whole, and scrolls.
    return textBox(
      parent,
      textTable(
        r.columns,
        r.rows.map((row) => r.columns.map((c) => cellText(row[c.key]))),
      ).join('\n'),
      theme,
    );
  },
  record(parent, r, theme) {
    return textBox(parent, recordText(r), theme);
  },
  message(parent, r, theme) {
    return textBox(parent, stripControl(r.text), theme);
  },
  help(parent, r, theme) {
    return textBox(parent, r.text, theme);
  },
  streamed(parent, _r, theme) {
    return textBox(parent, '(output was streamed)', theme);
  },
};

export function renderTui(parent: Widgets.BoxElement, result: Result, theme: Theme): Widgets.BlessedElement {
  return (tuiRenderers[result.kind] as (p: Widgets.BoxElement, r: Result, t: Theme) => Widgets.BlessedElement)(parent, result, theme);
}

export function textBox(parent: Widgets.BoxElement, text: string, _theme: Theme): Widgets.BoxElement {
  const box = blessed.box({
    parent,
    ...FILL,
    tags: false,
    scrollable: true,
    alwaysScroll: true,
    keys: true,
    vi: true,
    scrollbar: { ch: ' ' } as never,
  });
  wrapInto(box, text, { scrollbar: true });
  return box;
}

/** How each plain scroll pane takes new text: wrapped at word boundaries for its width. */
const paneWriters = new WeakMap<Widgets.BoxElement, (text: string) => void>();

/** Replaces the text of a scroll pane (wrapped at words when the pane is plain text). */
export function setPaneText(box: Widgets.BoxElement, text: string): void {
  const write = paneWriters.get(box);
  if (write) write(text);
  else box.setContent(text);
}

/** A record as "label: value" lines under its title, labels padded to the widest. */
export function recordText(r: Extract<Result, { kind: 'record' }>): string {
  const width = Math.max(0, ...r.fields.map((f) => f.label.length));
  // A value's own line breaks are kept, its later lines indented under the first.
  const value = (v: unknown) =>
    typeof v === 'string'
      ? v
          .split(/\r?\n/)
          .map(stripControl)
          .join('\n' + ' '.repeat(width + 2))
      : cellText(v);
  return (r.title ? stripControl(r.title) + '\n\n' : '') + r.fields.map((f) => `${(f.label + ':').padEnd(width + 2)}${value(f.value)}`).join('\n');
}

/** The keys of a scroll pane, for its level's footer and help (Escape, back, is shared). */
export function paneKeys(theme: Theme): KeyHint[] {
  return [{ keys: [theme.glyphs.upDown, 'pgup', 'pgdn'], label: WORDS.scroll, help: 'scroll the pane' }];
}

/**
 * A bordered, scrollable pane over the whole parent, focused: arrows, vi keys, PageUp/PageDown and
 * space scroll it; `backKeys` (besides Escape, which the session routes) call `onBack`.
 */
export function scrollPane(
  screen: Widgets.Screen,
  parent: Widgets.BoxElement,
  theme: Theme,
  o: {
    label: string;
    backKeys: string[];
    onBack: () => void;
    content?: string;
    /** Content is blessed-tagged text whose source text is escaped (e.g. markdownForTerminal). */ tagged?: boolean;
  },
): Widgets.BoxElement {
  const box = blessed.box({
    parent,
    ...FILL,
    border: { type: 'line' },
    style: { border: theme.border },
    label: ` ${stripControl(o.label)} `,
    content: o.tagged ? (o.content ?? '') : '',
    tags: o.tagged ?? false,
    scrollable: true,
    alwaysScroll: true,
    keys: true,
    vi: true,
    scrollbar: { ch: ' ', style: { inverse: true } } as never,
  });
  if (!o.tagged) paneWriters.set(box, wrapInto(box, o.content ?? '', { scrollbar: true }));
  const page = () => Math.max(1, (box.height as number) - 2);
  box.key(['pagedown', 'space'], () => (box.scroll(page()), screen.render()));
  box.key(['pageup'], () => (box.scroll(-page()), screen.render()));
  box.key(o.backKeys, () => o.onBack());
  box.focus();
  screen.render();
  return box;
}
