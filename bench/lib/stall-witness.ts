/**
 * A witness of the machine's own stalls. On this kind of VM a fixed piece of CPU work now and then
 * runs 3–10 times slower for 20–100 ms, and two processes on the two cores see it at the same
 * instants, so it is the host, not the code measured. The witness spins a fixed ALU loop in small
 * chunks on a worker thread (the other core) and keeps the wall-clock windows of chunks that took
 * over twice their median. A benchmark then reports its tail both over every sample and over the
 * samples that no stall window overlapped, and says how much of the run the witness saw stalled.
 */
import { Worker } from 'node:worker_threads';

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const flag = new Int32Array(workerData);
let sink = 0;
const chunk = (n) => { let x = 1; for (let i = 0; i < n; i++) x = (x * 1103515245 + 12345) | 0; sink += x; };
// Calibrate a chunk to about 0.5 ms, then take the median of many as the steady time.
let n = 20000;
for (let k = 0; k < 20; k++) { const t = performance.now(); chunk(n); const d = performance.now() - t; n = Math.max(1000, Math.round(n * 0.5 / Math.max(d, 0.01))); }
const warm = [];
for (let k = 0; k < 400; k++) { const t = performance.now(); chunk(n); warm.push(performance.now() - t); }
warm.sort((a, b) => a - b);
const median = warm[warm.length >> 1];
parentPort.postMessage({ ready: true, median });
const windows = [];
let chunks = 0, slow = 0, stalledMs = 0;
const origin = performance.timeOrigin;
while (Atomics.load(flag, 0) === 0) {
  const t = performance.now();
  chunk(n);
  const e = performance.now();
  chunks++;
  if (e - t > 2 * median) { slow++; stalledMs += e - t; if (windows.length < 1e6) windows.push(origin + t, origin + e); }
}
parentPort.postMessage({ windows, chunks, slow, stalledMs, sink: sink & 1 });
`;

export interface StallReport {
  /** Steady time of one witness chunk, ms. */
  chunkMs: number;
  /** Share of the watched time that fell in stalled chunks. */
  stalledShare: number;
  /** Whether the wall-clock span [start, end] (epoch ms) overlaps a stall the witness saw. */
  overlaps(start: number, end: number): boolean;
}

export class StallWitness {
  private constructor(
    private readonly worker: Worker,
    private readonly flag: Int32Array,
    private readonly chunkMs: number,
    private readonly startedAt: number,
  ) {}

  static async start(): Promise<StallWitness> {
    const shared = new SharedArrayBuffer(4);
    const worker = new Worker(WORKER, { eval: true, workerData: shared });
    const median = await new Promise<number>((resolve, reject) => {
      worker.once('message', (m: { median: number }) => resolve(m.median));
      worker.once('error', reject);
    });
    return new StallWitness(worker, new Int32Array(shared), median, Date.now());
  }

  /** Wall-clock now in epoch ms, on the same scale as the witness's windows. */
  static now(): number {
    return performance.timeOrigin + performance.now();
  }

  async stop(): Promise<StallReport> {
    const done = new Promise<{ windows: number[]; stalledMs: number }>((resolve, reject) => {
      this.worker.once('message', resolve);
      this.worker.once('error', reject);
    });
    Atomics.store(this.flag, 0, 1);
    const { windows, stalledMs } = await done;
    await this.worker.terminate();
    const watched = Math.max(1, Date.now() - this.startedAt);
    return {
      chunkMs: this.chunkMs,
      stalledShare: stalledMs / watched,
      overlaps(start: number, end: number): boolean {
        // Windows are in time order: binary-search the first that ends after `start`.
        let lo = 0;
        let hi = windows.length / 2;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (windows[2 * mid + 1]! < start) lo = mid + 1;
          else hi = mid;
        }
        return lo < windows.length / 2 && windows[2 * lo]! <= end;
      },
    };
  }
}
