/**
 * labd's entry point: tunes V8 (and defers its optimizing compilers while `labd serve` starts), sets up
 * module loading, then runs the command line (cli.ts). The hook must be in place before the first import of
 * drizzle-orm, hence the dynamic import.
 */
import { nodeOptions } from './config/node-options.ts';
import { skipPackageTypeLookups } from './core/module-format.ts';
import { deferOptimizingCompilers, tuneV8 } from './core/v8-tuning.ts';

tuneV8();
// `labd serve` only: cli.ts turns them back on once labd listens. Other commands (a long migrate) keep them.
if ((process.argv[2] ?? 'serve') === 'serve') deferOptimizingCompilers(process.versions.v8, [...process.execArgv, nodeOptions()].join(' '));
skipPackageTypeLookups(['drizzle-orm']);
await import('./cli.ts');
