import type { Actor } from '../../core/actor.ts';
import type { Logger } from '../../core/logger.ts';
import type { Registry } from '../../ops/registry.ts';
import type { TuiApp } from './apps.ts';
import { StatusBoard, type StatusSource } from './home.ts';
import { TuiScreenSession, type TuiSession } from './session.ts';

export type { TuiSession } from './session.ts';

/** Hosts blessed screens over SSH channels; apps register themselves on the home menu. */
export class TuiHost {
  private readonly apps: TuiApp[] = [];
  /** Statuses modules contribute to the home strip, read once for every session. */
  readonly status: StatusBoard;
  private readonly sessions = new Set<TuiScreenSession>();

  /** `homeRefreshMs`: how often an open home screen reads its status again (ssh.homeRefresh). */
  constructor(
    private readonly registry: Registry,
    private readonly log: Logger,
    private readonly hostname: string,
    homeRefreshMs?: number,
  ) {
    this.status = new StatusBoard(homeRefreshMs);
  }

  register(app: TuiApp): void {
    if (this.apps.some((a) => a.id === app.id)) throw new Error(`TUI app '${app.id}' registered twice`);
    this.apps.push(app);
  }

  /** A module's status on the home strip (Alertmanager reachable, Matrix connected). */
  addStatus(source: StatusSource): void {
    this.status.add(source);
  }

  /** The apps on this actor's home menu, in registration order. */
  appsFor(actor: Actor): TuiApp[] {
    return this.apps.filter((a) => a.permission === 'authenticated' || this.registry.can(actor, a.permission));
  }

  /** The app `ssh -t HOST ID` opens directly, when this actor may use it. */
  appFor(id: string, actor: Actor): TuiApp | undefined {
    return this.appsFor(actor).find((a) => a.id === id);
  }

  /**
   * Ends every open TUI session (at shutdown): each client's terminal is restored, then told why.
   * Waits (at most `timeoutMs`) for the clients to close their channels before labd disconnects them.
   */
  async closeAll(reason: string, timeoutMs = 2000): Promise<void> {
    const closed = [...this.sessions].map((screen) => screen.shutdown(reason));
    if (!closed.length) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(closed), new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  /** Starts the TUI on a PTY session; the caller forwards window changes to `resize`. */
  open(session: TuiSession): { resize(cols: number, rows: number): void; warn(text: string): void; shutdown(reason: string): Promise<void> } {
    const tracked: TuiSession = {
      ...session,
      onExit: () => {
        this.sessions.delete(screen);
        session.onExit();
      },
    };
    const screen = new TuiScreenSession(
      { registry: this.registry, log: this.log, hostname: this.hostname, appsFor: (actor) => this.appsFor(actor), status: this.status },
      tracked,
    );
    this.sessions.add(screen);
    return { resize: (cols, rows) => screen.resize(cols, rows), warn: (text) => screen.warn(text), shutdown: (reason) => screen.shutdown(reason) };
  }
}
