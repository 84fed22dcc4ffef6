/**
 * Idle memory: a vendor SDK is loaded only when its backend is configured. labd's static import
 * graph (what loads at start whatever the config) must not reach @kubernetes/client-node or
 * matrix-bot-sdk; their adapters are imported dynamically (kube) or required on start (Matrix).
 * highlight.js loads only in the highlighting worker thread (src/core/highlight).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'vitest';
import { ROOT } from './support/labd.ts';

/** Static value imports of one file: `import … from 'x'` and `export … from 'x'`, not `import type`. */
function staticImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^(?:import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/gm)) {
    if (m[1]) continue;
    out.push(m[2]!);
  }
  return out;
}

function reachable(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const walk = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    for (const spec of staticImports(file)) {
      if (spec.startsWith('.')) {
        const target = resolve(dirname(file), spec);
        if (existsSync(target)) walk(target);
      } else if (!spec.startsWith('node:')) {
        packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
      }
    }
  };
  walk(entry);
  return { files, packages };
}

test('what labd loads at start, whatever the config, holds no Kubernetes or Matrix SDK', () => {
  // src/main.ts sets up module loading, then imports the command line, src/cli.ts, dynamically.
  assert.match(readFileSync(join(ROOT, 'src/main.ts'), 'utf8'), /await import\('\.\/cli\.ts'\)/);
  const { files, packages } = reachable(join(ROOT, 'src/cli.ts'));
  assert.ok(files.has(join(ROOT, 'src/ops/kube/index.ts')), 'the walk reaches the kube port');
  assert.ok(packages.has('ssh2') && packages.has('prom-client'), [...packages].join(' '));
  assert.ok(!packages.has('@kubernetes/client-node'), 'client-node is loaded statically');
  assert.ok(!packages.has('matrix-bot-sdk'), 'matrix-bot-sdk is loaded statically');
  // Not an SDK, but 200 modules that only the highlighting worker needs (src/core/highlight).
  assert.ok(!packages.has('highlight.js'), 'highlight.js is loaded statically');
  assert.ok(!files.has(join(ROOT, 'src/ops/kube/client-node.ts')));
  // The adapter is still there, behind a dynamic import.
  assert.match(readFileSync(join(ROOT, 'src/ops/kube/index.ts'), 'utf8'), /await import\('\.\/client-node\.ts'\)/);
});
