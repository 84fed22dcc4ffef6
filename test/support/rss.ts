/** Memory of another process, for tests and benches that bound what an attack makes labd hold. */
import { readFileSync } from 'node:fs';

/** The resident set size of `pid` in bytes (VmRSS in /proc/PID/status). */
export function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/** Samples a process's RSS on an interval and keeps the peak. */
export class RssSampler {
  readonly baseline: number;
  peak: number;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pid: number,
    intervalMs = 50,
  ) {
    this.baseline = rssBytes(pid);
    this.peak = this.baseline;
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  sample(): number {
    let now = 0;
    try {
      now = rssBytes(this.pid);
    } catch {
      return this.peak;
    }
    if (now > this.peak) this.peak = now;
    return now;
  }

  /** Stops sampling; returns the peak growth over the baseline, in bytes. */
  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peak - this.baseline;
  }
}

export const MiB = 1024 * 1024;
