/**
 * V8's compiled code for labd's modules, kept on disk between starts (Node's module compile cache,
 * module.enableCompileCache, Node 22.1 and later). Compiling its 780 modules was about a sixth of a
 * start's CPU; with the cache a start took 0.56-0.60 CPU-s instead of 0.70-0.79 (a restart, every labd
 * the tests spawn).
 *
 * The cache holds code that runs as labd, so it lives in a directory of labd's user alone:
 * `$TMPDIR/labd-compile-cache-UID`, made 0700, and used only while it is a real directory owned by
 * that user and closed to others (a shared /tmp could hold one planted by someone else). NODE_COMPILE_CACHE
 * chooses another directory (Node then enables it itself); NODE_DISABLE_COMPILE_CACHE=1 turns it off.
 */
import { lstatSync, mkdirSync } from 'node:fs';
import nodeModule from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CompileCachePorts {
  /** module.enableCompileCache; undefined on a Node without it. */
  enable?: (dir: string) => unknown;
  tmp?: string;
  uid?: number;
  /** NODE_COMPILE_CACHE, where set (src/config/node-options.ts): Node then enabled its own. */
  nodeCompileCache?: string;
}

/** Enables the cache; returns its directory, or why not. */
export function enableCompileCache(ports: CompileCachePorts = {}): { dir: string } | { skipped: string } {
  const enable = 'enable' in ports ? ports.enable : (nodeModule as { enableCompileCache?: (dir: string) => unknown }).enableCompileCache;
  const uid = 'uid' in ports ? ports.uid : process.getuid?.();
  if (!enable) return { skipped: 'this Node has no compile cache' };
  if (ports.nodeCompileCache) return { skipped: 'NODE_COMPILE_CACHE chose it' };
  if (uid === undefined) return { skipped: 'no user id on this platform' };
  const dir = join(ports.tmp ?? tmpdir(), `labd-compile-cache-${uid}`);
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return { skipped: `cannot make ${dir}` };
  }
  try {
    const st = lstatSync(dir);
    if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o077) !== 0) return { skipped: `${dir} is not a private directory of this user` };
  } catch {
    return { skipped: `cannot read ${dir}` };
  }
  enable(dir);
  return { dir };
}
