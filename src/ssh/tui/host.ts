import type { Actor } from '../../core/actor.ts';
import { roleHas } from '../../core/permissions.ts';
import type { Logger } from '../../core/logger.ts';
import type { Registry } from '../../ops/registry.ts';
import type { TuiApp } from './apps.ts';
import { TuiScreenSession, type TuiSession } from './session.ts';

export type { TuiSession } from './session.ts';

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

  /** The apps on this actor's home menu, in registration order. */
  appsFor(actor: Actor): TuiApp[] {
    return this.apps.filter((a) => a.permission === 'authenticated' || roleHas(this.registry.services.rolePermissions, actor.role, a.permission));
  }

  /** The app `ssh -t HOST ID` opens directly, when this actor may use it. */
  appFor(id: string, actor: Actor): TuiApp | undefined {
    return this.appsFor(actor).find((a) => a.id === id);
  }

  /** Starts the TUI on a PTY session; the caller forwards window changes to `resize`. */
  open(session: TuiSession): { resize(cols: number, rows: number): void } {
    const screen = new TuiScreenSession({ registry: this.registry, log: this.log, hostname: this.hostname, appsFor: (actor) => this.appsFor(actor) }, session);
    return { resize: (cols, rows) => screen.resize(cols, rows) };
  }
}
