import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'vitest';
import { deferOptimizingCompilers, tuneV8 } from '../src/core/v8-tuning.ts';
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
  test('optimizing compilers are deferred only where they are on by default and nobody set them', () => {
    assert.equal(deferOptimizingCompilers('12.4.254.21-node.33', ''), false, 'V8 12 and older: defaults differ (V8 11 has Maglev off)');
    assert.equal(deferOptimizingCompilers('14.1.146.11-node.12', ''), false, 'a V8 it was not measured on');
    assert.equal(deferOptimizingCompilers('13.6.233.17-node.41', '--no-maglev'), false);
    assert.equal(deferOptimizingCompilers('13.6.233.17-node.41', '--max-semi-space-size=4 --jitless'), false);
    assert.equal(deferOptimizingCompilers('13.6.233.17-node.41', '--max-opt=2'), false);
  });

  test(
    'deferred compilers optimize nothing until resumed, then hot functions as before',
    { skip: !(Number(process.versions.v8.split('.')[0]) >= 13 && process.arch === 'x64') },
    () => {
      const script = `
      const { deferOptimizingCompilers, resumeOptimizingCompilers } = await import(${JSON.stringify(join(ROOT, 'src/core/v8-tuning.ts'))});
      if (!deferOptimizingCompilers()) throw new Error('not deferred');
      const hot = (n) => { let s = 0; for (let i = 0; i < n; i++) s += i % 7; return s; };
      for (let i = 0; i < 50000; i++) hot(100);
      console.log('RESUMED');
      resumeOptimizingCompilers();
      for (let i = 0; i < 50000; i++) hot(100);`;
      const r = spawnSync(process.execPath, ['--trace-opt', '--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const [before, after] = r.stdout.split('RESUMED') as [string, string];
      const optimized = (text: string) => text.split('\n').filter((l) => l.includes('completed optimizing') && l.includes('<JSFunction hot ')).length;
      assert.equal(optimized(before), 0, 'nothing optimized while deferred');
      assert.ok(optimized(after) >= 1, 'hot is optimized once resumed');
    },
  );
});
