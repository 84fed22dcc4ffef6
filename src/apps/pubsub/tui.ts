import type { Widgets } from 'blessed';
import { blessed } from '../../ssh/tui/blessed.ts';
import { Readable, Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { publicMessage } from '../../core/errors.ts';
import { stripControl } from '../../core/terminal-text.ts';
import { listCount, type TuiApp, type TuiScreenContext } from '../../ssh/tui/apps.ts';
import { promptDialog } from '../../ssh/tui/dialog.ts';
import { WORDS, type KeyHint } from '../../ssh/tui/keys.ts';
import { bindListKeys, ListFilter, listHints } from '../../ssh/tui/list-keys.ts';
import type { TopicBroker, TopicInfo } from './broker.ts';
import { topicsList } from './commands.ts';
import { layoutTable, renderLines, type LayoutColumn } from '../../core/table-layout.ts';

const REFRESH_MS = 1000;
const FLUSH_MS = 100;
/** Lines kept in the tail view, and the most drawn per refresh (a flood is summarised). */
const SCROLLBACK = 1000;
const LINES_PER_FLUSH = 200;

const COLUMNS: LayoutColumn[] = [
  { label: 'TOPIC', priority: 9 },
  { label: 'ACCESS', priority: 1 },
  { label: 'SUBS', align: 'right', priority: 2 },
  { label: 'PUBS', align: 'right', priority: 2 },
  { label: 'PIPES', align: 'right' },
  { label: 'MSGS', align: 'right' },
];

function cells(t: TopicInfo): string[] {
  const access = t.access === 'shared' && t.sharedWith ? `shared:${t.sharedWith.join(',')}` : t.access;
  return [t.topic, access, String(t.subscribers), String(t.publishers), String(t.pipes), String(t.messages)].map(stripControl);
}

/** The header and one line per topic, from the shared table layout (display widths, priorities). */
function topicLines(topics: TopicInfo[], width: number, unicode: boolean): string[] {
  const rows = topics.map(cells);
  return renderLines(layoutTable(COLUMNS, rows, { maxWidth: width, ellipsis: unicode ? '…' : '~' }), COLUMNS, rows);
}

/**
 * The pub/sub screen: a live list of topics (`topics`); enter tails one, t tails one by name, escape
 * comes back to the list. Tailing is the registry's `sub` on the TUI surface: the topic rules, the
 * permission check and the metrics are the same as over SSH. The broker only says when to redraw.
 */
export function pubsubTui(broker: TopicBroker): TuiApp {
  return {
    id: 'pubsub',
    title: 'Pub/sub',
    description: 'live topics and their subscribers; tail one',
    permission: 'pubsub',
    count: listCount(['topics'], 'live topic', 'live topics'),
    open(ctx) {
      const view = new PubsubScreen(ctx, broker);
      return { destroy: () => view.destroy() };
    },
  };
}

class PubsubScreen {
  private listView:
    { box: Widgets.BoxElement; header: Widgets.TextElement; list: Widgets.ListElement; filter: ListFilter; all: TopicInfo[]; topics: TopicInfo[] } | undefined;
  private readonly keys: KeyHint[];
  private tail: { box: Widgets.BoxElement; abort: AbortController; timer: NodeJS.Timeout; pop: () => void } | undefined;
  private readonly timer: NodeJS.Timeout;
  private readonly unsubscribe: () => void;
  private refreshQueued = false;
  private destroyed = false;

  private refreshing = false;

  constructor(
    private readonly ctx: TuiScreenContext,
    broker: TopicBroker,
  ) {
    const { move, more } = listHints(ctx.theme, { filter: true });
    this.keys = [
      move,
      { keys: ['enter'], label: 'tail', help: 'follow the messages of the selected topic' },
      { keys: ['t'], label: 'tail by name', help: 'follow a topic by its name (yours, or one shared with you)' },
      ...more,
    ];
    ctx.setKeys(this.keys);
    this.timer = setInterval(() => this.refresh(), REFRESH_MS);
    this.unsubscribe = broker.onChange(() => {
      // Many clients can come and go at once: one redraw per tick is enough.
      if (this.refreshQueued) return;
      this.refreshQueued = true;
      setImmediate(() => {
        this.refreshQueued = false;
        this.refresh();
      });
    });
    ctx.signal.addEventListener('abort', () => this.destroy(), { once: true });
    this.showList();
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    clearInterval(this.timer);
    this.unsubscribe();
    this.closeTail();
  }

  private showList(): void {
    const box = blessed.box({
      parent: this.ctx.parent,
      top: 0,
      left: 0,
      right: 0,
      bottom: 0,
      label: ' topics ',
      border: { type: 'line' },
      style: { border: this.ctx.theme.border },
    });
    const header = blessed.text({ parent: box, top: 0, left: 1, right: 1, height: 1, content: '', tags: false, style: this.ctx.theme.title });
    const list = blessed.list({
      parent: box,
      top: 1,
      left: 1,
      right: 1,
      bottom: 0,
      keys: true,
      vi: false,
      tags: false,
      items: [],
      style: { selected: this.ctx.theme.selected },
    });
    const filter = new ListFilter(this.ctx, list, { changed: () => this.listView && this.draw(this.listView.all), keys: () => this.keys });
    bindListKeys(list, { paused: () => filter.active });
    this.listView = { box, header, list, filter, all: [], topics: [] };
    list.on('select', (_item, index) => {
      const topic = this.listView?.topics[index];
      if (topic && !filter.active) this.openTail(topic.topic);
    });
    list.key(['t'], () => !filter.active && void this.tailByName());
    list.focus();
    this.refresh();
  }

  /** A topic that is not live yet, or someone else's shared one: asked by name, tailed through the registry. */
  private async tailByName(): Promise<void> {
    const answer = await promptDialog(this.ctx.screen, 'Tail which topic?', this.ctx.theme, 'NAME for yours, OWNER/NAME for another');
    if (this.destroyed || !this.listView) return;
    this.listView.list.focus();
    if (answer?.trim()) this.openTail(answer.trim());
    else this.ctx.screen.render();
  }

  private refresh(): void {
    if (this.destroyed || !this.listView || this.refreshing) return;
    this.refreshing = true;
    this.ctx
      .invoke(topicsList, {})
      .then((result) => this.draw(result.json))
      .catch(() => this.draw([]))
      .finally(() => (this.refreshing = false));
  }

  private draw(topics: TopicInfo[]): void {
    if (this.destroyed || !this.listView) return;
    const view = this.listView;
    const selected = view.topics[(view.list as unknown as { selected: number }).selected]?.topic;
    view.all = topics;
    topics = topics.filter((t) => view.filter.matches(t.topic));
    view.topics = topics;
    const text = view.filter.value;
    const typing = view.filter.active ? '_' : '';
    view.box.setLabel(text || typing ? ` topics / ${stripControl(text)}${typing} ` : ' topics ');
    const [head, ...items] = topicLines(topics, Math.max(10, view.list.width as number), this.ctx.theme.unicode);
    view.header.setContent(head!);
    const none = view.all.length
      ? `(no topic matches /${stripControl(text)})`
      : '(no live topics: start one with  ssh HOST sub NAME  or  pub NAME;  t tails one by name)';
    view.list.setItems((topics.length ? items : [none]) as never);
    const index = topics.findIndex((t) => t.topic === selected);
    view.list.select(index === -1 ? 0 : index);
    this.ctx.screen.render();
  }

  private openTail(key: string): void {
    if (!this.listView) return;
    // The list goes away while the tail is open (and comes back whole): its filter with it.
    this.listView.filter.clear();
    this.listView.box.destroy();
    this.listView = undefined;
    const abort = new AbortController();
    const box = blessed.box({
      parent: this.ctx.parent,
      top: 0,
      left: 0,
      right: 0,
      bottom: 0,
      label: ` tail ${stripControl(key)} `,
      border: { type: 'line' },
      style: { border: this.ctx.theme.border },
    });
    const log = blessed.log({ parent: box, top: 0, left: 1, right: 1, bottom: 0, tags: false, scrollable: true, keys: true, vi: true, scrollback: SCROLLBACK });
    const lines: string[] = [];
    let partial = '';
    const decoder = new StringDecoder('utf8');
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        const text = partial + decoder.write(chunk);
        const parts = text.split('\n');
        partial = parts.pop() ?? '';
        // A line without an end is shown once it is long enough to matter.
        if (partial.length > 4096) {
          parts.push(partial);
          partial = '';
        }
        lines.push(...parts.map((p) => stripControl(p)));
        if (lines.length > LINES_PER_FLUSH * 2) lines.splice(0, lines.length - LINES_PER_FLUSH * 2);
        done();
      },
    });
    let skipped = 0;
    const flush = () => {
      if (!lines.length) return;
      const batch = lines.splice(0, lines.length);
      if (batch.length > LINES_PER_FLUSH) {
        skipped += batch.length - LINES_PER_FLUSH;
        log.add(`… ${skipped} lines skipped`);
        batch.splice(0, batch.length - LINES_PER_FLUSH);
      }
      for (const line of batch) log.add(line);
    };
    const timer = setInterval(flush, FLUSH_MS);
    // While tailing, Escape (the session's "back one level") comes back to the list.
    const pop = this.ctx.pushLevel({
      title: `tail ${key}`,
      keys: [{ keys: [this.ctx.theme.glyphs.upDown], label: WORDS.scroll, help: 'scroll the messages' }],
      back: () => this.closeTail(true),
    });
    this.tail = { box, abort, timer, pop };
    log.key(['left'], () => this.closeTail(true));
    log.focus();
    log.add(`tailing ${stripControl(key)} …`);
    this.ctx.screen.render();
    const signal = AbortSignal.any([abort.signal, this.ctx.signal]);
    // `sub` reads nothing: an ended stdin; what it would say on stderr is not for this view.
    const io = { stdin: Readable.from([]), stdout: sink, stderr: new Writable({ write: (_c, _e, done) => done() }) };
    this.ctx.invoke(['sub'], { topic: key, keep: true }, { io, signal }).catch((err: unknown) => {
      if (this.tail?.abort !== abort) return;
      log.add(`error: ${stripControl(publicMessage(err))}`);
      this.ctx.screen.render();
    });
  }

  private closeTail(backToList = false): void {
    const tail = this.tail;
    if (!tail) return;
    this.tail = undefined;
    tail.abort.abort();
    clearInterval(tail.timer);
    tail.pop();
    tail.box.destroy();
    if (backToList && !this.destroyed) this.showList();
  }
}
