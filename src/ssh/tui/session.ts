import type { Widgets } from 'blessed';
import { blessed } from './blessed.ts';
import { stringWidth } from '../../core/string-width.ts';
import type { ServerChannel } from 'ssh2';
import type { Actor } from '../../core/actor.ts';
import { publicMessage } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { Registry } from '../../ops/registry.ts';
import { stripControl } from '../../core/terminal-text.ts';
import type { CountInvoke, ScreenInvoke, ScreenInvokeOptions, TuiApp, TuiScreenContext } from './apps.ts';
import { confirmDialog } from './dialog.ts';
import { HomeScreen, type StatusBoard } from './home.ts';
import { releaseCellsWhenIdle } from './idle-cells.ts';
import { helpLines, hintLine, WORDS, type KeyHint } from './keys.ts';
import { listHints } from './list-keys.ts';
import { TerminalPort, terminalProfile } from './terminal.ts';
import { sharedProgram } from './terminfo.ts';
import { themeFor, type Theme } from './theme.ts';
import { wrapInto } from './wrap.ts';

export interface TuiSession {
  channel: ServerChannel;
  actor: Actor;
  pty: { term: string; cols: number; rows: number };
  env: Record<string, string>;
  onExit: () => void;
  /** Open this app (its id) instead of the home menu: `ssh -t HOST crm`. */
  startApp?: string;
}

export interface TuiSessionDeps {
  registry: Registry;
  log: Logger;
  hostname: string;
  appsFor(actor: Actor): TuiApp[];
  status: StatusBoard;
}

interface Level {
  title: string;
  keys: KeyHint[];
  /** What Escape does on this level (the app level and home have none: Escape leaves the app). */
  back?: () => void;
  /** Shown instead of the hints (an error opening an app). */
  notice?: string;
}

const CRASH_NOTICE = 'error: the terminal UI failed and this session was closed (see the server log)';

/** One PTY session's screen: the home menu, the open app, and a clean end however it comes. */
export class TuiScreenSession {
  private readonly screen: Widgets.Screen;
  private readonly port: TerminalPort;
  private readonly theme: Theme;
  private readonly header: Widgets.BoxElement;
  private readonly footer: Widgets.BoxElement;
  private readonly body: Widgets.BoxElement;
  /** Home (no app) or the open app, then panes and detail views it pushed; the top one owns the footer and Escape. */
  private levels: Level[] = [];
  private help: Widgets.BoxElement | undefined;
  private homeScreen: HomeScreen | undefined;
  /** The home menu's cursor, kept while apps come and go. */
  private homeIndex = 0;
  private app: { abort: AbortController; handle?: { destroy(): void } } | undefined;
  private dialogs = 0;
  private closed = false;
  private readonly stopCellRelease: () => void;
  private warning: string | undefined;
  private readonly onChannelClose = () => this.close(0);
  private readonly onChannelError = (err: Error) => {
    this.deps.log.debug({ err: err.message }, 'TUI channel error');
    this.close(0);
  };

  constructor(
    private readonly deps: TuiSessionDeps,
    private readonly session: TuiSession,
  ) {
    const { channel, actor } = session;
    const profile = terminalProfile(session.pty, session.env);
    this.theme = themeFor(session.env, profile.unicode);
    this.port = new TerminalPort(
      channel,
      profile,
      (err) => this.fault(err),
      () => this.close(1),
    );
    this.screen = blessed.screen({
      // The terminfo of this TERM is parsed once and shared by every session on it (terminfo.ts).
      program: sharedProgram({ input: this.port.input, output: this.port.output, term: profile.term, unicode: profile.unicode }),
      // Decided from the client's locale, never from this server process's environment.
      forceUnicode: profile.unicode,
      fullUnicode: profile.unicode,
      smartCSR: true,
      warnings: false,
      autoPadding: true,
      ignoreLocked: ['C-c'],
    } as Widgets.IScreenOptions);
    this.stopCellRelease = releaseCellsWhenIdle(this.screen);

    this.header = blessed.box({ parent: this.screen, top: 0, left: 0, right: 0, height: 1, tags: false, style: this.theme.title });
    this.body = blessed.box({ parent: this.screen, top: 1, left: 0, right: 0, bottom: 1 });
    this.footer = blessed.box({ parent: this.screen, bottom: 0, left: 0, right: 0, height: 1, tags: true, style: this.theme.hint });

    channel.on('close', this.onChannelClose);
    channel.on('error', this.onChannelError);
    this.screen.key(['q', 'C-c'], () => this.close(0));
    this.screen.key(['escape'], () => {
      if (this.dialogs === 0) this.back();
    });
    this.screen.key(['?'], () => {
      if (this.dialogs === 0) this.toggleHelp();
    });
    this.screen.on('resize', () => this.drawChrome());
    this.home();
    const start = session.startApp ? deps.appsFor(actor).find((a) => a.id === session.startApp) : undefined;
    if (start) {
      this.homeIndex = deps.appsFor(actor).indexOf(start);
      this.openApp(start);
    }
  }

  /** The title line (where you are) and the footer (the keys of the top level). */
  private drawChrome(): void {
    const sep = ` ${this.theme.glyphs.separator} `;
    const { actor } = this.session;
    const where = this.levels.map((l) => l.title).filter(Boolean);
    this.header.setContent(' ' + [stripControl(this.deps.hostname), `${stripControl(actor.name)} (${actor.role})`, ...where.map(stripControl)].join(sep));
    const top = this.levels[this.levels.length - 1];
    // A warning (the credential expires soon) takes the footer's place until the session ends.
    const warning = this.warning ? ` {bold}${blessed.escape(stripControl(this.warning))}{/bold}` : undefined;
    this.footer.setContent(top?.notice ?? warning ?? hintLine(top?.keys ?? [], !this.app, this.theme, this.screen.width as number));
    this.screen.render();
  }

  /** Escape: closes the help, else the top level (a pane, a detail view), else the app. */
  private back(): void {
    if (this.help) return this.closeHelp();
    const top = this.levels[this.levels.length - 1];
    if (top?.back) return top.back();
    if (this.app) this.home();
  }

  private toggleHelp(): void {
    if (this.help) return this.closeHelp();
    const top = this.levels[this.levels.length - 1];
    // Inside the overlay: the screen less a line above and below it, its border and its side padding.
    const room = { rows: Math.max((this.screen.height as number) - 4, 3), cols: Math.max((this.screen.width as number) - 6, 16) };
    const lines = helpLines(top?.title || (this.app ? 'this screen' : 'home'), top?.keys ?? [], !this.app, room);
    const width = Math.min(Math.max(...lines.map((l) => stringWidth(l))) + 4, Math.max((this.screen.width as number) - 2, 20));
    this.screen.saveFocus();
    const box = blessed.box({
      parent: this.screen,
      top: 'center',
      left: 'center',
      width,
      height: Math.min(lines.length + 2, Math.max((this.screen.height as number) - 2, 5)),
      border: { type: 'line' },
      label: ` ${WORDS.help} ${this.theme.glyphs.separator} esc ${WORDS.back}${lines.length > room.rows ? ` ${this.theme.glyphs.separator} ${this.theme.glyphs.upDown} ${WORDS.scroll}` : ''} `,
      style: { border: this.theme.border },
      content: lines.join('\n'),
      tags: false,
      scrollable: true,
      keys: true,
      padding: { left: 1, right: 1 },
    });
    box.focus();
    this.help = box;
    this.screen.render();
  }

  private closeHelp(): void {
    const box = this.help;
    if (!box) return;
    this.help = undefined;
    box.destroy();
    this.screen.restoreFocus();
    this.screen.render();
  }

  resize(cols: number, rows: number): void {
    this.port.resize(cols, rows);
  }

  private home(): void {
    this.leaveApp();
    const { actor } = this.session;
    const apps = this.deps.appsFor(actor);
    const { move, more } = listHints(this.theme, { filter: true });
    const menuKeys = [move, { keys: ['enter'], label: WORDS.open, help: 'open the selected app' }, ...more];
    this.homeScreen = new HomeScreen({
      parent: this.body,
      screen: this.screen,
      actor,
      registry: this.deps.registry,
      theme: this.theme,
      apps,
      board: this.deps.status,
      index: this.homeIndex,
      mayRun: (path) => {
        const command = this.deps.registry.get(path);
        return !!command && this.deps.registry.allowed(actor, command);
      },
      invoke: (signal) =>
        ((target: readonly string[], args: Record<string, unknown>) =>
          this.deps.registry.invoke(actor, target, args, { surface: 'tui', signal })) as CountInvoke,
      notConfigured: (app) => this.notConfigured(app),
      keys: menuKeys,
      pushLevel: (level) => this.pushLevel(level),
      // The menu comes back where the user left it.
      onOpen: (index) => {
        this.homeIndex = index;
        this.openApp(apps[index]!);
      },
    });
    this.levels = [{ title: '', keys: menuKeys }];
    this.drawChrome();
  }

  /** A level over the home menu (its kept filter): Escape calls its `back`; the returned function removes it. */
  private pushLevel(level: { title: string; keys: KeyHint[]; back(): void }): () => void {
    const entry: Level = { title: level.title, keys: level.keys, back: level.back };
    this.levels.push(entry);
    this.drawChrome();
    return () => {
      const i = this.levels.indexOf(entry);
      if (i === -1) return;
      this.levels.splice(i);
      if (!this.closed) this.drawChrome();
    };
  }

  /** The backend (or the config section) an app needs is not configured: what to set, from the module's neutral status. */
  private notConfigured(app: TuiApp): string | undefined {
    const command = app.needs && this.deps.registry.get(app.needs);
    const backend = command ? this.deps.registry.backendOf(command) : undefined;
    if (backend && !backend.configured) return backend.notConfigured;
    return command?.notConfigured?.();
  }

  private openApp(app: TuiApp): void {
    this.leaveApp();
    const missing = this.notConfigured(app);
    if (missing) {
      // Not an empty screen: one line saying what to set, Escape back.
      this.app = { abort: new AbortController() };
      this.levels = [{ title: app.title, keys: [] }];
      const notice = blessed.box({ parent: this.body, top: 1, left: 2, right: 2, bottom: 0, tags: false, style: this.theme.error });
      wrapInto(notice, `${app.title}: ${stripControl(missing)}`);
      this.drawChrome();
      return;
    }
    const abort = new AbortController();
    this.app = { abort };
    const { actor } = this.session;
    const appLevel: Level = { title: app.title, keys: [] };
    this.levels = [appLevel];
    const ctx: TuiScreenContext = {
      screen: this.screen,
      parent: this.body,
      actor,
      registry: this.deps.registry,
      theme: this.theme,
      signal: abort.signal,
      invoke: ((target: readonly string[], args: Record<string, unknown>, opts?: ScreenInvokeOptions) =>
        this.deps.registry.invoke(actor, target, args, {
          surface: 'tui',
          confirmed: opts?.confirmed ?? false,
          signal: opts?.signal ? AbortSignal.any([abort.signal, opts.signal]) : abort.signal,
          onProgress: opts?.onProgress,
          io: opts?.io,
        })) as ScreenInvoke,
      confirm: (question) => {
        this.dialogs++;
        return confirmDialog(this.screen, question, this.theme).finally(() => this.dialogs--);
      },
      back: () => {
        if (this.app?.abort === abort && !this.closed) this.home();
      },
      setKeys: (keys) => {
        if (this.app?.abort !== abort) return;
        appLevel.keys = keys;
        this.drawChrome();
      },
      // A screen that was closed meanwhile pushes nothing.
      pushLevel: (level) => (this.app?.abort !== abort ? () => {} : this.pushLevel(level)),
    };
    try {
      this.app.handle = app.open(ctx) ?? undefined;
    } catch (err) {
      this.deps.log.error({ err, app: app.id, user: actor.name }, 'TUI app failed to open');
      this.home();
      this.levels[0]!.notice = ` error: ${stripControl(publicMessage(err))}`;
    }
    this.drawChrome();
  }

  /** Ends the open app (if any) and empties the body. */
  private leaveApp(): void {
    this.closeHelp();
    this.homeScreen?.destroy();
    this.homeScreen = undefined;
    const app = this.app;
    this.app = undefined;
    this.levels = [];
    if (app) {
      app.abort.abort();
      try {
        app.handle?.destroy();
      } catch (err) {
        this.deps.log.warn({ err }, 'TUI app failed to close');
      }
    }
    for (const child of this.body.children.slice()) (child as Widgets.BlessedElement).destroy();
  }

  /**
   * labd is stopping: leave the alternate screen, show the cursor, say why, end with status 1.
   * Resolves when the client has closed the channel, i.e. has read all of it: OpenSSH drops
   * output it has not yet written when the connection's disconnect arrives first.
   */
  /** Shows `text` on the status line from now on (e.g. the credential expires in a minute). */
  warn(text: string): void {
    if (this.closed) return;
    this.warning = `! ${text}`;
    this.drawChrome();
  }

  shutdown(reason: string): Promise<void> {
    const { channel } = this.session;
    const closed = channel.destroyed ? Promise.resolve() : new Promise<void>((resolve) => channel.once('close', () => resolve()));
    this.close(1, reason);
    return closed;
  }

  /** Something threw inside this session's key or resize handling: end this session, only this one. */
  private fault(err: unknown): void {
    if (this.closed) return;
    this.deps.log.error({ err, user: this.session.actor.name }, 'TUI session crashed');
    this.close(1, CRASH_NOTICE);
  }

  private close(code: number, notice?: string): void {
    if (this.closed) return;
    this.closed = true;
    const { channel } = this.session;
    this.port.detachInput();
    try {
      this.leaveApp();
    } catch (err) {
      this.deps.log.warn({ err }, 'TUI app teardown failed');
    }
    this.stopCellRelease();
    try {
      // Restores the client's terminal (normal buffer, cursor) and unregisters blessed's instances.
      this.screen.destroy();
    } catch (err) {
      this.deps.log.warn({ err }, 'TUI screen teardown failed');
    }
    this.port.close();
    channel.off('close', this.onChannelClose);
    channel.off('error', this.onChannelError);
    // A late error on the closed channel must not become an uncaught 'error' event.
    channel.on('error', ignoreError);
    if (!channel.destroyed && channel.writable) {
      if (notice) channel.write(`${notice}\r\n`);
      channel.exit(code);
      channel.end();
    }
    this.session.onExit();
  }
}

function ignoreError(): void {}
