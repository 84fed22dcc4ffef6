import blessed, { type Widgets } from 'blessed';
import { stripControl } from '../../core/terminal-text.ts';
import { listCount, type TuiApp, type TuiScreenContext } from '../../ssh/tui/apps.ts';
import { StatusLine } from '../../ssh/tui/status-line.ts';
import { WORDS } from '../../ssh/tui/keys.ts';
import { bindListKeys, listHints } from '../../ssh/tui/list-keys.ts';
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
  private pastes: Listed[] = [];

  constructor(private readonly ctx: TuiScreenContext) {
    blessed.text({ parent: ctx.parent, top: 0, left: 1, right: 1, height: 1, tags: false, content: 'Your pastes', style: ctx.theme.title });
    ctx.setKeys([
      listHints(ctx.theme).move,
      { keys: ['enter'], label: 'read' },
      { keys: ['d'], label: 'delete', help: 'delete the paste, after a confirmation' },
      { keys: ['C-r'], label: WORDS.refresh, help: 'read the list again' },
      ...listHints(ctx.theme).more,
    ]);
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
    bindListKeys(this.list);
    this.line = new StatusLine(ctx);
    this.list.on('select', (_item, index) => this.guard(() => this.read(index)));
    this.list.key(['d', 'delete'], () => this.guard(() => this.remove((this.list as unknown as { selected: number }).selected)));
    this.list.key(['C-r', 'r'], () => this.guard(() => this.load()));
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
    this.pastes = result.json;
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
    this.say(this.pastes.length ? `${this.pastes.length} paste${this.pastes.length === 1 ? '' : 's'}` : 'no pastes yet: cat FILE | ssh HOST paste NAME');
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
