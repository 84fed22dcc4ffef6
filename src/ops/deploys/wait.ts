/** Waiting between polls: bounded by a deadline, ended early when the session goes away. */
import { setTimeout as sleep } from 'node:timers/promises';
import { Failed } from '../../core/errors.ts';

export class Deadline {
  private readonly end: number;
  constructor(readonly seconds: number) {
    this.end = performance.now() + seconds * 1000;
  }
  get passed(): boolean {
    return performance.now() >= this.end;
  }
  /** Sleeps up to `ms`, never past the deadline; throws Failed when the signal aborts. */
  async pause(ms: number, signal: AbortSignal, what: string): Promise<void> {
    const left = Math.max(0, this.end - performance.now());
    try {
      await sleep(Math.min(ms, left), undefined, { signal });
    } catch {
      throw new Failed(`interrupted while ${what}`);
    }
  }
}
