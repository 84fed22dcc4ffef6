/** The git processes a labd holds (its children running upload-pack or receive-pack), sampled while a flood runs. */
import { readdirSync, readFileSync } from 'node:fs';

export function gitProcessesOf(pid: number): number {
  let n = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== pid) continue;
      if (/upload-pack|receive-pack/.test(readFileSync(`/proc/${entry}/cmdline`, 'utf8'))) n++;
    } catch {
      // ended meanwhile
    }
  }
  return n;
}

/** Samples gitProcessesOf(pid) every 100 ms; stop() gives the most seen. */
export function gitProcessSampler(pid: number): { stop(): number; now(): number } {
  let most = 0;
  const timer = setInterval(() => (most = Math.max(most, gitProcessesOf(pid))), 100);
  return {
    now: () => gitProcessesOf(pid),
    stop() {
      clearInterval(timer);
      return Math.max(most, gitProcessesOf(pid));
    },
  };
}
