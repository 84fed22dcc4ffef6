/**
 * Highlighting flood (issue #24 item 1): a member pastes `--pastes` inputs highlight.js is
 * quadratic on (64 KiB and up of the letter `a` as `.ini`, each a little different so no cache
 * helps), then `--parallel` readers open all their pages at once. Before the worker thread, one
 * such page held the event loop 23 s; /healthz p99 (printed by measure) is what to watch.
 */
import { performance } from 'node:perf_hooks';

export interface HighlightFloodTarget {
  httpPort: number;
  /** `ssh HOST …` as the member (stdin `input`), not blocking this process (its /healthz probe runs meanwhile). */
  ssh(args: string[], input: string): Promise<{ status: number | null; stderr: string }>;
  /** The member's name, for /p/USER/NAME. */
  user: string;
}

export async function highlightFlood(t: HighlightFloodTarget, atFullStrength: () => void, o: { pastes?: number; parallel?: number } = {}): Promise<string> {
  const pastes = o.pastes ?? 4;
  const parallel = o.parallel ?? 20;
  const names: string[] = [];
  for (let i = 0; i < pastes; i++) {
    const name = `flood${i}.ini`;
    const up = await t.ssh(['paste', name], 'a'.repeat(64 * 1024 * (1 + (i % 2))) + 'b'.repeat(i));
    if (up.status !== 0) throw new Error(`paste failed: ${up.stderr}`);
    names.push(name);
  }
  const statuses = new Map<number, number>();
  let slowest = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: parallel }, async (_, i) => {
      if (i === parallel - 1) atFullStrength();
      const started = performance.now();
      const res = await fetch(`http://127.0.0.1:${t.httpPort}/p/${t.user}/${names[i % names.length]}`);
      await res.arrayBuffer();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      slowest = Math.max(slowest, performance.now() - started);
    }),
  );
  const total = performance.now() - t0;
  return `${parallel} readers of ${pastes} quadratic pastes (64/128 KiB of 'a' as ini): statuses ${JSON.stringify(Object.fromEntries(statuses))}, slowest page ${(slowest / 1000).toFixed(1)} s, all done in ${(total / 1000).toFixed(1)} s`;
}
