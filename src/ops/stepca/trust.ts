/**
 * step-ca as a source of trusted SSH user CA keys: the set step-ca published at the last good
 * fetch. A fetch replaces the set (a rotated-in key is added, a key step-ca no longer lists is
 * dropped); a failed fetch keeps the last good set, says so in the log and in `status()` (read by
 * /readyz), and is tried again sooner, backing off up to the refresh interval.
 */
import { TOPICS, type ChangeNotice } from '../changes/port.ts';
import { backoffDelay } from '../../core/backoff.ts';
import type { Clock } from '../../core/clock.ts';
import type { Logger } from '../../core/logger.ts';
import { fingerprint } from '../../core/sshwire/keys.ts';
import type { Job } from '../module.ts';
import { StepCaError } from './client.ts';

/** What fetches the keys: StepCaClient, or a stand-in in unit tests. */
export interface UserCaKeyFetcher {
  sshUserKeys(): Promise<Buffer[]>;
}

export interface StepCaStatus {
  ok: boolean;
  /** User CA keys trusted from step-ca now. */
  keys: number;
  lastSuccess?: Date;
  /** Why the last fetch failed (absent after a good one). */
  error?: string;
}

/** The first retry after a failure; later ones back off up to the refresh interval. */
const RETRY_BASE_MS = 5_000;

export class StepCaTrust {
  private current: Buffer[] = [];
  private lastSuccess: Date | undefined;
  private lastError: string | undefined = 'not fetched yet';
  private failures = 0;

  constructor(
    private readonly fetcher: UserCaKeyFetcher,
    /** `changes`: where a change of the set is announced, so every replica fetches at once rather than at its next refresh. */
    private readonly o: { url: string; refreshMs: number; clock: Clock; log: Logger; changes?: ChangeNotice },
  ) {}

  /** The user CA keys step-ca vouched for at the last good fetch (the trusted-CA-keys port). */
  blobs(): readonly Buffer[] {
    return this.current;
  }

  status(): StepCaStatus {
    return { ok: this.lastError === undefined, keys: this.current.length, lastSuccess: this.lastSuccess, error: this.lastError };
  }

  /** One fetch. Resolves true when the set was replaced by step-ca's answer; never throws. */
  async refresh(): Promise<boolean> {
    const { log, url } = this.o;
    let fresh: Buffer[];
    try {
      fresh = await this.fetcher.sshUserKeys();
    } catch (err) {
      this.failures++;
      this.lastError = err instanceof StepCaError ? err.message : `fetching step-ca's SSH roots failed: ${String(err)}`;
      const kept = this.lastSuccess
        ? `keeping the ${this.current.length} user CA key(s) fetched at ${this.lastSuccess.toISOString()}`
        : 'no user CA keys from step-ca yet';
      const fields = { stepCa: url, error: this.lastError, kept: this.current.map(fingerprint), failures: this.failures };
      if (err instanceof StepCaError && err.kind === 'mismatch') log.error(fields, `step-ca refused: ${kept}`);
      else log.warn(fields, `step-ca fetch failed: ${kept}`);
      return false;
    }
    const before = new Set(this.current.map(fingerprint));
    const after = new Set(fresh.map(fingerprint));
    const added = [...after].filter((f) => !before.has(f));
    const removed = [...before].filter((f) => !after.has(f));
    // The first fetch is this replica catching up, not news for the others.
    const first = this.lastSuccess === undefined;
    this.current = fresh;
    this.lastSuccess = this.o.clock.now();
    const recovered = this.lastError !== undefined && this.failures > 0;
    this.lastError = undefined;
    this.failures = 0;
    if (added.length || removed.length) {
      log.info({ stepCa: url, added, removed, trusted: [...after] }, 'user CA keys from step-ca changed');
      if (!first) this.o.changes?.publish(TOPICS.trust, { added: added.length, removed: removed.length });
    } else if (recovered) log.info({ stepCa: url, trusted: [...after] }, 'step-ca reachable again; user CA keys unchanged');
    else log.debug({ stepCa: url, trusted: [...after] }, 'user CA keys from step-ca unchanged');
    if (!fresh.length) log.warn({ stepCa: url }, 'step-ca publishes no SSH user CA keys: no certificate is trusted through it');
    return true;
  }

  /** Refreshes every refresh interval; after a failure sooner (5 s, doubling, at most the interval). */
  job(): Job {
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    const schedule = () => {
      if (stopped) return;
      const ms = this.failures
        ? backoffDelay(this.failures - 1, { baseMs: Math.min(RETRY_BASE_MS, this.o.refreshMs), maxMs: this.o.refreshMs })
        : this.o.refreshMs;
      timer = setTimeout(() => void this.refresh().then(schedule), ms);
      timer.unref();
    };
    return {
      name: 'step-ca user CA keys',
      start: schedule,
      stop() {
        stopped = true;
        clearTimeout(timer);
      },
    };
  }
}
