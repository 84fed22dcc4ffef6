/**
 * What labd's own process spent during a bench, read from its /metrics: CPU seconds, and V8's garbage
 * collection time and count by kind. Far less sensitive to load from elsewhere than the bench's
 * timings, so node flags (e.g. the young generation's size, issue 22) compare on it.
 */
import { labdNodeFlags, type LabdProcess } from '../../test/support/labd.ts';

export interface LabdWork {
  cpuSeconds: number;
  gcSeconds: number;
  gcCount: number;
  /** Seconds in minor (scavenge) and major (mark-compact) collections. */
  byKind: Record<string, { seconds: number; count: number }>;
}

export async function labdWork(labd: LabdProcess): Promise<LabdWork> {
  const text = await (await fetch(`http://127.0.0.1:${labd.httpPort}/metrics`)).text();
  const cpuSeconds = Number(/^labd_process_cpu_seconds_total (\S+)/m.exec(text)?.[1] ?? NaN);
  const byKind: LabdWork['byKind'] = {};
  for (const m of text.matchAll(/^labd_nodejs_gc_duration_seconds_(sum|count)\{kind="([^"]+)"\} (\S+)/gm)) {
    const k = (byKind[m[2]!] ??= { seconds: 0, count: 0 });
    if (m[1] === 'sum') k.seconds = Number(m[3]);
    else k.count = Number(m[3]);
  }
  const kinds = Object.values(byKind);
  return { cpuSeconds, gcSeconds: kinds.reduce((a, k) => a + k.seconds, 0), gcCount: kinds.reduce((a, k) => a + k.count, 0), byKind };
}

/** One line for a bench's report: the flags labd ran with and what its process spent. */
export function describeWork(w: LabdWork): string {
  const kinds = Object.entries(w.byKind)
    .filter(([, k]) => k.count > 0)
    .map(([name, k]) => `${name} ${k.count} / ${k.seconds.toFixed(2)} s`)
    .join(', ');
  return `labd process (node flags: ${labdNodeFlags().join(' ') || 'none'}): CPU ${w.cpuSeconds.toFixed(2)} s, GC ${w.gcSeconds.toFixed(2)} s in ${w.gcCount} collections (${kinds})`;
}
