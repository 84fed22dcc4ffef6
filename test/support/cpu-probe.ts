/**
 * What each test file costs in CPU, whatever the machine's load: a vitest setup file (see
 * vitest.cpu.config.ts) that appends one JSON line per file to LABD_TEST_CPU_LOG (default
 * /tmp/labd-test-cpu.jsonl): the worker's own CPU seconds while the file ran (labd in-process
 * included), and those of the children it reaped (LabdProcess, ssh, git, PostgreSQL, Chromium…).
 *
 *   npx vitest run -c vitest.cpu.config.ts
 */
import childProcess from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { afterAll, expect } from 'vitest';

const LOG = process.env.LABD_TEST_CPU_LOG ?? '/tmp/labd-test-cpu.jsonl';
const TICKS_PER_SECOND = 100;

/** CPU seconds of this process's reaped children (cutime + cstime in /proc/self/stat). */
function childrenSeconds(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[13]) + Number(fields[14])) / TICKS_PER_SECOND;
}

/**
 * Children started by this worker (every one is a fork of it, whose system time grows with the
 * worker's memory), counted by wrapping child_process once per worker.
 */
const counted = globalThis as { labdSpawns?: number };
if (counted.labdSpawns === undefined) {
  counted.labdSpawns = 0;
  const cp = childProcess as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const name of ['spawn', 'spawnSync', 'execFile', 'execFileSync', 'exec', 'execSync', 'fork']) {
    const original = cp[name]!;
    const counting = function (this: unknown, ...args: unknown[]) {
      counted.labdSpawns!++;
      return original.apply(this, args);
    };
    // util.promisify.custom and the like: promisify(execFile) must still resolve to { stdout, stderr }.
    Object.defineProperties(counting, Object.getOwnPropertyDescriptors(original));
    cp[name] = counting;
  }
  syncBuiltinESMExports();
}

// A setup file runs again before each test file, also with isolate: false.
const startSpawns = counted.labdSpawns;
const startCpu = process.cpuUsage();
const startChildren = childrenSeconds();
const startWall = performance.now();

afterAll(() => {
  const self = process.cpuUsage(startCpu);
  appendFileSync(
    LOG,
    `${JSON.stringify({
      file: expect.getState().testPath,
      self: (self.user + self.system) / 1e6,
      selfSystem: self.system / 1e6,
      spawns: counted.labdSpawns! - startSpawns,
      rssMb: Math.round(process.memoryUsage().rss / 1e6),
      children: childrenSeconds() - startChildren,
      wall: (performance.now() - startWall) / 1000,
    })}\n`,
  );
});
