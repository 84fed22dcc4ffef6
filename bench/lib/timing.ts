/** Runs the OpenSSH client and times it; summary statistics over the samples. */
import { spawn } from 'node:child_process';

export interface TimedRun {
  ms: number;
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Wall time from spawning `ssh ARGS` to its exit; killed after `timeoutMs`. */
export function timeSsh(args: string[], timeoutMs = 30000): Promise<TimedRun> {
  return new Promise((resolve) => {
    const start = process.hrtime.bigint();
    const child = spawn('ssh', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => (stderr += String(err)));
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ ms: Number(process.hrtime.bigint() - start) / 1e6, status, stdout, stderr });
    });
  });
}

/** Nearest-rank percentile of `samples` (0 < p ≤ 100). */
export function percentile(samples: readonly number[], p: number): number {
  if (!samples.length) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export function median(samples: readonly number[]): number {
  if (!samples.length) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Runs `total` jobs with at most `concurrency` at once; returns elapsed ms and failures. */
export async function runConcurrently(total: number, concurrency: number, job: () => Promise<boolean>): Promise<{ ms: number; failures: number }> {
  let next = 0;
  let failures = 0;
  const start = process.hrtime.bigint();
  const worker = async () => {
    while (next < total) {
      next++;
      if (!(await job())) failures++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, failures };
}
