/**
 * The house rules on imports (.dependency-cruiser.cjs) hold for src/, and they do fire: a fixture tree
 * that breaks each rule is reported rule by rule.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { cruise } from 'dependency-cruiser';
import { test } from 'vitest';
import { ROOT } from './support/labd.ts';

const rules = createRequire(import.meta.url)(join(ROOT, '.dependency-cruiser.cjs'));

async function violations(baseDir: string): Promise<string[]> {
  const result = await cruise(['src'], {
    ...rules.options,
    validate: true,
    ruleSet: { forbidden: rules.forbidden },
    baseDir,
    tsConfig: { fileName: join(ROOT, 'tsconfig.json') },
  });
  const output = result.output as { summary: { violations: { rule: { name: string }; from: string; to: string }[] } };
  return output.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`);
}

test('the rules fire on a tree that breaks them', async () => {
  const found = await violations(join(ROOT, 'test/fixtures/import-rules'));
  const has = (rule: string, from: string) => found.some((v) => v.startsWith(`${rule}: ${from}`));
  assert.ok(has('ops-reaches-no-front-end', 'src/ops/nodes/commands.ts'), `transitive reach into a front-end:\n${found.join('\n')}`);
  assert.ok(has('confined:^ssh2', 'src/ops/nodes/commands.ts'), `ssh2 outside src/ssh:\n${found.join('\n')}`);
  assert.ok(
    has('confined:^(drizzle-orm|better-sqlite3|pg|@electric-sql/pglite)', 'src/ops/nodes/commands.ts'),
    `drizzle outside a store:\n${found.join('\n')}`,
  );
  assert.ok(has('front-ends-stay-apart', 'src/ssh/screen.ts'), `one front-end importing another:\n${found.join('\n')}`);
  assert.ok(has('no-circular', 'src/apps/x/'), `an import circle:\n${found.join('\n')}`);
  assert.ok(!found.some((v) => v.includes('sql-store.ts →')), 'a store implementation may import drizzle');
});
