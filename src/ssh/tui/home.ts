/**
 * The home screen as the console's front page (k9s's header): a live status strip over the apps,
 * each app with its count, refreshed while the screen is open. Everything on it comes from registry
 * commands run as the user (so it shows only what they may see) or from status sources that modules
 * contribute over read-only ports (Alertmanager, the Matrix homeserver); nothing reads a store.
 */
import type { Widgets } from 'blessed';
import { blessed } from './blessed.ts';
import type { Actor } from '../../core/actor.ts';
import { publicMessage } from '../../core/errors.ts';
import type { Permission } from '../../core/permissions.ts';
import { layoutTable, renderLines } from '../../core/table-layout.ts';
import { alertsList } from '../../ops/alerts/commands.ts';
import type { BackendStatus } from '../../ops/backends.ts';
import type { Leadership } from '../../ops/leader/port.ts';
import type { Registry } from '../../ops/registry.ts';
import type { Result } from '../../ops/result.ts';
import { stripControl } from '../../core/terminal-text.ts';
import type { CountInvoke, TuiApp } from './apps.ts';
import type { KeyHint } from './keys.ts';
import { bindListKeys, ListFilter } from './list-keys.ts';
import type { Theme } from './theme.ts';

/** How often the open home screen reads its status again (ssh.homeRefresh's default). */
export const HOME_REFRESH_MS = 5000;

export type StatusLevel = 'ok' | 'warn' | 'bad' | 'off';

export interface StatusReading {
  level: StatusLevel;
  /** A few words: 'reachable', '2 firing, 1 unacknowledged', 'not configured'. */
  text: string;
}

/**
 * A status a module contributes to the home strip (Alertmanager reachable, Matrix connected). It must
 * be read-only and cheap; the host keeps one reading for every session for `ttlMs`, so many open
 * home screens cost one probe.
 */
export interface StatusSource {
  id: string;
  label: string;
  /** Shown only to users holding this permission. */
  permission: Permission | 'authenticated';
  read(signal: AbortSignal): Promise<StatusReading>;
}

/** Readings shared by every session: one probe per source per interval, whatever the number of viewers. */
export class StatusBoard {
  private readonly sources: StatusSource[] = [];
  private readonly cache = new Map<string, { at: number; reading: Promise<StatusReading> }>();

  private readonly ttlMs: number;

  /** `refreshMs`: how often an open home screen reads again; a reading is kept a little less long. */
  constructor(readonly refreshMs = HOME_REFRESH_MS) {
    this.ttlMs = Math.round(refreshMs * 0.9);
  }

  add(source: StatusSource): void {
    if (this.sources.some((s) => s.id === source.id)) throw new Error(`status source '${source.id}' added twice`);
    this.sources.push(source);
  }

  list(): readonly StatusSource[] {
    return this.sources;
  }

  read(source: StatusSource): Promise<StatusReading> {
    const now = performance.now();
    const cached = this.cache.get(source.id);
    if (cached && now - cached.at < this.ttlMs) return cached.reading;
    const signal = AbortSignal.timeout(Math.max(1000, this.ttlMs));
    const reading = source.read(signal).catch((): StatusReading => ({ level: 'bad', text: 'unreachable' }));
    this.cache.set(source.id, { at: now, reading });
    return reading;
  }
}

/** What the home screen needs from its session. */
export interface HomeContext {
  parent: Widgets.BoxElement;
  screen: Widgets.Screen;
  actor: Actor;
  registry: Registry;
  theme: Theme;
  apps: TuiApp[];
  board: StatusBoard;
  mayRun(path: readonly string[]): boolean;
  /** What to set when the app's backend is not configured (undefined: it is, or it needs none). */
  notConfigured(app: TuiApp): string | undefined;
  /** Runs a read-only command as the user (through the registry: authorized, counted), by its typed handle or its path. */
  invoke(signal: AbortSignal): CountInvoke;
  /** Where the cursor was last time. */
  index: number;
  onOpen(index: number): void;
  /** A level over the menu (a kept filter): Escape calls its `back`. Returns the function that removes it. */
  pushLevel(level: { title: string; keys: KeyHint[]; back(): void }): () => void;
  /** The menu's keys, for the filter's level. */
  keys: KeyHint[];
}

const COLOURS: Record<StatusLevel, string | undefined> = { ok: 'green', warn: 'yellow', bad: 'red', off: undefined };
const MARKS: Record<StatusLevel, [string, string]> = { ok: ['●', '*'], warn: ['●', '!'], bad: ['●', 'x'], off: ['○', '-'] };

/** The home screen of one session: status strip, greeting, the app menu with counts. Call destroy when leaving. */
export class HomeScreen {
  private readonly strip: Widgets.BoxElement;
  private readonly list: Widgets.ListElement;
  /** `/` filters the apps by title and description; `shown` are the indexes of those it lets through. */
  private readonly filter: ListFilter;
  private readonly choose: Widgets.TextElement;
  private shown: number[] = [];
  private readonly abort = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private readonly counts = new Map<string, string>();
  private strips: { label: string; reading: StatusReading }[] = [];
  private busy = false;

  constructor(private readonly ctx: HomeContext) {
    const { theme, actor, apps } = ctx;
    this.strip = blessed.box({ parent: ctx.parent, top: 0, left: 1, right: 1, height: 2, tags: true, content: ' status: reading…' });
    blessed.text({ parent: ctx.parent, top: 3, left: 2, content: `Welcome to labd, ${stripControl(actor.name)}.`, style: theme.title });
    this.choose = blessed.text({
      parent: ctx.parent,
      top: 4,
      left: 2,
      right: 2,
      content: apps.length ? 'Choose an app:' : 'No apps are open to you yet. Try the commands: ssh HOST help',
    });
    this.list = blessed.list({
      parent: ctx.parent,
      top: 6,
      left: 2,
      right: 2,
      bottom: 0,
      keys: true,
      vi: false,
      tags: false,
      items: this.items() as never,
      style: { selected: theme.selected },
    });
    this.filter = new ListFilter({ screen: ctx.screen, pushLevel: ctx.pushLevel }, this.list, { changed: () => this.redraw(true), keys: () => ctx.keys });
    bindListKeys(this.list, { paused: () => this.filter.active });
    this.list.select(Math.min(ctx.index, Math.max(apps.length - 1, 0)));
    this.list.on('select', (_item, index) => {
      const app = this.shown[index];
      if (!this.filter.active && app !== undefined) ctx.onOpen(app);
    });
    this.list.focus();
    this.timer = setInterval(() => this.refresh(), ctx.board.refreshMs);
    this.onResize = () => this.redraw();
    ctx.screen.on('resize', this.onResize);
    this.refresh();
  }

  private readonly onResize: () => void;

  destroy(): void {
    this.abort.abort();
    clearInterval(this.timer);
    this.ctx.screen.off('resize', this.onResize);
  }

  /** The app lines: title, what it is, its count, laid out by the shared table layout. */
  private items(): string[] {
    this.shown = this.ctx.apps.flatMap((a, i) => (!this.filter || this.filter.matches(`${a.title} ${a.description}`) ? [i] : []));
    const rows = this.shown.map((i) => this.ctx.apps[i]!).map((a) => [a.title, a.description, this.counts.get(a.id) ?? ''].map((cell) => stripControl(cell)));
    const columns = [
      { label: '', priority: 9 },
      { label: '', priority: -1 },
      { label: '', priority: 5 },
    ];
    const width = Math.max(20, (this.ctx.screen.width as number) - 4);
    return renderLines(layoutTable(columns, rows, { maxWidth: width, ellipsis: this.ctx.theme.unicode ? '…' : '~' }), columns, rows).slice(1);
  }

  private refresh(): void {
    if (this.busy || this.abort.signal.aborted) return;
    this.busy = true;
    this.read()
      .catch(() => undefined)
      .finally(() => {
        this.busy = false;
        this.redraw(false, true);
      });
  }

  private async read(): Promise<void> {
    const { signal } = this.abort;
    const jobs: Promise<unknown>[] = [];
    const strips: { label: string; reading: Promise<StatusReading> }[] = [];
    if (this.ctx.mayRun(['nodes'])) strips.push({ label: 'cluster', reading: this.cluster(signal) });
    if (this.ctx.mayRun(['alerts'])) strips.push({ label: 'alerts', reading: this.alerts(signal) });
    for (const source of this.ctx.board.list()) {
      if (this.allowed(source.permission)) strips.push({ label: source.label, reading: this.ctx.board.read(source) });
    }
    for (const app of this.ctx.apps) {
      if (this.ctx.notConfigured(app)) {
        this.counts.set(app.id, 'not configured');
        continue;
      }
      if (!app.count) continue;
      jobs.push(
        app
          .count({ invoke: this.ctx.invoke(signal), mayRun: (path) => this.ctx.mayRun(path) })
          .then((text) => (text === undefined ? this.counts.delete(app.id) : this.counts.set(app.id, text)))
          .catch(() => this.counts.set(app.id, '?')),
      );
    }
    const readings = await Promise.all(strips.map(async (s) => ({ label: s.label, reading: await s.reading })));
    await Promise.all(jobs);
    if (!signal.aborted) this.strips = readings;
  }

  private allowed(permission: Permission | 'authenticated'): boolean {
    return permission === 'authenticated' || this.ctx.registry.can(this.ctx.actor, permission);
  }

  private async cluster(signal: AbortSignal): Promise<StatusReading> {
    try {
      const result = await this.ctx.invoke(signal)(['nodes'], {});
      const rows = result.kind === 'table' ? result.rows : [];
      const ready = rows.filter((r) => /^Ready/.test(String(r.status))).length;
      return { level: ready === rows.length ? 'ok' : 'bad', text: `reachable, nodes ${ready}/${rows.length} ready` };
    } catch (err) {
      return unavailable(err);
    }
  }

  private async alerts(signal: AbortSignal): Promise<StatusReading> {
    try {
      const groups = (await this.ctx.invoke(signal)(alertsList, { all: true })).json;
      const firing = groups.filter((g) => g.status === 'firing').length;
      const unacked = groups.filter((g) => g.state === 'firing').length;
      return { level: unacked ? 'bad' : firing ? 'warn' : 'ok', text: `${firing} firing, ${unacked} unacknowledged` };
    } catch (err) {
      return unavailable(err);
    }
  }

  /** What the last redraw showed: a refresh that reads the same draws nothing (an idle screen stays idle, see idle-cells.ts). */
  private shownText = '';

  private redraw(filtered = false, onlyIfChanged = false): void {
    if (this.abort.signal.aborted) return;
    const { theme } = this.ctx;
    const sep = ` ${theme.glyphs.separator} `;
    const parts = this.strips.map(({ label, reading }) => {
      const mark = MARKS[reading.level][theme.unicode ? 0 : 1];
      const colour = theme.color ? COLOURS[reading.level] : undefined;
      const text = blessed.escape(`${mark} ${stripControl(reading.text)}`);
      return `{bold}${blessed.escape(label)}{/bold} ${colour ? `{${colour}-fg}${text}{/${colour}-fg}` : text}`;
    });
    const strip = parts.length ? ' ' + parts.join(sep) : '';
    const text = this.filter.value;
    const typing = this.filter.active ? '_' : '';
    const choose = text || typing ? `Choose an app: / ${stripControl(text)}${typing}` : 'Choose an app:';
    const items = this.items();
    const shown = [strip, choose, ...items].join('\n');
    if (onlyIfChanged && shown === this.shownText) return;
    this.shownText = shown;
    this.strip.setContent(strip);
    if (this.ctx.apps.length) this.choose.setContent(choose);
    const selected = (this.list as unknown as { selected: number }).selected;
    this.list.setItems(items as never);
    this.list.select(filtered ? 0 : selected);
    this.ctx.screen.render();
  }
}

/** A backend's neutral status (src/ops/backends.ts) as a reading of the strip. */
export function backendReading(b: BackendStatus | undefined): StatusReading {
  if (!b || !b.configured) return { level: 'off', text: 'not configured' };
  if (b.reachable === null) return { level: 'warn', text: 'not checked yet' };
  return b.reachable ? { level: 'ok', text: 'reachable' } : { level: 'bad', text: 'unreachable' };
}

/** This replica's role in the strip: leader (runs the Matrix bot, alert polling, mirrors…) or follower, and how it is elected. */
export function leaderReading(l: Pick<Leadership, 'isLeader' | 'engine'>): StatusReading {
  if (l.engine === 'single') return { level: 'ok', text: 'leader' };
  return l.isLeader() ? { level: 'ok', text: `leader (${l.engine})` } : { level: 'ok', text: `follower (${l.engine})` };
}

/** A failed status read: not configured (off) or unreachable (bad), in a few words. */
function unavailable(err: unknown): StatusReading {
  const message = publicMessage(err);
  if (/not configured|^no .* configured/i.test(message)) return { level: 'off', text: 'not configured' };
  return { level: 'bad', text: 'unreachable' };
}
