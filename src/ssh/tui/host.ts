import blessed, { type Widgets } from 'blessed';
import type { ServerChannel } from 'ssh2';
import type { Actor } from '../../core/actor.ts';
import { publicMessage } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { Registry } from '../../ops/registry.ts';
import type { TuiApp, TuiScreenContext } from './apps.ts';
import { themeFor } from './theme.ts';

export interface TuiSession {
  channel: ServerChannel;
  actor: Actor;
  pty: { term: string; cols: number; rows: number };
  env: Record<string, string>;
  onExit: () => void;
}

type TtyChannel = ServerChannel & { columns: number; rows: number; isTTY: boolean };

/** Hosts blessed screens over SSH channels; apps register themselves on the home menu. */
export class TuiHost {
  private readonly apps: TuiApp[] = [];

  constructor(
    private readonly registry: Registry,
    private readonly log: Logger,
    private readonly hostname: string,
  ) {}

  register(app: TuiApp): void {
    if (this.apps.some((a) => a.id === app.id)) throw new Error(`TUI app '${app.id}' registered twice`);
    this.apps.push(app);
  }

  appsFor(actor: Actor): TuiApp[] {
    return this.apps.filter((a) => a.permission === 'authenticated' || this.registry.services.rolePermissions[actor.role].includes(a.permission));
  }

  open(session: TuiSession): { resize(cols: number, rows: number): void } {
    const { channel, actor, pty, env } = session;
    const tty = channel as TtyChannel;
    tty.columns = pty.cols;
    tty.rows = pty.rows;
    tty.isTTY = true;
    const theme = themeFor(env);
    const screen = blessed.screen({
      input: channel as never,
      output: channel as never,
      terminal: pty.term,
      smartCSR: true,
      fullUnicode: true,
      warnings: false,
      autoPadding: true,
      title: `labd — ${actor.name}`,
      forceUnicode: !!env.LANG?.includes('UTF-8'),
    } as Widgets.IScreenOptions);
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      try {
        screen.destroy();
      } catch (err) {
        this.log.debug({ err }, 'screen destroy failed');
      }
      if (!channel.destroyed) {
        channel.exit(0);
        channel.end();
      }
      session.onExit();
    };
    channel.on('close', close);

    const header = blessed.box({ parent: screen, top: 0, left: 0, width: '100%', height: 1, content: ` ${this.hostname} · ${actor.name} (${actor.role})`, style: theme.title });
    const body = blessed.box({ parent: screen, top: 1, left: 0, width: '100%', height: '100%-2' });
    const footer = blessed.box({ parent: screen, bottom: 0, left: 0, width: '100%', height: 1, style: theme.dim });
    void header;

    let current: { destroy(): void } | undefined;
    let inApp = false;
    const guard = (fn: () => void) => () => {
      try {
        fn();
      } catch (err) {
        this.log.error({ err }, 'TUI handler failed');
        showError(err);
      }
    };
    const showError = (err: unknown) => {
      footer.setContent(` error: ${publicMessage(err)}`);
      screen.render();
    };

    const home = () => {
      current?.destroy();
      current = undefined;
      inApp = false;
      body.children.slice().forEach((c) => c.destroy());
      const apps = this.appsFor(actor);
      blessed.text({ parent: body, top: 1, left: 2, content: `Welcome to labd, ${actor.name}.`, style: theme.title });
      blessed.text({ parent: body, top: 2, left: 2, content: apps.length ? 'Choose an app:' : 'No apps are open to you yet. Try the commands: ssh HOST help' });
      const list = blessed.list({
        parent: body,
        top: 4,
        left: 2,
        width: '100%-4',
        height: '100%-5',
        keys: true,
        vi: true,
        items: apps.map((a) => `${a.title.padEnd(14)} ${a.description}`),
        style: { selected: theme.selected },
      });
      list.on('select', (_item, index) => guard(() => openApp(apps[index]!))());
      list.focus();
      footer.setContent(' ↑/↓ move · enter open · q quit');
      screen.render();
    };

    const openApp = (app: TuiApp) => {
      body.children.slice().forEach((c) => c.destroy());
      inApp = true;
      footer.setContent(` ${app.title} · esc back · q quit`);
      const ctx: TuiScreenContext = {
        screen,
        parent: body,
        actor,
        registry: this.registry,
        theme,
        run: (argv, opts) => this.registry.execute({ actor, argv, confirmed: opts?.confirmed ?? false }, 'tui'),
        confirm: (question) => confirmDialog(screen, question, theme),
        back: home,
      };
      current = app.open(ctx) ?? undefined;
      screen.render();
    };

    screen.key(['q', 'C-c'], guard(close));
    screen.key(['escape'], guard(() => {
      if (inApp) home();
    }));
    home();
    return {
      resize: (cols, rows) => {
        tty.columns = cols;
        tty.rows = rows;
        channel.emit('resize');
      },
    };
  }
}

function confirmDialog(screen: Widgets.Screen, question: string, theme: ReturnType<typeof themeFor>): Promise<boolean> {
  return new Promise((resolve) => {
    const box = blessed.box({ parent: screen, top: 'center', left: 'center', width: Math.min(60, question.length + 8), height: 5, border: { type: 'line' }, style: { border: theme.border }, content: ` ${question}\n\n  y: yes   n: no`, tags: false });
    const done = (answer: boolean) => {
      for (const k of ['y', 'n', 'escape']) screen.unkey(k, handler);
      box.destroy();
      screen.render();
      resolve(answer);
    };
    const handler = (_ch: unknown, key: { name: string }) => done(key.name === 'y');
    screen.key(['y', 'n', 'escape'], handler);
    box.focus();
    screen.render();
  });
}
