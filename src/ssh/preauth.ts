import { isIPv4 } from 'node:net';

export type PreAuthRefusal = 'total' | 'per_source';

export interface PreAuthLimits {
  /** Unauthenticated connections held at once, all sources together (sshd's MaxStartups). */
  maxStartups: number;
  /** Unauthenticated connections held at once from one address (sshd's PerSourceMaxStartups). */
  maxStartupsPerSource: number;
}

/**
 * Counts the connections that have not authenticated yet, in total and per source address, so a
 * flood of silent or slow sockets is refused at accept, before labd spends a key exchange on it.
 * A connection holds its place from accept until it authenticates or closes.
 */
export class PreAuthGate {
  private total = 0;
  /** Prototype-free: keyed by a peer's address. */
  private readonly bySource = new Map<string, number>();

  constructor(private readonly limits: PreAuthLimits) {}

  get held(): number {
    return this.total;
  }

  /** Takes a place for `source`, or says why there is none; `release` gives it back (once). */
  admit(source: string): { ok: true; release: () => void } | { ok: false; reason: PreAuthRefusal } {
    if (this.total >= this.limits.maxStartups) return { ok: false, reason: 'total' };
    const fromSource = this.bySource.get(source) ?? 0;
    if (fromSource >= this.limits.maxStartupsPerSource) return { ok: false, reason: 'per_source' };
    this.total++;
    this.bySource.set(source, fromSource + 1);
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        this.total--;
        const n = (this.bySource.get(source) ?? 1) - 1;
        if (n <= 0) this.bySource.delete(source);
        else this.bySource.set(source, n);
      },
    };
  }
}

/** One key per peer: an IPv4 peer seen through an IPv6 socket (::ffff:a.b.c.d) counts as a.b.c.d. */
export function sourceKey(remoteAddress: string | undefined): string {
  if (!remoteAddress) return 'unknown';
  const mapped = /^::ffff:(.+)$/i.exec(remoteAddress);
  if (mapped && isIPv4(mapped[1]!)) return mapped[1]!;
  return remoteAddress.toLowerCase();
}

/**
 * Logs refusals without letting a flood flood the log: the first one at once, then at most one
 * line per interval with how many were refused since.
 */
export class ThrottledLog {
  private suppressed = 0;
  private last = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly emit: (fields: Record<string, unknown>) => void,
    private readonly now: () => number = Date.now,
  ) {}

  note(fields: Record<string, unknown>): void {
    const t = this.now();
    if (t - this.last >= this.intervalMs) {
      this.emit(this.suppressed ? { ...fields, alsoRefused: this.suppressed } : fields);
      this.last = t;
      this.suppressed = 0;
    } else this.suppressed++;
  }
}
