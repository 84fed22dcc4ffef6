/**
 * What each module's backend looks like from here: configured or not, and, when it is, whether the
 * last check reached it. A neutral status every front-end can read: `help` marks commands whose
 * backend is not configured, the TUI marks its entries, /metrics exports it for the alert rules.
 */

import { systemClock, type Clock } from '../core/clock.ts';

export type BackendName = 'kubernetes' | 'alertmanager' | 'matrix';

export const BACKEND_TITLES: Record<BackendName, string> = { kubernetes: 'Kubernetes', alertmanager: 'Alertmanager', matrix: 'Matrix homeserver' };

export interface BackendStatus {
  name: BackendName;
  configured: boolean;
  /** The one line a command prints when the backend is not configured (what to set). */
  notConfigured: string;
  /** null: not checked yet (or not configured). */
  reachable: boolean | null;
  checkedAt: Date | null;
  /** Why the last check failed. */
  error: string | null;
}

type Probe = (signal: AbortSignal) => Promise<unknown>;

export class Backends {
  private readonly status = new Map<BackendName, BackendStatus>();
  private readonly probes = new Map<BackendName, Probe>();

  /** `clock` dates each check (checkedAt). */
  constructor(private readonly clock: Clock = systemClock) {}

  /** A module declares its backend at install; `probe` (configured only) answers whether it is reachable. */
  declare(name: BackendName, o: { configured: boolean; notConfigured: string; probe?: Probe }): void {
    this.status.set(name, { name, configured: o.configured, notConfigured: o.notConfigured, reachable: null, checkedAt: null, error: null });
    if (o.configured && o.probe) this.probes.set(name, o.probe);
    else this.probes.delete(name);
  }

  get(name: BackendName): BackendStatus | undefined {
    const s = this.status.get(name);
    return s && { ...s };
  }

  all(): BackendStatus[] {
    return [...this.status.values()].map((s) => ({ ...s }));
  }

  /** Records the outcome of a call that went to the backend (a probe, or real work). */
  report(name: BackendName, reachable: boolean, error?: string, at = this.clock.now()): void {
    const s = this.status.get(name);
    if (!s || !s.configured) return;
    s.reachable = reachable;
    s.error = reachable ? null : (error ?? 'unreachable').slice(0, 300);
    s.checkedAt = at;
  }

  /** Probes every configured backend once, each bounded by `timeoutMs`. */
  async probeAll(timeoutMs: number): Promise<void> {
    await Promise.all(
      [...this.probes].map(async ([name, probe]) => {
        try {
          await probe(AbortSignal.timeout(timeoutMs));
          this.report(name, true);
        } catch (err) {
          this.report(name, false, (err as Error)?.message ?? String(err));
        }
      }),
    );
  }
}

/** Marks commands as served by a backend: the registry refuses them with its hint while it is not configured. */
export function withBackend<C extends { backend?: BackendName }>(backend: BackendName, commands: readonly C[]): C[] {
  return commands.map((c) => ({ ...c, backend }));
}
