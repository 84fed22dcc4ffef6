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
import { adapterViolations, clockViolations, violations as envViolations } from '../scripts/lint.mjs';
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

test('one clock: no Date.now() or new Date() in src/ outside src/core/clock.ts, stores included, and the rule fires', () => {
  assert.deepEqual(clockViolations(), []);
  assert.deepEqual(
    clockViolations([
      // What src/bot/outbox.ts and src/apps/pubsub/topic.ts had before.
      { rel: 'src/bot/outbox.ts', text: '    const wait = next.nextAttemptAt.getTime() - Date.now();\n' },
      { rel: 'src/apps/pubsub/topic.ts', text: '  readonly createdAt = new Date();\n  // new Date() in a comment\n' },
      // A date made from a value, a duration and the clock adapter itself pass; a store does not.
      { rel: 'src/ops/x.ts', text: 'const at = new Date(ms);\nconst t = performance.now();\nconst now = clock.now();\n' },
      { rel: 'src/core/clock.ts', text: 'export const systemClock: Clock = { now: () => new Date() };\n' },
      { rel: 'src/apps/git/sqlite-store.ts', text: 'updatedAt: new Date(),\n' },
      { rel: 'src/apps/paste/sql-store.ts', text: 'const now = Date.now();\n' },
    ]),
    [
      'src/bot/outbox.ts:1: reads the wall clock; take the injected Clock (src/core/clock.ts), or performance.now() for a duration',
      'src/apps/pubsub/topic.ts:1: reads the wall clock; take the injected Clock (src/core/clock.ts), or performance.now() for a duration',
      'src/apps/git/sqlite-store.ts:1: reads the wall clock; take the injected Clock (src/core/clock.ts), or performance.now() for a duration',
      'src/apps/paste/sql-store.ts:1: reads the wall clock; take the injected Clock (src/core/clock.ts), or performance.now() for a duration',
    ],
  );
});

test('TUI screens call commands by their typed handles: no words, no casts of a result (scripts/lint.mjs), and the rule fires', async () => {
  // @ts-expect-error: a plain .mjs script without types
  const { screenViolations } = (await import('../scripts/lint.mjs')) as { screenViolations(rel: string, line: string): string[] };
  // Lines the screens had before (issue #23): a command built from words, a cast of its JSON.
  assert.equal(screenViolations('src/apps/crm/tui.ts', "const { result } = await this.ctx.run(['crm', 'ls', '--limit', '500', '--', ...words]);").length, 1);
  assert.equal(screenViolations('src/apps/git/tui.ts', "const entries = tree.kind === 'table' ? (tree.json as Entry[]) : [];").length, 1);
  assert.equal(
    screenViolations('src/ssh/tui/home.ts', "run: async (argv, signal) => (await this.deps.registry.execute({ actor, argv }, 'tui')).result,").length,
    1,
  );
  // Typed calls pass, and files that are not screens are not screens' business.
  assert.deepEqual(screenViolations('src/apps/git/tui.ts', 'const entries = (await this.ctx.invoke(repoTree, { name })).json;'), []);
  assert.deepEqual(screenViolations('src/ssh/exec.ts', "registry.execute({ actor, argv: ['whoami'] })"), []);
});
