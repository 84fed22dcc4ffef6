#!/usr/bin/env node
// `npm test`: the lint (scripts/lint-all.mjs) and every test (vitest run), side by side. Tests mostly
// wait on their peers (ssh, git, tmux, PostgreSQL), so on two cores the lint's half minute of type
// checking fits in the gaps instead of coming first. vitest prints as it goes; the lint's report is
// printed whole once it ends, again after vitest's summary when it failed. Arguments go to vitest
// (`npm test -- test/paste.test.ts`). Exit 1 if either failed.
import { spawn } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;

/** Runs a command to its end; `capture` keeps its output instead of passing it through. */
function run(cmd, args, capture) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, stdio: capture ? ['ignore', 'pipe', 'pipe'] : 'inherit' });
    let out = '';
    if (capture) {
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
    }
    child.on('error', (err) => resolve({ code: 1, out: `${out}${err.message}\n` }));
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), out }));
  });
}

const lint = run(process.execPath, ['scripts/lint-all.mjs'], true).then((r) => {
  process.stdout.write(`\n── lint ──\n${r.out}`);
  return r;
});
// npm puts node_modules/.bin on PATH for scripts.
const tests = run('vitest', ['run', ...process.argv.slice(2)], false);
const [linted, tested] = await Promise.all([lint, tests]);
if (linted.code !== 0) process.stdout.write(`\n── lint failed ──\n${linted.out}`);
process.exit(linted.code !== 0 || tested.code !== 0 ? 1 : 0);
