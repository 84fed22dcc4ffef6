import type { Widgets } from 'blessed';
import { blessed } from '../blessed.ts';
import { lazyRequire } from '../../../core/lazy-require.ts';

const yaml = lazyRequire<typeof import('yaml')>('yaml');
import { publicMessage } from '../../../core/errors.ts';
import type { z } from 'zod';
import type { CommandHandle } from '../../../ops/registry.ts';
import type { Result } from '../../../ops/result.ts';
import { cellText } from '../../render.ts';
import { stripControl } from '../../../core/terminal-text.ts';
import type { ScreenInvokeOptions, TuiScreenContext } from '../apps.ts';
import { promptDialog } from '../dialog.ts';
import { layoutTable, renderLines, textTable } from '../../../core/table-layout.ts';
import { sideHint, WORDS, type KeyHint } from '../keys.ts';
import { bindListKeys, ListFilter, listHints } from '../list-keys.ts';
import { paneKeys, recordText, scrollPane, setPaneText } from '../widgets.ts';

/** How often an open screen runs its list command again. */
export const REFRESH_MS = 3000;

type TableResult = Extract<Result, { kind: 'table' }>;
export type Row = TableResult['rows'][number];

/** A key on the list: shown in the key line, run on the selected row (or on none when the list is empty and `needsRow` is false). */
export interface TableAction {
  keys: string[];
  label: string;
  /** A longer sentence for the `?` help. */
  help?: string;
  needsRow?: boolean;
  run(row: Row | undefined): Promise<void>;
}

/**
 * A registry command and its arguments: by its typed handle, built with `call(handle, args)` so the
 * compiler checks the arguments against the command's schema; or by its words and named arguments.
 */
export type Call = { handle: CommandHandle; args: Record<string, unknown> } | { path: readonly string[]; args?: Record<string, unknown> };

/** A call by a command's typed handle, its arguments checked against the schema's input type. */
export function call<S extends z.ZodObject>(handle: CommandHandle<S>, args: z.input<S>): Call {
  return { handle, args: args as Record<string, unknown> };
}

export interface TableScreenOptions {
  title: string;
  /** The list command; asked again at every refresh, so a toggle can change it. */
  list(): Call;
  /** The row field naming the object (passed back to commands). */
  key: string;
  actions: TableAction[];
}

/**
 * A k9s-like screen over one list command: the table, refreshed while open, actions on the selected
 * row, a status line for results and one-line errors, and a scrollable pane for longer answers.
 * It only runs registry commands through the TUI context.
 */
export class TableScreen {
  private readonly heading: Widgets.TextElement;
  private readonly header: Widgets.TextElement;
  private readonly list: Widgets.ListElement;
  private readonly status: Widgets.BoxElement;
  private readonly timer: NodeJS.Timeout;
  private rows: Row[] = [];
  private result: TableResult | undefined;
  private title: string;
  /** Columns scrolled past with ←/→ (the first column stays). */
  private offset = 0;
  private sideways = false;
  private loading = false;
  /** The status line shows a refresh error (or nothing yet): the next good refresh replaces it. */
  private stale = true;
  private destroyed = false;
  private readonly onResize: () => void;
  private pane: { box: Widgets.BoxElement; abort: AbortController; pop: () => void } | undefined;
  /** `/` filters the rows shown (the list command still answers them all). */
  private readonly filter: ListFilter;

  constructor(
    private readonly ctx: TuiScreenContext,
    private readonly opts: TableScreenOptions,
  ) {
    const { theme } = ctx;
    this.title = opts.title;
    this.heading = blessed.text({ parent: ctx.parent, top: 0, left: 1, right: 1, height: 1, tags: false, content: opts.title, style: theme.title });
    this.header = blessed.text({ parent: ctx.parent, top: 2, left: 1, right: 1, height: 1, tags: false, content: '', style: theme.title });
    this.list = blessed.list({
      parent: ctx.parent,
      top: 3,
      left: 1,
      right: 1,
      bottom: 1,
      keys: true,
      vi: false,
      tags: true,
      items: [],
      style: { selected: theme.selected },
    });
    this.status = blessed.box({ parent: ctx.parent, bottom: 0, left: 1, right: 1, height: 1, tags: false, content: 'loading' });
    // Every list opens a detail view on Enter: the screen's own (describe, rollout) or the whole row.
    if (!opts.actions.some((a) => a.keys.includes('enter'))) {
      opts.actions.unshift({ keys: ['enter'], label: WORDS.open, run: async (row) => this.showRow(row!) });
    }
    bindListKeys(this.list, { paused: () => this.filter.active || !!this.pane });
    this.filter = new ListFilter(ctx, this.list, {
      changed: () => this.redraw(),
      keys: () => this.keyHints(),
      enabled: () => !this.pane && !this.gone,
    });
    for (const action of opts.actions) {
      if (action.keys.includes('enter')) this.list.on('select', () => this.act(action));
      else this.list.key(action.keys, () => this.act(action));
    }
    this.list.key(['C-r', 'f5'], () => this.refresh());
    this.list.key(['left', 'right'], (_ch, key: { name: string }) => this.scrollSideways(key.name === 'left' ? -1 : 1));
    this.onResize = () => this.redraw();
    ctx.screen.on('resize', this.onResize);
    this.showKeys();
    this.list.focus();
    this.timer = setInterval(() => this.refresh(), REFRESH_MS);
    ctx.signal.addEventListener('abort', () => this.destroy(), { once: true });
    this.refresh();
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    clearInterval(this.timer);
    this.ctx.screen.off('resize', this.onResize);
    this.closePane();
  }

  get gone(): boolean {
    return this.destroyed || this.ctx.signal.aborted;
  }

  /** Redraws the title (e.g. after a toggle). */
  setTitle(title: string): void {
    this.title = title;
    this.redraw();
  }

  /** One line under the list: what happened, or an error in the error style. */
  say(text: string, error = false): void {
    if (this.gone) return;
    this.stale = false;
    this.status.style = error ? { ...this.ctx.theme.error } : {};
    this.status.setContent(stripControl(text.split('\n')[0] ?? ''));
    this.ctx.screen.render();
  }

  fail(err: unknown): void {
    this.say(`error: ${publicMessage(err)}`, true);
  }

  /** Runs the list command again and keeps the selection on the same object. */
  async reload(): Promise<void> {
    if (this.gone) return;
    this.loading = true;
    try {
      const call = this.opts.list();
      const result = await this.invoke(call);
      if (this.gone) return;
      this.draw(result);
    } finally {
      this.loading = false;
    }
  }

  refresh(): void {
    if (this.loading || this.gone) return;
    this.reload().catch((err: unknown) => {
      this.fail(err);
      this.stale = true;
    });
  }

  /** A yes/no question; the list has the keys again afterwards. */
  async confirm(question: string): Promise<boolean> {
    const yes = await this.ctx.confirm(question);
    if (!this.gone) this.list.focus();
    return yes && !this.gone;
  }

  /** One line of text, or null when cancelled. */
  async prompt(question: string, hint = ''): Promise<string | null> {
    const answer = await promptDialog(this.ctx.screen, question, this.ctx.theme, hint);
    if (this.gone) return null;
    this.list.focus();
    this.ctx.screen.render();
    return answer;
  }

  /**
   * A mutating command after a yes/no question: its progress and then its result on the status line,
   * and the table read again. Answering no changes nothing.
   */
  async confirmAndRun(question: string, call: Call, o: { doing?: string; progress?: boolean } = {}): Promise<void> {
    if (!(await this.confirm(question))) return this.say('nothing changed');
    await this.runAndReload(call, o);
  }

  /** Runs a mutating command (already confirmed by the user), shows its outcome and reloads the table. */
  async runAndReload(call: Call, o: { doing?: string; progress?: boolean } = {}): Promise<void> {
    if (o.doing) this.say(o.doing);
    const result = await this.invoke(call, { confirmed: true, ...(o.progress ? { onProgress: (m: string) => this.say(m) } : {}) });
    this.say(result.kind === 'record' && result.title ? result.title : TableScreen.resultText(result));
    await this.reload();
  }

  /** Opens a pane showing what `call` answers, following its progress until it ends or the pane closes. */
  showInPane(label: string, call: Call, o: { intro?: string } = {}): void {
    this.openPane(label, async (pane) => {
      if (o.intro) pane.add(o.intro);
      const result = await this.invoke(call, { signal: pane.signal, onProgress: (m) => pane.add(m) });
      pane.add(TableScreen.resultText(result));
    });
  }

  /**
   * A scrollable pane over the list for a longer answer; `fill` writes into it and may keep going
   * (progress) until the pane's signal ends. q, Escape or Backspace close it and stop what it runs.
   */
  openPane(label: string, fill: (pane: { add(text: string): void; signal: AbortSignal }) => Promise<void>): void {
    this.closePane();
    const abort = new AbortController();
    const box = scrollPane(this.ctx.screen, this.ctx.parent, this.ctx.theme, { label, backKeys: ['backspace', 'left'], onBack: () => this.closePane(true) });
    // Escape (the session's "back one level") closes the pane; its keys own the footer meanwhile.
    const pop = this.ctx.pushLevel({ title: label, keys: paneKeys(this.ctx.theme), back: () => this.closePane(true) });
    this.pane = { box, abort, pop };
    const lines: string[] = [];
    const add = (text: string) => {
      if (this.pane?.box !== box) return;
      // Split first: stripping control characters would also remove the line breaks.
      lines.push(...text.split(/\r?\n/).map(stripControl));
      setPaneText(box, lines.join('\n'));
      this.ctx.screen.render();
    };
    fill({ add, signal: abort.signal }).catch((err: unknown) => {
      if (!abort.signal.aborted) add(`error: ${publicMessage(err)}`);
    });
  }

  private invoke(c: Call, opts: ScreenInvokeOptions = {}): Promise<Result> {
    return 'handle' in c ? this.ctx.invoke(c.handle, c.args, opts) : this.ctx.invoke(c.path, c.args ?? {}, opts);
  }

  /** Draws a result in a pane as the list would print it: records as "label: value" lines. */
  static resultText(result: Result): string {
    switch (result.kind) {
      case 'record':
        return recordText(result);
      case 'message':
      case 'help':
        return result.text;
      case 'table':
        return textTable(
          result.columns,
          result.rows.map((row) => result.columns.map((c) => cellText(row[c.key]))),
        ).join('\n');
      case 'streamed':
        return '(output was streamed)';
    }
  }

  private closePane(backToList = false): void {
    const pane = this.pane;
    if (!pane) return;
    this.pane = undefined;
    pane.abort.abort();
    pane.pop();
    pane.box.destroy();
    if (backToList && !this.gone) {
      this.list.focus();
      this.ctx.screen.render();
    }
  }

  private selected(): Row | undefined {
    return this.rows[(this.list as unknown as { selected: number }).selected];
  }

  private act(action: TableAction): void {
    if (this.gone || this.pane || this.filter.active) return;
    const row = this.selected();
    if (!row && action.needsRow !== false) return;
    action.run(row).catch((err: unknown) => this.fail(err));
  }

  /** The footer and the `?` help come from this one table. */
  private showKeys(): void {
    this.ctx.setKeys(this.keyHints());
  }

  /** The screen's own keys first (the footer drops from the end when narrow), then the shared list keys. */
  private keyHints(): KeyHint[] {
    const { theme } = this.ctx;
    const { move, more } = listHints(theme, { filter: true });
    return [
      move,
      ...(this.sideways ? [sideHint(theme)] : []),
      ...this.opts.actions.map((a) => ({ keys: a.keys, label: a.label, help: a.help })),
      { keys: ['C-r'], label: WORDS.refresh, help: 'read the list again now (it refreshes every 3 s)' },
      ...more,
    ];
  }

  /**
   * The whole row, every column at full length, the row's other fields, and the command's JSON for
   * it (an alert group's labels and annotations): nothing the table had to cut is lost.
   */
  private showRow(row: Row): void {
    const r = this.result;
    if (!r) return;
    const shown = new Set(r.columns.map((c) => c.key));
    const fields = [
      ...r.columns.map((c) => ({ label: c.label, value: row[c.key] })),
      ...Object.keys(row)
        .filter((k) => !shown.has(k))
        .map((k) => ({ label: k, value: row[k] })),
    ];
    const json = Array.isArray(r.json) && r.json.length === r.rows.length ? r.json[r.rows.indexOf(row)] : undefined;
    const details = json && typeof json === 'object' ? '\n\n' + yaml().stringify(stripDeep(json), { lineWidth: 0 }).trimEnd() : '';
    this.openPane(cellText(row[this.opts.key]), async (pane) => pane.add(recordText({ kind: 'record', fields, json: row }) + details));
  }

  private scrollSideways(step: number): void {
    if (this.gone || this.pane || !this.result) return;
    const max = Math.max(0, this.result.columns.length - 1);
    const next = Math.min(max, Math.max(0, this.offset + step));
    if (next === this.offset) return;
    this.offset = next;
    this.redraw();
  }

  private draw(result: Result): void {
    if (result.kind !== 'table') {
      this.say(TableScreen.resultText(result));
      return;
    }
    const before = this.selected()?.[this.opts.key];
    this.result = result;
    this.redraw();
    const index = this.rows.findIndex((r) => r[this.opts.key] === before);
    this.list.select(index === -1 ? 0 : index);
    if (this.stale) this.say('');
    this.ctx.screen.render();
  }

  /** Lays the last result out for the current width and offset; the title says the count and what is hidden. */
  private redraw(): void {
    if (this.gone) return;
    const { theme } = this.ctx;
    const sep = ` ${theme.glyphs.separator} `;
    const r = this.result;
    if (!r) {
      this.heading.setContent(stripControl(this.title));
      this.ctx.screen.render();
      return;
    }
    const all = r.rows.map((row) => r.columns.map((c) => cellText(row[c.key])));
    // Filtered on what the rows show; the layout is the whole table's, so columns keep still while typing.
    const keep = all.map((cells) => this.filter.matches(cells.join(' ')));
    const before = this.selected();
    this.rows = r.rows.filter((_, i) => keep[i]);
    const cells = all.filter((_, i) => keep[i]);
    const width = Math.max(10, this.list.width as number);
    const layout = layoutTable(r.columns, all, { maxWidth: width, ellipsis: theme.unicode ? '…' : '~', offset: this.offset });
    const [head, ...items] = renderLines(layout, r.columns, cells, (cell, i) => stateCell(blessed.escape(cell), r.columns[i]!.key, cell, theme.color));
    const hidden = layout.hidden.map((i) => r.columns[i]!.label);
    const sideways = hidden.length > 0 || layout.shrunk.length > 0 || this.offset > 0;
    const filter = this.filter.value || this.filter.active ? `${sep}/${stripControl(this.filter.value)}${this.filter.active ? '_' : ''}` : '';
    let title = `${stripControl(this.title)} (${this.filter.value ? `${this.rows.length} of ` : ''}${r.rows.length})${filter}`;
    if (hidden.length) title += `${sep}${theme.glyphs.leftRight} ${hidden.length} more: ${hidden.join(', ')}`;
    else if (layout.shrunk.length) title += `${sep}enter: whole rows`;
    this.heading.setContent(title);
    this.header.setContent(r.rows.length ? (head ?? '') : '');
    const none = r.rows.length ? `(no row matches /${this.filter.value})` : (r.empty ?? '(none)');
    this.list.setItems((this.rows.length ? items : [blessed.escape(stripControl(none))]) as never);
    // The same object stays selected while the filter changes (the first row when it is gone).
    const index = before ? this.rows.indexOf(before) : -1;
    this.list.select(index === -1 ? 0 : index);
    if (sideways !== this.sideways) {
      this.sideways = sideways;
      this.showKeys();
    }
    this.ctx.screen.render();
  }
}

/** The JSON with every string made safe first (YAML would otherwise spell escapes out as \\e…). */
function stripDeep(value: unknown): unknown {
  if (typeof value === 'string') return stripControl(value);
  if (Array.isArray(value)) return value.map(stripDeep);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [stripControl(k), stripDeep(v)]));
  return value;
}

/** Words that say how a thing is, coloured where colour is on: green is well, red needs someone, magenta is in hand. */
const STATE_COLOURS: [RegExp, string][] = [
  [/^(NotReady|Unknown|firing|failed|fail|error|denied|refused|permission|not_found|usage|conflict|unavailable|Failed)/, 'red'],
  [/^(acknowledged|held)/, 'magenta'],
  [/^(Ready|ok|resolved|Running|Complete|Available|succeeded)/, 'green'],
];
const STATE_KEYS = new Set(['status', 'state', 'outcome', 'ready']);

function stateCell(escaped: string, key: string, text: string, colour: boolean): string {
  if (!colour || !STATE_KEYS.has(key)) return escaped;
  const found = STATE_COLOURS.find(([re]) => re.test(text.trim()));
  return found ? `{${found[1]}-fg}${escaped}{/${found[1]}-fg}` : escaped;
}
