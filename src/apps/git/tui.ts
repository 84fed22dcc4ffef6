import type { Widgets } from 'blessed';
import { blessed } from '../../ssh/tui/blessed.ts';
import { repoBlob, repoBranches, repoInfo, repoLog, repoLs, repoShow, repoTags, repoTree, type RepoJson } from './api.ts';
import { stripControl } from '../../core/terminal-text.ts';
import type { TuiApp, TuiScreenContext } from '../../ssh/tui/apps.ts';
import { StatusLine } from '../../ssh/tui/status-line.ts';
import { WORDS, type KeyHint } from '../../ssh/tui/keys.ts';
import { bindListKeys, ListFilter, listHints } from '../../ssh/tui/list-keys.ts';
import { markdownForTerminal } from '../../ssh/tui/markdown.ts';
import { paneKeys, scrollPane } from '../../ssh/tui/widgets.ts';

type Listed = RepoJson;
/** A key of a pane: the repository's views (1–5) and the clone command. */
interface PaneKey {
  keys: string[];
  label: string;
  run: () => void;
}

/**
 * The git screen (soft-serve's tabs, read-only): the repositories you may read, `/` to filter;
 * enter opens one on its README; 1 README, 2 Files (enter: into a folder or a file with line
 * numbers), 3 Commits (enter: the commit with its diff), 4 Branches, 5 Tags. Everything goes through the registry.
 */
export const gitTuiApp: TuiApp = {
  id: 'git',
  title: 'Git',
  description: 'repositories: readme, files, commits',
  permission: 'git.read',
  open(ctx) {
    return new GitScreen(ctx);
  },
};

class GitScreen {
  private readonly list: Widgets.ListElement;
  private readonly heading: Widgets.TextElement;
  private readonly filter: ListFilter;
  private readonly line: StatusLine;
  private repos: Listed[] = [];
  private shown: Listed[] = [];
  private readonly panes: { box: Widgets.BlessedElement; pop: () => void }[] = [];
  /** Where the open repository's tab list is in `panes` (-1: none): its keys 1–5 work in every pane above it. */
  private repoDepth = -1;

  constructor(private readonly ctx: TuiScreenContext) {
    this.heading = blessed.text({ parent: ctx.parent, top: 0, left: 1, right: 1, height: 1, tags: false, content: 'Repositories', style: ctx.theme.title });
    ctx.setKeys(this.keys());
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
    this.line = new StatusLine(ctx);
    this.filter = new ListFilter(ctx, this.list, { changed: (text) => this.applyFilter(text), keys: () => this.keys() });
    bindListKeys(this.list, { paused: () => this.filter.active });
    this.list.on('select', (_item, index) => {
      if (!this.filter.active) this.guard(() => this.openRepo(this.shown[index]));
    });
    this.list.key(['C-r'], () => this.guard(() => this.load()));
    this.list.focus();
    this.guard(() => this.load());
  }

  destroy(): void {
    for (const p of this.panes) p.box.destroy();
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

  private keys(): KeyHint[] {
    const { move, more } = listHints(this.ctx.theme, { filter: true });
    return [move, { keys: ['enter'], label: 'open' }, { keys: ['C-r'], label: WORDS.refresh, help: 'read the list again' }, ...more];
  }

  private applyFilter(value: string): void {
    const filter = value.trim();
    this.shown = this.repos.filter((r) => this.filter.matches(r.name) || this.filter.matches(r.description));
    const typing = this.filter.active ? '_' : '';
    this.heading.setContent(filter || typing ? `Repositories / ${stripControl(filter)}${typing}` : 'Repositories');
    const width = Math.max(8, ...this.shown.map((r) => r.name.length)) + 2;
    this.list.setItems(
      this.shown.map(
        (r) => `${stripControl(r.name).padEnd(width)}${(r.access ?? '').padEnd(12)}${r.private ? 'private  ' : '         '}${stripControl(r.description)}`,
      ) as never,
    );
    this.list.select(0);
    this.say(
      filter ? `${this.shown.length} of ${this.repos.length} match '${filter}'` : `${this.repos.length} repositor${this.repos.length === 1 ? 'y' : 'ies'}`,
    );
  }

  private async load(): Promise<void> {
    const result = await this.ctx.invoke(repoLs, {});
    if (this.gone) return;
    this.repos = result.json;
    this.applyFilter(this.filter.value);
  }

  /** A scrolling text pane on top of the screen, closed with backspace/left or escape. */
  private pane(title: string, content: string, o: { markdown?: boolean; extraKeys?: PaneKey[] } = {}): void {
    const close = () => this.closeTop();
    const extraKeys = o.extraKeys ?? [];
    const box = scrollPane(this.ctx.screen, this.ctx.parent, this.ctx.theme, {
      label: title,
      backKeys: ['backspace', 'left'],
      onBack: close,
      content: o.markdown ? markdownForTerminal(content) : stripControl(content),
      tagged: o.markdown,
    });
    for (const k of extraKeys) box.key(k.keys, k.run);
    const keys = [...paneKeys(this.ctx.theme), ...extraKeys.map((k) => ({ keys: k.keys, label: k.label }))];
    this.panes.push({ box, pop: this.ctx.pushLevel({ title, keys, back: close }) });
  }

  /** A list pane: enter calls `onSelect` with the item's index; `/` filters the items. */
  private listPane(title: string, items: string[], onSelect: (i: number) => void, extraKeys: PaneKey[] = []): Widgets.ListElement {
    const close = () => this.closeTop();
    const { move, more } = listHints(this.ctx.theme, { filter: true });
    const keys = [move, { keys: ['enter'], label: 'open' }, ...extraKeys.map((k) => ({ keys: k.keys, label: k.label })), ...more];
    const label = ` ${stripControl(title)} `;
    const box = blessed.list({
      parent: this.ctx.parent,
      top: 0,
      left: 0,
      right: 0,
      bottom: 0,
      border: { type: 'line' },
      label,
      keys: true,
      vi: false,
      tags: false,
      items: items.map(stripControl) as never,
      style: { selected: this.ctx.theme.selected, border: this.ctx.theme.border },
    });
    // The items the filter shows, by their index in `items`.
    let shown = items.map((_, i) => i);
    const filter = new ListFilter(this.ctx, box, {
      changed: (text, typing) => {
        shown = items.flatMap((item, i) => (filter.matches(item) ? [i] : []));
        box.setItems(shown.map((i) => stripControl(items[i]!)) as never);
        box.select(0);
        box.setLabel(text || typing ? `${label}/ ${stripControl(text)}${typing ? '_' : ''} ` : label);
        this.ctx.screen.render();
      },
      keys: () => keys,
    });
    // While a filter is typed, every key is text.
    const idle = () => !filter.active;
    box.on('select', (_i, index) => idle() && shown[index] !== undefined && onSelect(shown[index]));
    bindListKeys(box, { paused: () => filter.active });
    box.key(['backspace', 'left'], () => idle() && close());
    for (const k of extraKeys) box.key(k.keys, () => idle() && k.run());
    box.focus();
    this.panes.push({ box, pop: this.ctx.pushLevel({ title, keys, back: close }) });
    this.ctx.screen.render();
    return box;
  }

  private closeTop(): void {
    const top = this.panes.pop();
    if (!top) return;
    top.pop();
    top.box.destroy();
    if (this.panes.length <= this.repoDepth) this.repoDepth = -1;
    const below = this.panes[this.panes.length - 1];
    (below ? below.box : this.list).focus();
    this.ctx.screen.render();
  }

  /** The repository's views, on keys 1–5 in its tab list and in every pane opened from it (the README's too). */
  private tabKeys(name: string): PaneKey[] {
    return [
      { keys: ['1'], label: 'readme', run: () => this.switchTo(() => this.readme(name)) },
      { keys: ['2'], label: 'files', run: () => this.switchTo(() => this.files(name, '')) },
      { keys: ['3'], label: 'commits', run: () => this.switchTo(() => this.commits(name)) },
      { keys: ['4'], label: 'branches', run: () => this.switchTo(() => this.refs(name, 'branches')) },
      { keys: ['5'], label: 'tags', run: () => this.switchTo(() => this.refs(name, 'tags')) },
    ];
  }

  /** Another view of the open repository: the panes over its tab list close first, so Escape goes back to the tabs. */
  private switchTo(view: () => Promise<void>): void {
    while (this.repoDepth >= 0 && this.panes.length > this.repoDepth + 1) this.closeTop();
    this.guard(view);
  }

  /** Puts the clone command on the user's clipboard with OSC 52 (the terminal, not labd, holds it). */
  private async copyClone(name: string): Promise<void> {
    const info = await this.ctx.invoke(repoInfo, { name });
    if (this.gone) return;
    const url = info.json.cloneSsh;
    const text = `git clone ${url}`;
    this.ctx.screen.program.write(`\x1b]52;c;${Buffer.from(text).toString('base64')}\x07`);
    this.say(`copied: ${text}`);
  }

  private async openRepo(repo: Listed | undefined): Promise<void> {
    if (!repo) return;
    const tabs = [...this.tabKeys(repo.name), { keys: ['c'], label: 'copy clone command', run: () => this.guard(() => this.copyClone(repo.name)) }];
    this.listPane(`${repo.name}`, ['Readme', 'Files', 'Commits', 'Branches', 'Tags'], (i) => tabs[i]?.run(), tabs);
    this.repoDepth = this.panes.length - 1;
    await this.readme(repo.name);
  }

  private async readme(name: string): Promise<void> {
    const tree = await this.ctx.invoke(repoTree, { name }).catch(() => undefined);
    if (this.gone) return;
    const entries = tree?.json ?? [];
    const file = entries.find((e) => e.type === 'blob' && /^readme(\.(md|markdown|txt))?$/i.test(e.name));
    const tabs = this.tabKeys(name);
    if (!file) return this.pane(`${name}: README`, entries.length ? '(no README)' : '(an empty repository: push to it)', { extraKeys: tabs });
    const blob = await this.ctx.invoke(repoBlob, { name, path: file.path });
    if (this.gone) return;
    this.pane(`${name}: ${file.name}`, blob.kind === 'message' ? blob.text : '', { markdown: /\.(md|markdown)$/i.test(file.name), extraKeys: tabs });
  }

  private async files(name: string, path: string): Promise<void> {
    const tree = await this.ctx.invoke(repoTree, { name, ...(path ? { path } : {}) });
    if (this.gone) return;
    const entries = tree.json;
    this.listPane(
      `${name}: /${path}`,
      entries.map((e) => (e.type === 'tree' ? `${e.name}/` : `${e.name.padEnd(40)} ${e.size ?? ''}`)),
      (i) => {
        const e = entries[i];
        if (!e) return;
        if (e.type === 'tree') this.guard(() => this.files(name, e.path));
        else if (e.type === 'blob') this.guard(() => this.file(name, e.path, e.size ?? 0));
      },
      this.tabKeys(name),
    );
  }

  private async file(name: string, path: string, size: number): Promise<void> {
    const blob = await this.ctx.invoke(repoBlob, { name, path, lines: true });
    if (this.gone) return;
    this.pane(`${name}: ${path}`, blob.json.binary ? `(binary file, ${size} bytes: not shown)` : blob.kind === 'message' ? blob.text : '', {
      extraKeys: this.tabKeys(name),
    });
  }

  private async commits(name: string): Promise<void> {
    const log = await this.ctx.invoke(repoLog, { name, count: 100 });
    if (this.gone) return;
    const commits = log.json;
    this.listPane(
      `${name}: commits`,
      commits.map((c) => `${c.id.slice(0, 8)}  ${c.date.slice(0, 10)}  ${c.author.slice(0, 16).padEnd(16)}  ${c.subject}`),
      (i) => {
        const c = commits[i];
        if (c) this.guard(() => this.commit(name, c.id));
      },
      this.tabKeys(name),
    );
  }

  private async refs(name: string, word: 'branches' | 'tags'): Promise<void> {
    const result = await this.ctx.invoke(word === 'branches' ? repoBranches : repoTags, { name });
    if (this.gone) return;
    const refs = result.json;
    this.listPane(
      `${name}: ${word}`,
      refs.length ? refs.map((r) => `${r.name.padEnd(24)} ${r.id.slice(0, 8)}  ${r.date.slice(0, 10)}  ${r.subject}`) : [`(no ${word})`],
      (i) => {
        const r = refs[i];
        if (r) this.guard(() => this.commit(name, r.id));
      },
      this.tabKeys(name),
    );
  }

  private async commit(name: string, id: string): Promise<void> {
    const shown = await this.ctx.invoke(repoShow, { name, commit: id });
    if (this.gone) return;
    this.pane(`${name}: ${id.slice(0, 8)}`, shown.kind === 'message' ? shown.text : '', { extraKeys: this.tabKeys(name) });
  }
}
