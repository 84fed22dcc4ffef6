/**
 * bench/rest-memory: labd at rest, compiled (dist/, built first with tsc), nothing configured, on the
 * Node that runs this bench: VmRSS split into anonymous and file-backed pages (the node binary's own
 * code is file-backed), V8's heap (total and used) and external memory from /metrics, each read 5 s
 * after "labd listening", and the time from spawning node to that line (start-up). Runs labd as
 * shipped (the flags in scripts/node-flags.mjs, what `npm start` and the image use), with Node's
 * defaults (no flag), and with each --max-semi-space-size given (Node 24 sizes the young generation
 * from the machine's memory). Aim (issue 22): at most 80 MB RSS on Node 24.
 *
 *   npx tsx bench/rest-memory.ts [--semi 1,2,8] [--runs 3] [--no-build]
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, ROOT } from '../test/support/labd.ts';
import { LABD_NODE_FLAGS } from '../scripts/node-flags.mjs';

const { values } = parseArgs({
  options: { semi: { type: 'string' }, runs: { type: 'string' }, 'no-build': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
});
if (values.help) {
  console.log('usage: npx tsx bench/rest-memory.ts [--semi 1,2,8] [--runs 3] [--no-build]');
  process.exit(0);
}
const semis = (values.semi ?? '1,2,8').split(',').filter(Boolean).map(Number);
const runs = Number(values.runs ?? 3);
if (semis.some((n) => !Number.isInteger(n) || n < 1 || n > 256) || !Number.isInteger(runs) || runs < 1 || runs > 20) {
  console.error('error: --semi takes whole MiB values 1-256, --runs 1-20');
  process.exit(2);
}

if (!values['no-build']) {
  process.stderr.write('building dist/ (tsc -p tsconfig.build.json) …\n');
  const built = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  if (built.status !== 0) process.exit(1);
}

interface Reading {
  /** ms from spawn to "labd listening" */
  start: number;
  rss: number;
  anon: number;
  file: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
}

const kB = (status: string, field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) / 1024;
const metric = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? 0) / 1048576;

async function atRest(flags: string[]): Promise<Reading> {
  const dataDir = mkdtempSync(join(tmpdir(), 'labd-rest-'));
  const httpPort = await freePort();
  const spawned = performance.now();
  const child = spawn(process.execPath, [...flags, join(ROOT, 'dist/main.js'), 'serve'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      LABD_DATA_DIR: dataDir,
      LABD_SSH_LISTEN: `127.0.0.1:${await freePort()}`,
      LABD_HTTP_LISTEN: `127.0.0.1:${httpPort}`,
      LABD_LOG_FORMAT: 'json',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    let out = '';
    let start = 0;
    child.stdout.on('data', (d) => {
      out += d;
      if (!start && out.includes('labd listening')) start = performance.now() - spawned;
    });
    const deadline = Date.now() + 30_000;
    while (!start) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`labd did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    await new Promise((r) => setTimeout(r, 5000));
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    return {
      start,
      rss: kB(status, 'VmRSS'),
      anon: kB(status, 'RssAnon'),
      file: kB(status, 'RssFile'),
      heapTotal: metric(text, 'labd_nodejs_heap_size_total_bytes'),
      heapUsed: metric(text, 'labd_nodejs_heap_size_used_bytes'),
      external: metric(text, 'labd_nodejs_external_memory_bytes'),
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('close', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`labd at rest on Node ${process.version}, compiled, nothing configured; median of ${runs} runs (MB)`);
console.log(`as shipped: ${LABD_NODE_FLAGS.join(' ')} (scripts/node-flags.mjs)`);
console.log('flags                      RSS   anon   file   heap total   heap used   external   start ms');
const variants: [string, string[]][] = [
  ['(as shipped)', [...LABD_NODE_FLAGS]],
  ['(Node defaults)', ['--disable-warning=DEP0060']],
  ...semis.map((n): [string, string[]] => [`--max-semi-space-size=${n}`, [`--max-semi-space-size=${n}`, '--disable-warning=DEP0060']]),
];
// Interleaved, run by run, so load from elsewhere hits every variant alike.
const readings = new Map<string, Reading[]>(variants.map(([name]) => [name, []]));
for (let i = 0; i < runs; i++) for (const [name, flags] of variants) readings.get(name)!.push(await atRest(flags));
for (const [name] of variants) {
  const of = readings.get(name)!;
  const m = (k: keyof Reading, digits = 1, width = 6) =>
    median(of.map((r) => r[k]))
      .toFixed(digits)
      .padStart(width);
  console.log(
    `${name.padEnd(24)} ${m('rss')} ${m('anon')} ${m('file')}       ${m('heapTotal')}      ${m('heapUsed')}     ${m('external')}   ${m('start', 0, 8)}`,
  );
}
console.log('aim: at most 80 MB RSS (issue 22)');
