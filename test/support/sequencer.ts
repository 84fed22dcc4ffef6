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
    return [...files].sort((a, b) => known.get(b)! - known.get(a)! || (a.moduleId < b.moduleId ? -1 : 1));
  }
}
