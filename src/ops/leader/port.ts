/**
 * Leadership (issue #21): several labd replicas serve SSH, HTTP and webhooks alike, but the singleton
 * work (the Matrix bot's sync loop and outbox, alert polling and escalation, mirror fetches, CRM
 * reminders, paste sweeps, the node join watcher) runs on one of them only: the leader. An engine
 * decides who that is; the job runner (./jobs.ts) starts the singleton jobs when this replica becomes
 * leader and stops them when it stops being leader.
 */

export type LeaderRole = 'leader' | 'follower';

/** What elects this replica, for logs and /readyz: one process alone, a Kubernetes Lease, a PostgreSQL advisory lock. */
export type ElectionEngine = 'single' | 'lease' | 'postgres';

export interface Leadership {
  readonly engine: ElectionEngine;
  /** Who this replica is to the others (a Lease's holderIdentity): pod name or host name, and pid. */
  readonly identity: string;
  isLeader(): boolean;
  /**
   * Called synchronously at every change, `true` on becoming leader and `false` on stopping being
   * leader (a lost renewal, a lost session, stop). Returns the function that removes the listener.
   */
  onChange(listener: (leader: boolean) => void): () => void;
  /** Starts campaigning (an engine with nothing to campaign for is leader at once). */
  start(): void;
  /** Stops campaigning and gives leadership up (a Lease is released, a lock unlocked) so another replica takes over at once. */
  stop(): Promise<void>;
}

export function roleOf(l: Pick<Leadership, 'isLeader'>): LeaderRole {
  return l.isLeader() ? 'leader' : 'follower';
}

/** Listeners and their calls, shared by the engines: a throwing listener is reported, never breaks the engine. */
export class LeaderListeners {
  private readonly listeners = new Set<(leader: boolean) => void>();

  constructor(private readonly onError: (err: unknown) => void) {}

  add(listener: (leader: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(leader: boolean): void {
    for (const l of [...this.listeners]) {
      try {
        l(leader);
      } catch (err) {
        this.onError(err);
      }
    }
  }
}

/**
 * Whether an elected engine (Lease, advisory lock) leads now, and the deadline by which it must have
 * renewed: past it, it steps down on its own (before the lease can expire, so two never lead at once).
 */
export class LeaderState {
  private leading = false;
  private deadline: NodeJS.Timeout | undefined;

  constructor(
    private readonly listeners: LeaderListeners,
    private readonly log: { info(msg: string): void; warn(obj: object, msg: string): void },
  ) {}

  get leader(): boolean {
    return this.leading;
  }

  /** A renewal (or a first acquisition) succeeded: leads until `ms` from now unless renewed again. */
  renewed(ms: number, why: string): void {
    clearTimeout(this.deadline);
    this.deadline = setTimeout(() => this.stepDown(why), Math.max(0, ms));
    this.deadline.unref();
    if (this.leading) return;
    this.leading = true;
    this.log.info('became leader');
    this.listeners.emit(true);
  }

  stepDown(why: string): void {
    clearTimeout(this.deadline);
    this.deadline = undefined;
    if (!this.leading) return;
    this.leading = false;
    this.log.warn({ reason: why }, 'stopped being leader');
    this.listeners.emit(false);
  }
}
