import blessed, { type Widgets } from 'blessed';
import type { ServerChannel } from 'ssh2';
import type { Actor } from '../../core/actor.ts';
import { publicMessage } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { Registry } from '../../ops/registry.ts';
import { stripControl } from '../../core/terminal-text.ts';
import type { TuiApp, TuiScreenContext } from './apps.ts';
import { confirmDialog } from './dialog.ts';
import { TerminalPort, terminalProfile } from './terminal.ts';
import { themeFor, type Theme } from './theme.ts';

export interface TuiSession {
  channel: ServerChannel;
  actor: Actor;
  pty: { term: string; cols: number; rows: number };
  env: Record<string, string>;
  onExit: () => void;
}

export interface TuiSessionDeps {
  registry: Registry;
  log: Logger;
  hostname: string;
  appsFor(actor: Actor): TuiApp[];
}

/** The parts of blessed's Tput this file adjusts; @types/blessed does not declare them. */
interface TputQuirks {
  brokenACS: boolean;
  numbers: Record<string, number>;
}

const CRASH_NOTICE = 'error: the terminal UI failed and this session was closed (see the server log)';

/** One PTY session's screen: the home menu, the open app, and a clean end however it comes. */
export class TuiScreenSession {
  private readonly screen: Widgets.Screen;
  private readonly port: TerminalPort;
  private readonly theme: Theme;
  private readonly footer: Widgets.BoxElement;
  private readonly body: Widgets.BoxElement;
  private app: { abort: AbortController; handle?: { destroy(): void } } | undefined;
  private dialogs = 0;
  private closed = false;
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
      input: this.port.input as never,
      output: this.port.output as never,
      terminal: profile.term,
      // Decided from the client's locale, never from this server process's environment.
      forceUnicode: profile.unicode,
      fullUnicode: profile.unicode,
      smartCSR: true,
      warnings: false,
      autoPadding: true,
      ignoreLocked: ['C-c'],
    } as Widgets.IScreenOptions);
    const tput = (this.screen.program as unknown as { tput: TputQuirks }).tput;
    // Never switch to the DEC line-drawing set: screen/tmux terminfo enter it with SO, which prints
    // 'lqqk' unless G1 was designated first. Lines are drawn as Unicode, or as ASCII (+-|) without UTF-8.
    tput.brokenACS = true;
    tput.numbers.U8 = profile.unicode ? 1 : 0;
    // blessed looks at this process's TMUX variable; the client's terminal is what counts.
    (this.screen.program as unknown as { tmux: boolean }).tmux = false;

    const sep = this.theme.glyphs.separator;
    blessed.box({ parent: this.screen, top: 0, left: 0, right: 0, height: 1, content: ` ${stripControl(deps.hostname)} ${sep} ${stripControl(actor.name)} (${actor.role})`, style: this.theme.title });
    this.body = blessed.box({ parent: this.screen, top: 1, left: 0, right: 0, bottom: 1 });
    this.footer = blessed.box({ parent: this.screen, bottom: 0, left: 0, right: 0, height: 1, style: this.theme.dim });

    channel.on('close', this.onChannelClose);
    channel.on('error', this.onChannelError);
    this.screen.key(['q', 'C-c'], () => this.close(0));
    this.screen.key(['escape'], () => {
      if (this.app && this.dialogs === 0) this.home();
    });
    this.home();
  }

  resize(cols: number, rows: number): void {
    this.port.resize(cols, rows);
  }

  private home(): void {
    this.leaveApp();
    const { actor } = this.session;
    const { glyphs } = this.theme;
    const apps = this.deps.appsFor(actor);
    blessed.text({ parent: this.body, top: 1, left: 2, content: `Welcome to labd, ${stripControl(actor.name)}.`, style: this.theme.title });
    blessed.text({ parent: this.body, top: 2, left: 2, content: apps.length ? 'Choose an app:' : "No apps are open to you yet. Try the commands: ssh HOST help" });
    const titleWidth = Math.max(12, ...apps.map((a) => a.title.length)) + 2;
    const list = blessed.list({
      parent: this.body,
      top: 4,
      left: 2,
      right: 2,
      bottom: 0,
      keys: true,
      vi: true,
      tags: false,
      items: apps.map((a) => `${a.title.padEnd(titleWidth)}${a.description}`),
      style: { selected: this.theme.selected },
    });
    list.on('select', (_item, index) => this.openApp(apps[index]!));
    list.focus();
    this.footer.setContent(` ${glyphs.upDown} move ${glyphs.separator} enter open ${glyphs.separator} q quit`);
    this.screen.render();
  }

  private openApp(app: TuiApp): void {
    this.leaveApp();
    const abort = new AbortController();
    this.app = { abort };
    const { actor } = this.session;
    const sep = this.theme.glyphs.separator;
    this.footer.setContent(` ${app.title} ${sep} esc back ${sep} q quit`);
    const ctx: TuiScreenContext = {
      screen: this.screen,
      parent: this.body,
      actor,
      registry: this.deps.registry,
      theme: this.theme,
      signal: abort.signal,
      run: (argv, opts) =>
        this.deps.registry.execute({ actor, argv, confirmed: opts?.confirmed ?? false, signal: opts?.signal ? AbortSignal.any([abort.signal, opts.signal]) : abort.signal, onProgress: opts?.onProgress }, 'tui'),
      confirm: (question) => {
        this.dialogs++;
        return confirmDialog(this.screen, question, this.theme).finally(() => this.dialogs--);
      },
      back: () => {
        if (this.app?.abort === abort && !this.closed) this.home();
      },
    };
    try {
      this.app.handle = app.open(ctx) ?? undefined;
    } catch (err) {
      this.deps.log.error({ err, app: app.id, user: actor.name }, 'TUI app failed to open');
      this.home();
      this.footer.setContent(` error: ${publicMessage(err)}`);
    }
    this.screen.render();
  }

  /** Ends the open app (if any) and empties the body. */
  private leaveApp(): void {
    const app = this.app;
    this.app = undefined;
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
