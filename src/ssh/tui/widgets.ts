import blessed, { type Widgets } from 'blessed';
import type { Result } from '../../ops/result.ts';
import { cellText, stripControl } from '../render.ts';
import type { Theme } from './theme.ts';

/**
 * Fills the parent's inside. A '100%' width is the parent's outer width, so inside a bordered pane
 * it would cover the right border; offsets of 0 keep the child within the border.
 */
const FILL = { top: 0, left: 0, right: 0, bottom: 0 } as const;

/** TUI renderers, one per result kind: each draws the result into `parent` and returns its widget. */
export const tuiRenderers: { [K in Result['kind']]: (parent: Widgets.BoxElement, r: Extract<Result, { kind: K }>, theme: Theme) => Widgets.BlessedElement } = {
  table(parent, r, theme) {
    if (!r.rows.length) return textBox(parent, r.empty ?? '(none)', theme);
    const data = [r.columns.map((c) => c.label), ...r.rows.map((row) => r.columns.map((c) => cellText(row[c.key]).slice(0, 60)))];
    return blessed.listtable({ parent, ...FILL, data, keys: true, vi: true, mouse: false, tags: false, align: 'left', noCellBorders: true, style: { header: theme.title, cell: { selected: theme.selected } } as never });
  },
  record(parent, r, theme) {
    const width = Math.max(...r.fields.map((f) => f.label.length));
    const text = (r.title ? stripControl(r.title) + '\n\n' : '') + r.fields.map((f) => `${(f.label + ':').padEnd(width + 2)}${cellText(f.value)}`).join('\n');
    return textBox(parent, text, theme);
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
  return blessed.box({ parent, ...FILL, content: text, tags: false, scrollable: true, alwaysScroll: true, keys: true, vi: true, scrollbar: { ch: ' ' } as never });
}
