import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'vitest';
import { tuneV8 } from '../src/core/v8-tuning.ts';
import { ROOT } from './support/labd.ts';

describe('V8 tuning at start (src/core/v8-tuning.ts)', () => {
  test('only the V8 it was measured on gets the flag: other majors are left alone', () => {
    assert.equal(tuneV8('11.3.244.8-node.38'), false);
    assert.equal(tuneV8('14.1.0'), false);
  });

  test('on V8 13 a loop of short-lived 32 KiB Buffers runs no mark-compact once tuned', { skip: !process.versions.v8.startsWith('13.') }, () => {
    const loop = `
      const { tuneV8 } = await import(${JSON.stringify(join(ROOT, 'src/core/v8-tuning.ts'))});
      if (process.argv[1] === 'tuned') tuneV8();
      // As a server allocates them: a batch per turn of the event loop, so V8's marking tasks run.
      let turns = 0;
      await new Promise((done) => {
        const turn = () => {
          for (let i = 0; i < 320; i++) Buffer.allocUnsafe(32768)[0] = i;
          if (++turns < 300) setImmediate(turn);
          else done();
        };
        turn();
      });`;
    const run = (mode: string) => {
      const r = spawnSync(process.execPath, ['--trace-gc', '--import', 'tsx', '--input-type=module', '-e', loop, mode], { cwd: ROOT, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.split('\n').filter((l) => l.includes('Mark-Compact')).length;
    };
    assert.ok(run('plain') > 10, 'without the flag V8 collects fully for short-lived ArrayBuffers (what the flag is for)');
    assert.equal(run('tuned'), 0);
  });
  test('the collection once labd listens gives the young generation back (a memory-reducing collection)', () => {
    const script = `
      const { collectStartupGarbage } = await import(${JSON.stringify(join(ROOT, 'src/core/v8-tuning.ts'))});
      const { getHeapSpaceStatistics } = await import('node:v8');
      // Enough short-lived garbage for the young generation to grow to its maximum (4 MiB semi-spaces).
      const keep = [];
      for (let i = 0; i < 400000; i++) keep[i % 2000] = { i, s: 'x' + i };
      const newSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
      const grown = newSpace();
      collectStartupGarbage();
      console.log(JSON.stringify({ grown, after: newSpace() }));`;
    const r = spawnSync(process.execPath, ['--expose-gc', '--max-semi-space-size=4', '--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    const { grown, after } = JSON.parse(r.stdout) as { grown: number; after: number };
    assert.ok(grown >= 4 * 1048576, `the young generation grew (${grown} bytes)`);
    assert.ok(after <= grown / 2, `shrunk from ${grown} to ${after} bytes`);
  });
});
