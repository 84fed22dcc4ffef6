/**
 * labd's entry point: tunes V8, sets up module loading, then runs the command line (cli.ts). The hook must be
 * in place before the first import of drizzle-orm, hence the dynamic import.
 */
import { skipPackageTypeLookups } from './core/module-format.ts';
import { tuneV8 } from './core/v8-tuning.ts';

tuneV8();
skipPackageTypeLookups(['drizzle-orm']);
await import('./cli.ts');
