import type { Widgets } from 'blessed';
import { blessed } from '../../ssh/tui/blessed.ts';
import { stripControl } from '../../core/terminal-text.ts';
import { listCount, type TuiApp, type TuiScreenContext } from '../../ssh/tui/apps.ts';
import { StatusLine } from '../../ssh/tui/status-line.ts';
import { WORDS } from '../../ssh/tui/keys.ts';
import { bindListKeys, ListFilter, listHints } from '../../ssh/tui/list-keys.ts';
import { paneKeys, scrollPane } from '../../ssh/tui/widgets.ts';
import { pasteLs, type PasteJson } from './commands.ts';
import { humanSize } from './format.ts';
import { layoutTable, renderLines, type LayoutColumn } from '../../core/table-layout.ts';

type Listed = PasteJson;

/** The paste screen: your pastes; enter reads one (scrolling), d deletes one after a confirmation. */
export const pasteTuiApp: TuiApp = {
  id: 'paste',
  title: 'Pastes',
  description: 'your pastes: read, delete',
  permission: 'paste',
  count: listCount(['paste', 'ls'], 'paste', 'pastes', { all: true }),
  open(ctx) {
    return new PasteScreen(ctx);
  },
};

class PasteScreen {
  private readonly list: Widgets.ListElement;
  private readonly line: StatusLine;
  private viewer: { box: Widgets.BoxElement; pop: () => void } | undefined;
  /** Every paste, and those the filter shows (the list's rows). */
  private all: Listed[] = [];
  private pastes: Listed[] = [];
  private readonly heading: Widgets.TextElement;
  private readonly filter: ListFilter;

  constructor(private readonly ctx: TuiScreenContext) {
    this.heading = blessed.text({ parent: ctx.parent, top: 0, left: 1, right: 1, height: 1, tags: false, content: 'Your pastes', style: ctx.theme.title });
    const { move, more } = listHints(ctx.theme, { filter: true });
    const keys = [
      move,
      { keys: ['enter'], label: 'read' },
      { keys: ['d'], label: 'delete', help: 'delete the paste, after a confirmation' },
      { keys: ['C-r'], label: WORDS.refresh, help: 'read the list again' },
      ...more,
    ];
    ctx.setKeys(keys);
    this.list = blessed.list({
      parent: ctx.parent,
      top: 2,
      left: 1,
      right: 1,
      bottom: 1,
      keys: true,
      vi: false,
      tags: false,
      items: [],
      style: { selected: ctx.theme.selected },
    });
    this.filter = new ListFilter(ctx, this.list, { changed: () => this.show(), keys: () => keys, enabled: () => !this.viewer });
    bindListKeys(this.list, { paused: () => this.filter.active });
    this.line = new StatusLine(ctx);
    const idle = () => !this.filter.active && !this.viewer;
    this.list.on('select', (_item, index) => idle() && this.guard(() => this.read(index)));
    this.list.key(['d', 'delete'], () => idle() && this.guard(() => this.remove((this.list as unknown as { selected: number }).selected)));
    this.list.key(['C-r', 'r'], () => idle() && this.guard(() => this.load()));
    this.list.focus();
    this.guard(() => this.load());
  }

  destroy(): void {
    this.viewer?.box.destroy();
  }

  private get gone(): boolean {
    return this.ctx.signal.aborted;
  }

  private guard(fn: () => Promise<void>): void {
    this.line.guard(fn);
  }

  private say(text: string, error = false): void {
    this.line.say(text, error);
  }

  private async load(): Promise<void> {
    const result = await this.ctx.invoke(pasteLs, { all: true });
    if (this.gone) return;
    this.all = result.json;
    this.show();
  }

  /** Draws the pastes the filter lets through. */
  private show(): void {
    const text = this.filter.value;
    const typing = this.filter.active ? '_' : '';
    this.heading.setContent(text || typing ? `Your pastes / ${stripControl(text)}${typing}` : 'Your pastes');
    this.pastes = this.all.filter((p) => this.filter.matches(p.name));
    // The shared table layout: display widths, and the name kept longest on a narrow screen.
    const rows = this.pastes.map((p) => [
      stripControl(p.name),
      humanSize(p.size),
      p.binary ? 'binary' : 'text',
      p.expiresAt ? `expires ${p.expiresAt.slice(0, 16).replace('T', ' ')}` : 'no expiry',
      p.hidden ? 'hidden' : '',
    ]);
    const columns: LayoutColumn[] = [
      { label: '', priority: 9 },
      { label: '', align: 'right', priority: 2 },
      { label: '', priority: 1 },
      { label: '' },
      { label: '' },
    ];
    const [, ...items] = renderLines(
      layoutTable(columns, rows, { maxWidth: Math.max(10, this.list.width as number), ellipsis: this.ctx.theme.unicode ? '…' : '~' }),
      columns,
      rows,
    );
    this.list.setItems(items as never);
    this.list.select(0);
    const n = this.all.length;
    if (text) this.say(`${this.pastes.length} of ${n} match '${text}'`);
    else this.say(n ? `${n} paste${n === 1 ? '' : 's'}` : 'no pastes yet: cat FILE | ssh HOST paste NAME');
    this.ctx.screen.render();
  }

  private async read(index: number): Promise<void> {
    const paste = this.pastes[index];
    if (!paste) return;
    const result = await this.ctx.invoke(['paste', 'cat'], { ref: paste.name });
    if (this.gone) return;
    const text = result.kind === 'message' ? result.text : '(nothing to show)';
    const box = scrollPane(this.ctx.screen, this.ctx.parent, this.ctx.theme, {
      label: paste.name,
      backKeys: ['backspace', 'left', 'h'],
      onBack: () => this.closeViewer(),
      content: stripControl(text),
    });
    this.viewer = { box, pop: this.ctx.pushLevel({ title: paste.name, keys: paneKeys(this.ctx.theme), back: () => this.closeViewer() }) };
  }

  private closeViewer(): void {
    this.viewer?.pop();
    this.viewer?.box.destroy();
    this.viewer = undefined;
    this.list.focus();
    this.ctx.screen.render();
  }

  private async remove(index: number): Promise<void> {
    const paste = this.pastes[index];
    if (!paste) return;
    const yes = await this.ctx.confirm(`Delete paste ${paste.name}?`);
    if (this.gone) return;
    this.list.focus();
    if (!yes) return this.say('kept');
    const result = await this.ctx.invoke(['paste', 'rm'], { ref: paste.name }, { confirmed: true });
    if (this.gone) return;
    await this.load();
    this.say(result.kind === 'message' ? result.text : `removed ${paste.name}`);
  }
}
