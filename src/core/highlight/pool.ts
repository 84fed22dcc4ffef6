/**
 * A few worker threads that run highlight.js off the event loop. Each job has a deadline once a
 * worker has it: past it the worker is terminated (highlight.js is quadratic on some inputs, e.g.
 * 64 KiB of `a` as ini took 23 s) and replaced on the next job. Jobs wait in a bounded queue; a
 * full queue, or a wait longer than the deadline, answers "busy" at once. Idle workers end, so
 * highlight.js's heap is not kept at rest.
 */
import { Worker } from 'node:worker_threads';
import { WORKER_SOURCE } from './worker-source.ts';

export type PoolOutcome = { kind: 'html'; html: string } | { kind: 'plain'; reason: 'language' | 'timeout' | 'busy' | 'failed' };

export interface PoolOptions {
  /** Resolved path of highlight.js's CommonJS entry (the worker requires it). */
  highlightJs: string;
  workers: number;
  maxQueue: number;
  timeoutMs: number;
  /** An idle worker ends after this long. */
  idleMs: number;
}

interface Job {
  id: number;
  text: string;
  language: string;
  queuedAt: number;
  resolve(outcome: PoolOutcome): void;
}

interface Slot {
  worker?: Worker;
  ready: boolean;
  job?: Job;
  deadline?: NodeJS.Timeout;
  idle?: NodeJS.Timeout;
}

/** A worker's heap: highlighting 512 KiB makes a few MiB of markup; an input that balloons fails instead of the process. */
const WORKER_HEAP_MB = 128;
/** Loading highlight.js in a new worker takes ~0.2 s; on a loaded machine allow far more before giving up on it. */
const START_MS = 30_000;

export class HighlightPool {
  private readonly slots: Slot[];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;
  /** Workers started so far (a figure for tests and the bench: each time-out costs one). */
  started = 0;

  constructor(private readonly o: PoolOptions) {
    this.slots = Array.from({ length: o.workers }, () => ({ ready: false }));
  }

  run(text: string, language: string): Promise<PoolOutcome> {
    if (this.closed) return Promise.resolve({ kind: 'plain', reason: 'busy' });
    return new Promise((resolve) => {
      const job: Job = { id: this.nextId++, text, language, queuedAt: performance.now(), resolve };
      this.queue.push(job);
      this.dispatch();
      // Still waiting (no worker free) with the queue past its bound: plain text at once.
      if (this.queue.length > this.o.maxQueue && this.queue.includes(job)) {
        this.queue.splice(this.queue.indexOf(job), 1);
        resolve({ kind: 'plain', reason: 'busy' });
      }
    });
  }

  /** Workers alive now. */
  get alive(): number {
    return this.slots.filter((s) => s.worker).length;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.resolve({ kind: 'plain', reason: 'busy' });
    await Promise.all(this.slots.map((s) => this.retire(s, { kind: 'plain', reason: 'busy' })));
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.job || (slot.worker && !slot.ready)) continue;
      const job = this.takeJob();
      if (!job) return;
      slot.job = job;
      if (slot.idle) clearTimeout(slot.idle);
      slot.idle = undefined;
      if (slot.worker) this.post(slot);
      else this.startWorker(slot);
    }
  }

  /** The next queued job that has not waited past its deadline (those are answered "busy"). */
  private takeJob(): Job | undefined {
    const now = performance.now();
    for (let job = this.queue.shift(); job; job = this.queue.shift()) {
      if (now - job.queuedAt <= this.o.timeoutMs) return job;
      job.resolve({ kind: 'plain', reason: 'busy' });
    }
    return undefined;
  }

  private startWorker(slot: Slot): void {
    this.started++;
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { highlightJs: this.o.highlightJs },
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
    });
    worker.unref();
    slot.worker = worker;
    slot.ready = false;
    const startTimer = setTimeout(() => void this.retire(slot, { kind: 'plain', reason: 'failed' }), START_MS);
    worker.on('message', (msg: { ready?: true; id: number; html: string | null }) => {
      // The worker says so once highlight.js is loaded: the job's deadline starts then, so a cold
      // start does not eat into it.
      if (msg.ready) {
        clearTimeout(startTimer);
        slot.ready = true;
        if (slot.job) this.post(slot);
        else this.dispatch();
        return;
      }
      const job = slot.job;
      if (!job || job.id !== msg.id) return;
      this.finish(slot, msg.html === null ? { kind: 'plain', reason: 'language' } : { kind: 'html', html: msg.html });
    });
    const gone = () => {
      clearTimeout(startTimer);
      if (slot.worker !== worker) return;
      void this.retire(slot, { kind: 'plain', reason: 'failed' });
    };
    worker.once('error', gone);
    worker.once('exit', gone);
  }

  private post(slot: Slot): void {
    const job = slot.job!;
    slot.deadline = setTimeout(() => void this.retire(slot, { kind: 'plain', reason: 'timeout' }), this.o.timeoutMs);
    slot.worker!.postMessage({ id: job.id, text: job.text, language: job.language });
  }

  private finish(slot: Slot, outcome: PoolOutcome): void {
    if (slot.deadline) clearTimeout(slot.deadline);
    slot.deadline = undefined;
    const job = slot.job;
    slot.job = undefined;
    job?.resolve(outcome);
    this.dispatch();
    if (!slot.job && slot.worker && !this.closed) {
      slot.idle = setTimeout(() => void this.retire(slot), this.o.idleMs);
      slot.idle.unref();
    }
  }

  /** Ends the slot's worker (stuck, failed, idle or closing); its job, if any, gets `outcome`. */
  private async retire(slot: Slot, outcome?: PoolOutcome): Promise<void> {
    const worker = slot.worker;
    slot.worker = undefined;
    slot.ready = false;
    if (slot.idle) clearTimeout(slot.idle);
    slot.idle = undefined;
    if (slot.job) this.finish(slot, outcome ?? { kind: 'plain', reason: 'failed' });
    else this.dispatch();
    await worker?.terminate().catch(() => undefined);
  }
}
