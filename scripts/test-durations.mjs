#!/usr/bin/env node
// Writes test/durations.json, the seconds each test file took in a full run, from vitest's JSON
// report: `npx vitest run --reporter=default --reporter=json --outputFile.json=/tmp/run.json`, then
// `node scripts/test-durations.mjs /tmp/run.json`. test/support/sequencer.ts starts the longest
// files first with it (the report may come from another checkout: paths are kept from test/ on); refresh it when a file's length changes much (only the order matters).
import { readFileSync, writeFileSync } from 'node:fs';

const [report] = process.argv.slice(2);
if (!report) {
  process.stderr.write('usage: node scripts/test-durations.mjs VITEST_JSON_REPORT\n');
  process.exit(2);
}
const { testResults } = JSON.parse(readFileSync(report, 'utf8'));
const seconds = Object.fromEntries(
  testResults
    .map((r) => [r.name.replace(/^.*\/(test\/)/, '$1'), Math.round((r.endTime - r.startTime) / 100) / 10])
    .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1)),
);
writeFileSync(new URL('../test/durations.json', import.meta.url), `${JSON.stringify(seconds, null, 2)}\n`);
process.stdout.write(`test/durations.json: ${Object.keys(seconds).length} files\n`);
