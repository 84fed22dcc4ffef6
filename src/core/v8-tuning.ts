/**
 * V8 settings labd changes at run time, for what cannot go on node's command line.
 *
 * External memory counted in the heap's global limit (V8 13, Node 24). Without it, V8 starts a full
 * mark-compact whenever ArrayBuffers worth a few tens of MB have been allocated since the last one,
 * however short-lived: every chunk git writes to labd and every packet of a bulk transfer is one.
 * Serving a 51 MB clone cost labd 0.34–0.40 s of CPU, 0.29–0.31 s with it, in the same interleaved
 * run (bench/README, git-clone); a loop allocating 32 KiB Buffers ran 200 mark-compacts in 2 s
 * without it and none with it. It is a V8 flag, not a Node option: node refuses it on its command
 * line where V8 lacks it (Node 20), and NODE_OPTIONS does not take it, so it is set here, on the V8
 * it was measured on only (another V8 prints "unrecognized flag" and runs on).
 */
import { setFlagsFromString } from 'node:v8';

export function tuneV8(v8Version: string = process.versions.v8): boolean {
  if (Number(v8Version.split('.')[0]) !== 13) return false;
  setFlagsFromString('--external-memory-accounted-in-global-limit');
  return true;
}

/**
 * No optimizing compilers (Maglev, Turbofan) while labd starts. Start-up calls a few functions often enough
 * (Node's path and URL helpers while hundreds of modules load) for V8 to optimize about 140 of them, and
 * the compilers' own machine code then stays mapped: ≈ 8 MB of the node binary's file-backed pages plus
 * their working memory, in a labd that has served nothing yet (at rest 85 -> 77 MB RSS, bench/rest-memory).
 * Start-up is no slower without them (its code runs once). `resumeOptimizingCompilers` turns them back on
 * once labd listens, and functions that are hot from then on are optimized as before.
 * Only on the V8 it was measured on (13, Node 24, on x64, where both are on by default; V8 11 has Maglev
 * off, and flags changed at run time are V8 internals another version may treat differently), and
 * not when node's flags (`nodeFlags`: its command line and NODE_OPTIONS) already say something about them.
 */
const COMPILER_FLAGS = /--(no-)?(maglev|turbofan|opt|max-opt|jitless)\b/;
let deferred = false;

export function deferOptimizingCompilers(v8Version: string = process.versions.v8, nodeFlags: string = process.execArgv.join(' ')): boolean {
  if (Number(v8Version.split('.')[0]) !== 13 || process.arch !== 'x64' || COMPILER_FLAGS.test(nodeFlags)) return false;
  setFlagsFromString('--no-maglev');
  setFlagsFromString('--no-turbofan');
  deferred = true;
  return true;
}

export function resumeOptimizingCompilers(): void {
  if (!deferred) return;
  setFlagsFromString('--maglev');
  setFlagsFromString('--turbofan');
  deferred = false;
}

/**
 * One memory-reducing full collection once labd listens. With --initial-old-space-size (scripts/node-flags.mjs)
 * V8 would keep start-up's garbage (module compilation, migrations: about 24 MB) until the old generation
 * reaches that size. The "last-resort" flavor is V8's low-memory collection (what a memory-pressure signal
 * runs): it also compacts the old generation, gives its free pages back and shrinks the young generation to
 * its minimum (it grows again with the allocation rate): a plain gc() left 41 MB of heap committed for 22 MB
 * used, this one 23 MB (labd at rest 110 -> 89 MB RSS, bench/README.md, rest-memory); about 20 ms more CPU.
 * Needs --expose-gc, which the same flags carry; without it, nothing.
 */
export function collectStartupGarbage(): void {
  (globalThis as { gc?: (options: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void }).gc?.({
    type: 'major',
    execution: 'sync',
    flavor: 'last-resort',
  });
}
