#!/usr/bin/env node
// `npm run lint`: the type check, the import rules, the formatter and the house rules, run side by
// side (the type check alone takes half a minute on two cores; the others fit beside it). Each
// check's output is printed whole, under its name, when it ends; exit 1 if any failed.
//
// Each tool keeps what it learnt in .tmp/lint-cache/ (git-ignored): a second run checks only the files
// that changed (tsc's build info, prettier's and dependency-cruiser's caches by file content), about
// 40 CPU-seconds down to a few. A clean clone (CI) has no cache and checks everything.
import { spawn } from 'node:child_process';

const CACHE = '.tmp/lint-cache';
const checks = [
  ['types (tsc)', 'tsc', ['-p', 'tsconfig.json', '--noEmit', '--incremental', '--tsBuildInfoFile', `${CACHE}/tsc.tsbuildinfo`]],
  ['imports (dependency-cruiser)', 'depcruise', ['src', '--output-type', 'err', '--cache', `${CACHE}/depcruise`, '--cache-strategy', 'content']],
  [
    'format (prettier)',
    'prettier',
    [
      '--check',
      '--log-level',
      'warn',
      '--cache',
      '--cache-location',
      `${CACHE}/prettier`,
      '--cache-strategy',
      'content',
      'src/**/*.ts',
      'test/**/*.ts',
      'bench/**/*.ts',
      'scripts/**/*.mjs',
    ],
  ],
  ['house rules (scripts/lint.mjs)', process.execPath, ['scripts/lint.mjs']],
];

const root = new URL('..', import.meta.url).pathname;
const results = await Promise.all(
  checks.map(
    ([name, cmd, args]) =>
      new Promise((resolve) => {
        const started = Date.now();
        // npm puts node_modules/.bin on PATH for scripts; the shell is not needed.
        const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        child.stdout.on('data', (d) => (out += d));
        child.stderr.on('data', (d) => (out += d));
        child.on('error', (err) => resolve({ name, ok: false, out: `${out}${err.message}\n`, seconds: 0 }));
        child.on('close', (code) => {
          const seconds = (Date.now() - started) / 1000;
          process.stdout.write(`${code === 0 ? 'ok  ' : 'FAIL'} ${name} (${seconds.toFixed(1)} s)\n${out.trim() ? `${out.trimEnd()}\n` : ''}`);
          resolve({ name, ok: code === 0 });
        });
      }),
  ),
);
const failed = results.filter((r) => !r.ok).map((r) => r.name);
if (failed.length) {
  process.stdout.write(`lint failed: ${failed.join(', ')}\n`);
  process.exit(1);
}
