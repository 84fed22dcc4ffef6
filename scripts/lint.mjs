#!/usr/bin/env node
// The house rules dependency-cruiser cannot see (its import rules are in .dependency-cruiser.cjs):
// only src/config reads the environment, every other module gets its settings handed in; the
// adapters (stores, HTTP clients of other services) are built once, in the composition root
// (src/app.ts), which hands each module the ports it needs; and TUI screens call commands by their
// typed handles (issue #23): no command built from words, no cast of a command's result; and there
// is one clock (issue #20): the time of day comes from the injected Clock (src/core/clock.ts).
// Prints one line per violation; exit 1 if any.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

function files(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** A TUI screen: an app's tui.ts, or anything in the TUI package. */
const SCREEN = /^src\/(apps\/[^/]+\/tui\.ts|ssh\/tui\/)/;

const SCREEN_RULES = [
  [/\.execute\s*\(|\.run\s*\(\s*\[|\bargv\s*[:=]\s*\[\s*'/, 'builds a command out of words; call it by its typed handle (ctx.invoke(handle, args))'],
  [
    /\.json\b[^;]*?\)?\s+as\s+(?!const\b)/,
    "casts a command's result; give the command a typed handle (commandHandle(...).returns<...>()) and read its json typed",
  ],
];

/** The screen rules broken by one line of a screen file (none for other files). */
export function screenViolations(rel, line) {
  if (!SCREEN.test(rel) || /^\s*(\/\/|\*)/.test(line)) return [];
  return SCREEN_RULES.filter(([re]) => re.test(line)).map(([, why]) => why);
}

export function violations() {
  const found = [];
  for (const file of files(join(root, 'src'))) {
    const rel = relative(root, file);
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        for (const why of screenViolations(rel, line)) found.push(`${rel}:${i + 1}: ${why}`);
      });
    if (rel.startsWith('src/config/')) continue;
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (/\bprocess\.env\b/.test(line) && !/^\s*(\/\/|\*)/.test(line))
          found.push(`${rel}:${i + 1}: reads process.env; only src/config may (hand the setting in instead)`);
      });
  }
  return found;
}

/** Adapter classes only src/app.ts may construct: the SQLite stores and the clients of other services. */
const ADAPTER = /\bnew (Sql(ite)?[A-Z]\w*|AppriseClient|OpenIdClientOidc|StepCaClient)\(/;

export function adapterViolations(sources = files(join(root, 'src')).map((file) => ({ rel: relative(root, file), text: readFileSync(file, 'utf8') }))) {
  const found = [];
  for (const { rel, text } of sources) {
    // The composition root; and `labd migrate --from-sqlite`, a tool that runs instead of labd and builds the one store it needs.
    if (rel === 'src/app.ts' || rel === 'src/db/migrate-from-sqlite.ts') continue;
    text.split('\n').forEach((line, i) => {
      const m = ADAPTER.exec(line);
      if (m && !/^\s*(\/\/|\*)/.test(line)) found.push(`${rel}:${i + 1}: builds ${m[1]}; adapters are built once, in src/app.ts (take it as a port)`);
    });
  }
  return found;
}

/** `Date.now()` or a `new Date()` without arguments: the time of day read behind the injected Clock's back. */
const WALL_CLOCK = /\bDate\.now\s*\(\s*\)|\bnew Date\s*\(\s*\)/;

/** Reads of the wall clock outside src/core/clock.ts (durations take performance.now(); times of day the Clock). */
export function clockViolations(sources = files(join(root, 'src')).map((file) => ({ rel: relative(root, file), text: readFileSync(file, 'utf8') }))) {
  const found = [];
  for (const { rel, text } of sources) {
    if (rel === 'src/core/clock.ts') continue;
    text.split('\n').forEach((line, i) => {
      if (WALL_CLOCK.test(line) && !/^\s*(\/\/|\*)/.test(line))
        found.push(`${rel}:${i + 1}: reads the wall clock; take the injected Clock (src/core/clock.ts), or performance.now() for a duration`);
    });
  }
  return found;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const found = [...violations(), ...adapterViolations(), ...clockViolations()];
  for (const line of found) console.error(line);
  process.exit(found.length ? 1 : 0);
}
