/**
 * Leader election on a `coordination.k8s.io/v1` Lease, as client-go's leaderelection package does it:
 *
 * - every retry period, read the Lease; a Lease that does not exist is created (holding it), one whose
 *   holder is empty (released) or has not renewed for its leaseDurationSeconds is taken over, one held
 *   by another replica is left alone;
 * - "has not renewed" is judged on this replica's clock: the time it last saw the Lease change (its
 *   resourceVersion), not the renewTime written by another machine, so clock skew does not matter;
 * - the leader renews every retry period by an update that carries the resourceVersion it read: a 409
 *   Conflict means another replica wrote first, a lost race, and is not an error;
 * - a leader that has not renewed successfully within the renew deadline (counted from the start of the
 *   last successful request) stops being leader at once, by a timer, whatever its requests are doing.
 *   The renew deadline is shorter than the lease duration, and another replica takes over only after
 *   seeing the Lease unchanged for the whole lease duration: the old leader's loops are stopped first,
 *   so two leaders never act at once;
 * - on a graceful stop the leader releases the Lease (empty holder), and another takes over at its next try.
 *
 * The Kubernetes API is reached through `LeaseApi`, implemented over @kubernetes/client-node in
 * src/ops/kube (the only place the SDK is imported).
 */
import { systemClock, type Clock } from '../../core/clock.ts';
import type { Logger } from '../../core/logger.ts';
import { LeaderListeners, LeaderState, type Leadership } from './port.ts';

/** The Lease's spec, as labd reads and writes it (times are RFC 3339 with microseconds). */
export interface LeaseRecord {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface LeaseObject {
  resourceVersion: string;
  record: LeaseRecord;
}

/** One Lease (its name and namespace are the adapter's), get/create/update with optimistic concurrency. */
export interface LeaseApi {
  /** Where the Lease is, for logs: namespace/name on the API server. */
  readonly where: string;
  /** The Lease, or undefined when it does not exist. */
  get(signal: AbortSignal): Promise<LeaseObject | undefined>;
  /** Creates the Lease; 'conflict' when it exists already (another replica created it first). */
  create(record: LeaseRecord, signal: AbortSignal): Promise<LeaseObject | 'conflict'>;
  /** Replaces the Lease's spec if its resourceVersion is still `resourceVersion`; 'conflict' when it is not. */
  update(record: LeaseRecord, resourceVersion: string, signal: AbortSignal): Promise<LeaseObject | 'conflict'>;
}

export interface LeaseTimings {
  /** How long a Lease that is not renewed keeps others from taking it (client-go: 15 s). */
  leaseDurationMs: number;
  /** How long the leader keeps trying to renew before it stops being leader (client-go: 10 s). */
  renewDeadlineMs: number;
  /** The wait between tries, to acquire or to renew (client-go: 2 s). */
  retryPeriodMs: number;
}

export const DEFAULT_LEASE_TIMINGS: LeaseTimings = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

/** client-go's JitterFactor: the wait between tries to acquire is the retry period plus up to 1.2 times it. */
const JITTER_FACTOR = 1.2;

/** The checks client-go's NewLeaderElector makes, as one message (undefined: fine). */
export function leaseTimingsProblem(t: LeaseTimings): string | undefined {
  if (t.leaseDurationMs <= t.renewDeadlineMs) return 'the lease duration must be longer than the renew deadline';
  if (t.renewDeadlineMs <= JITTER_FACTOR * t.retryPeriodMs) return `the renew deadline must be longer than ${JITTER_FACTOR} times the retry period`;
  if (t.retryPeriodMs <= 0) return 'the retry period must be longer than 0';
  return undefined;
}

export interface LeaseElectorOptions extends LeaseTimings {
  api: LeaseApi;
  identity: string;
  log: Logger;
  /** A monotonic clock in ms (tests may move it); default performance.now. */
  now?: () => number;
  /** 0..1 for the jitter of the wait between tries to acquire; default Math.random. */
  random?: () => number;
  /** The wall clock the Lease's acquireTime and renewTime are written with (only read by people). */
  clock?: Clock;
}

export class LeaseElector implements Leadership {
  readonly engine = 'lease' as const;
  readonly identity: string;
  private readonly api: LeaseApi;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly clock: Clock;
  private readonly t: LeaseTimings;
  private readonly listeners: LeaderListeners;
  private readonly state: LeaderState;
  /** The Lease as last seen, and when (this replica's clock) it was first seen with that resourceVersion. */
  private observed: LeaseObject | undefined;
  private observedAt = 0;
  /** When the request that last acquired or renewed the Lease was started. */
  private renewedAt = 0;
  private loop: Promise<void> | undefined;
  private readonly stopping = new AbortController();
  private failing = false;

  constructor(o: LeaseElectorOptions) {
    const problem = leaseTimingsProblem(o);
    if (problem) throw new Error(`leader election: ${problem}`);
    this.api = o.api;
    this.identity = o.identity;
    this.log = o.log.child({ component: 'leader', lease: o.api.where, identity: o.identity });
    this.now = o.now ?? (() => performance.now());
    this.random = o.random ?? Math.random;
    this.clock = o.clock ?? systemClock;
    this.t = { leaseDurationMs: o.leaseDurationMs, renewDeadlineMs: o.renewDeadlineMs, retryPeriodMs: o.retryPeriodMs };
    this.listeners = new LeaderListeners((err) => this.log.error({ err }, 'a leadership listener failed'));
    this.state = new LeaderState(this.listeners, this.log);
  }

  isLeader(): boolean {
    return this.state.leader;
  }

  onChange(listener: (leader: boolean) => void): () => void {
    return this.listeners.add(listener);
  }

  start(): void {
    if (this.loop || this.stopping.signal.aborted) return;
    this.log.info(
      { leaseDurationMs: this.t.leaseDurationMs, renewDeadlineMs: this.t.renewDeadlineMs, retryPeriodMs: this.t.retryPeriodMs },
      'campaigning for leadership',
    );
    this.loop = this.run().catch((err: unknown) => {
      // Not expected (every request's failure is caught in the loop); the deadline timer still stops a leader.
      this.log.error({ err }, 'leader election stopped');
    });
  }

  /** Stops trying; the leader stops being leader and releases the Lease so another replica takes over at once. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
    const wasLeader = this.state.leader;
    this.state.stepDown('labd is stopping');
    if (wasLeader) await this.release();
  }

  /** Stops without releasing (what a killed process leaves behind), for tests: others take over once the Lease expires. */
  async abandon(): Promise<void> {
    this.stopping.abort();
    await this.loop;
    this.state.stepDown('abandoned');
  }

  private async run(): Promise<void> {
    while (!this.stopping.signal.aborted) {
      const started = this.now();
      // A leader's request may last until its renew deadline; a follower's, one renew deadline.
      const budget = this.state.leader ? this.renewedAt + this.t.renewDeadlineMs - started : this.t.renewDeadlineMs;
      const signal = AbortSignal.any([this.stopping.signal, AbortSignal.timeout(Math.max(1, Math.ceil(budget)))]);
      let held = false;
      try {
        held = await this.tryAcquireOrRenew(signal);
        if (this.failing) this.log.info('the Kubernetes API answers again');
        this.failing = false;
      } catch (err) {
        if (this.stopping.signal.aborted) break;
        // Said once per outage; the leader's deadline timer decides what it means.
        if (!this.failing)
          this.log.warn(
            { err: (err as Error).message },
            this.state.leader ? 'could not renew the Lease; retrying' : 'could not read or take the Lease; retrying',
          );
        this.failing = true;
      }
      // A success that came back after the deadline is no renewal to lead on: the next try renews again.
      if (held && !this.stopping.signal.aborted && this.now() - started < this.t.renewDeadlineMs) {
        this.renewedAt = started;
        this.state.renewed(this.renewedAt + this.t.renewDeadlineMs - this.now(), `no renewal within the renew deadline (${this.t.renewDeadlineMs / 1000}s)`);
      }
      const wait = this.state.leader ? this.t.retryPeriodMs : this.t.retryPeriodMs * (1 + this.random() * JITTER_FACTOR);
      await sleep(wait, this.stopping.signal);
    }
  }

  /** One round of client-go's tryAcquireOrRenew: true when this replica holds the Lease now. */
  private async tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const iso = this.clock.now().toISOString();
    const mine: LeaseRecord = {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.ceil(this.t.leaseDurationMs / 1000),
      acquireTime: iso,
      renewTime: iso,
      leaseTransitions: 0,
    };
    const current = await this.api.get(signal);
    if (!current) {
      const created = await this.api.create(mine, signal);
      if (created === 'conflict') {
        this.log.debug('another replica created the Lease first');
        return false;
      }
      this.observe(created);
      return true;
    }
    if (current.resourceVersion !== this.observed?.resourceVersion) this.observe(current);
    const old = current.record;
    const holder = old.holderIdentity ?? '';
    if (holder && holder !== this.identity) {
      const durationMs = (old.leaseDurationSeconds ?? Math.ceil(this.t.leaseDurationMs / 1000)) * 1000;
      if (this.observedAt + durationMs > this.now()) return false;
      this.log.info({ previous: holder }, 'the Lease expired: taking it over');
    }
    if (holder === this.identity) {
      mine.acquireTime = old.acquireTime ?? iso;
      mine.leaseTransitions = old.leaseTransitions ?? 0;
    } else mine.leaseTransitions = (old.leaseTransitions ?? 0) + 1;
    const updated = await this.api.update(mine, current.resourceVersion, signal);
    if (updated === 'conflict') {
      this.log.debug('the Lease changed since it was read: another replica won this round');
      return false;
    }
    this.observe(updated);
    return true;
  }

  private observe(o: LeaseObject): void {
    this.observed = o;
    this.observedAt = this.now();
  }

  /** The leader's watchdog: when the renew deadline passes without a renewal, it stops being leader, even with a request still out. */

  /** Gives the Lease up (client-go's release: empty holder, 1 s duration) if it still names this replica. */
  private async release(): Promise<void> {
    const held = this.observed;
    if (!held || held.record.holderIdentity !== this.identity) return;
    const now = this.clock.now().toISOString();
    const record: LeaseRecord = {
      holderIdentity: '',
      leaseDurationSeconds: 1,
      acquireTime: now,
      renewTime: now,
      leaseTransitions: held.record.leaseTransitions ?? 0,
    };
    try {
      const r = await this.api.update(record, held.resourceVersion, AbortSignal.timeout(this.t.renewDeadlineMs));
      if (r === 'conflict') this.log.info('the Lease changed before it could be released; nothing to release');
      else this.log.info('released the Lease');
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not release the Lease; another replica takes over when it expires');
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
