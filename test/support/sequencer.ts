/**
 * The order vitest starts test files in: longest first, so the three workers end together instead
 * of one 60–90 s file starting last and running alone (the suite's length is then about the sum
 * of the files' times over the workers, not that plus the last long file).
 *
 * vitest's own sequencer orders by the durations in its cache (node_modules/.vite/vitest), which a
 * fresh `npm ci` (CI) does not have: then it goes by file size, which put crm-abuse (the longest
 * file) in the middle. Here the durations come from test/durations.json, a full run's times
 * (scripts/test-durations.mjs writes it); a file not in it falls back to vitest's cache, and a file
 * neither knows starts first (it may be long). Failed files are not moved first: the order is
 * about when the run ends, not how soon a failure shows.
 *
 * Files that open PGlite engines go after all the others (longest first among themselves). A worker
 * runs many files (isolate: false) and keeps the WebAssembly memory of its PGlite instances: 700–800
 * MB of RSS for the rest of the run, and every process it starts after (ssh, git, tmux) is a fork
 * of that, costing system time in proportion (24 ms per spawn from 473 MB, 1 ms from 50 MB).
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const REFERENCE = JSON.parse(readFileSync(new URL('../durations.json', import.meta.url), 'utf8')) as Record<string, number>;

export class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const seconds = (spec: TestSpecification): number => {
      const path = relative(this.ctx.config.root, spec.moduleId);
      const reference = REFERENCE[path];
      if (reference !== undefined) return reference;
      const cached = this.ctx.cache.getFileTestResults(`${spec.project.name}:${path}`);
      return cached ? cached.duration / 1000 : Infinity;
    };
    const known = new Map(files.map((f) => [f, seconds(f)]));
    const pglite = new Map(files.map((f) => [f, opensPglite(f.moduleId)]));
    return [...files].sort((a, b) => Number(pglite.get(a)) - Number(pglite.get(b)) || known.get(b)! - known.get(a)! || (a.moduleId < b.moduleId ? -1 : 1));
  }
}

/** Whether a test file opens PGlite (test/support/engines.ts, test/support/pglite.ts). */
function opensPglite(file: string): boolean {
  try {
    return /\bopen(TestEngine|Pglite)\(/.test(readFileSync(file, 'utf8'));
  } catch {
    return false;
  }
}
