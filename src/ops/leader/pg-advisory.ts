/**
 * Leader election on a PostgreSQL advisory lock held on one dedicated session (outside Kubernetes,
 * replicas sharing one database). The lock lives as long as that session: whoever holds it leads.
 *
 * - a follower tries `pg_try_advisory_lock` every retry period (never waits in the lock queue);
 * - the leader checks every retry period that its session still holds the lock; a lost session
 *   (reported by the driver, or a check that fails) or no successful check within the renew deadline
 *   makes it stop being leader at once, by a timer. PostgreSQL frees the lock of a dead session only
 *   when it notices the session is gone, so a replica that lost its connection stops acting before
 *   another can take the lock in every case but a server that noticed first: the deadline bounds that.
 * - on a graceful stop the lock is unlocked and the session closed: another replica leads at its next try.
 *
 * The engine is written against `AdvisoryLockSession`; `pgAdvisorySession` builds one from anything
 * shaped like node-postgres' Pool (so this file imports no driver: src/db owns it).
 */
import type { Logger } from '../../core/logger.ts';
import { LeaderListeners, LeaderState, type Leadership } from './port.ts';

/** The advisory lock labd's replicas elect their leader with ('labl' in ASCII; the migration lock is 'labd'). */
export const LEADER_LOCK_KEY = 0x6c61626c;

/** One dedicated database session and the advisory lock on it. */
export interface AdvisoryLockSession {
  /** Tries to take the lock without waiting (opening the session first if needed): true when this session holds it. */
  tryLock(): Promise<boolean>;
  /** Whether this session still holds the lock (a round trip on the session). */
  holds(): Promise<boolean>;
  /** Unlocks and closes the session. */
  release(): Promise<void>;
  /** Called when the session is lost (connection error or end): the lock went with it. */
  onLost(callback: (err?: Error) => void): void;
}

export interface AdvisoryLeadershipOptions {
  session: AdvisoryLockSession;
  identity: string;
  log: Logger;
  /** A leader with no successful check for this long stops being leader. */
  renewDeadlineMs: number;
  /** The wait between tries to lock, and between the leader's checks. */
  retryPeriodMs: number;
  now?: () => number;
}

export class AdvisoryLockLeadership implements Leadership {
  readonly engine = 'postgres' as const;
  readonly identity: string;
  private readonly o: AdvisoryLeadershipOptions;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly listeners: LeaderListeners;
  private readonly state: LeaderState;
  private checkedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private started = false;
  private round: Promise<void> = Promise.resolve();
  private failing = false;

  constructor(o: AdvisoryLeadershipOptions) {
    if (o.renewDeadlineMs <= o.retryPeriodMs) throw new Error('leader election: the renew deadline must be longer than the retry period');
    this.o = o;
    this.identity = o.identity;
    this.log = o.log.child({ component: 'leader', lock: LEADER_LOCK_KEY, identity: o.identity });
    this.now = o.now ?? (() => performance.now());
    this.listeners = new LeaderListeners((err) => this.log.error({ err }, 'a leadership listener failed'));
    this.state = new LeaderState(this.listeners, this.log);
    o.session.onLost((err) => this.state.stepDown(`the database session holding the lock was lost${err ? `: ${err.message}` : ''}`));
  }

  isLeader(): boolean {
    return this.state.leader;
  }

  onChange(listener: (leader: boolean) => void): () => void {
    return this.listeners.add(listener);
  }

  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.log.info('campaigning for leadership (PostgreSQL advisory lock)');
    this.tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.round;
    this.state.stepDown('labd is stopping');
    try {
      await this.o.session.release();
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not unlock the leader lock; PostgreSQL frees it when the session ends');
    }
  }

  private tick(): void {
    this.round = this.once().finally(() => {
      if (this.stopped) return;
      this.timer = setTimeout(() => this.tick(), this.o.retryPeriodMs);
      this.timer.unref();
    });
  }

  private async once(): Promise<void> {
    const started = this.now();
    let ok = false;
    try {
      ok = this.state.leader ? await this.o.session.holds() : await this.o.session.tryLock();
      if (this.failing) this.log.info('the database answers again');
      this.failing = false;
    } catch (err) {
      if (!this.failing)
        this.log.warn(
          { err: (err as Error).message },
          this.state.leader ? 'could not check the leader lock; retrying' : 'could not try the leader lock; retrying',
        );
      this.failing = true;
    }
    if (this.stopped) return;
    if (this.state.leader && !ok && !this.failing) this.state.stepDown('the session no longer holds the lock');
    if (ok && this.now() - started < this.o.renewDeadlineMs) {
      this.checkedAt = started;
      this.state.renewed(
        this.checkedAt + this.o.renewDeadlineMs - this.now(),
        `no successful check of the lock within the renew deadline (${this.o.renewDeadlineMs / 1000}s)`,
      );
    }
  }
}

/** What `pgAdvisorySession` needs of node-postgres: Pool.connect() and the client it gives. */
export interface PgPoolLike {
  connect(): Promise<PgClientLike>;
}

export interface PgClientLike {
  query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
  release(err?: Error | boolean): void;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
}

/**
 * An advisory lock session over a node-postgres-like pool: one client taken from it and kept (the
 * lock belongs to that session); a lost client is thrown away (release(true)) and the next tryLock
 * takes a new one.
 */
export function pgAdvisorySession(pool: PgPoolLike, key = LEADER_LOCK_KEY): AdvisoryLockSession {
  let client: PgClientLike | undefined;
  let lost: ((err?: Error) => void) | undefined;
  const drop = (err?: Error) => {
    const c = client;
    if (!c) return;
    client = undefined;
    c.release(err ?? true);
    lost?.(err);
  };
  return {
    async tryLock() {
      if (!client) {
        const c = await pool.connect();
        c.on('error', (err: Error) => c === client && drop(err));
        c.on('end', () => c === client && drop(new Error('the connection ended')));
        client = c;
      }
      const c = client;
      try {
        const r = await c.query('select pg_try_advisory_lock($1) as locked', [key]);
        return r.rows[0]?.locked === true;
      } catch (err) {
        if (c === client) drop(err as Error);
        throw err;
      }
    },
    async holds() {
      const c = client;
      if (!c) return false;
      try {
        const r = await c.query(
          // A bigint key is kept as classid (high 32 bits), objid (low 32 bits), objsubid 1.
          `select count(*)::int as n from pg_locks where locktype = 'advisory' and pid = pg_backend_pid() and granted
             and classid::bigint = ($1::bigint >> 32) and objid::bigint = ($1::bigint & 4294967295) and objsubid = 1`,
          [key],
        );
        return Number(r.rows[0]?.n) > 0;
      } catch (err) {
        if (c === client) drop(err as Error);
        throw err;
      }
    },
    async release() {
      const c = client;
      if (!c) return;
      client = undefined;
      try {
        await c.query('select pg_advisory_unlock_all()');
        c.release();
      } catch (err) {
        c.release(err as Error);
        throw err;
      }
    },
    onLost(callback) {
      lost = callback;
    },
  };
}
