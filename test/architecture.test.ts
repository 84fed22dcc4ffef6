/**
 * The house rules hold for src/: the import rules of .dependency-cruiser.cjs (no circles, ops never
 * reaches a front-end, vendor SDKs only in their adapters) with no violation at all (there is no
 * baseline), and only src/config reads the environment. test/import-rules.test.ts shows the rules fire.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { cruise } from 'dependency-cruiser';
import { test } from 'vitest';
// @ts-expect-error: a plain .mjs script without types
import { adapterViolations, violations as envViolations } from '../scripts/lint.mjs';
import { ROOT } from './support/labd.ts';

const rules = createRequire(import.meta.url)(join(ROOT, '.dependency-cruiser.cjs'));

test('src/ has no import circle, ops reaches no front-end, and every SDK stays in its adapter', async () => {
  const result = await cruise(['src'], {
    ...rules.options,
    validate: true,
    ruleSet: { forbidden: rules.forbidden },
    baseDir: ROOT,
    tsConfig: { fileName: join(ROOT, 'tsconfig.json') },
  });
  const found = (result.output as { summary: { violations: { rule: { name: string }; from: string; to: string }[] } }).summary.violations;
  assert.deepEqual(
    found.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`),
    [],
  );
});

test('only src/config reads the environment', () => {
  assert.deepEqual(envViolations(), []);
});

test('adapters are built once, in the composition root (src/app.ts), and handed to modules as ports', () => {
  assert.deepEqual(adapterViolations(), []);
  // The rule fires: a module that builds its own client (as alerts/index.ts once built a second AppriseClient).
  assert.deepEqual(
    adapterViolations([{ rel: 'src/ops/alerts/index.ts', text: '  apprise: new AppriseClient(url, 5000),\n  // new SqliteAuditLog(db) in a comment\n' }]),
    ['src/ops/alerts/index.ts:1: builds AppriseClient; adapters are built once, in src/app.ts (take it as a port)'],
  );
});
