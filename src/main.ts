/**
 * labd's entry point: tunes V8 (and defers its optimizing compilers while `labd serve` starts), sets up
 * module loading (the compile cache, the package-type hook), then runs the command line (cli.ts). Both
 * must be in place before the modules they apply to load, hence the dynamic import.
 */
import { nodeCompileCacheDir, nodeOptions } from './config/node-options.ts';
import { enableCompileCache } from './core/compile-cache.ts';
import { skipPackageTypeLookups } from './core/module-format.ts';
import { deferOptimizingCompilers, tuneV8 } from './core/v8-tuning.ts';

tuneV8();
// `labd serve` only: cli.ts turns them back on once labd listens. Other commands (a long migrate) keep them.
if ((process.argv[2] ?? 'serve') === 'serve') deferOptimizingCompilers(process.versions.v8, [...process.execArgv, nodeOptions()].join(' '));
skipPackageTypeLookups(['drizzle-orm']);
enableCompileCache({ nodeCompileCache: nodeCompileCacheDir() });
await import('./cli.ts');
