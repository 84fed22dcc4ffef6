/**
 * labd's entry point: sets up module loading, then runs the command line (cli.ts). The hook must be
 * in place before the first import of drizzle-orm, hence the dynamic import.
 */
import { skipPackageTypeLookups } from './core/module-format.ts';

skipPackageTypeLookups(['drizzle-orm']);
await import('./cli.ts');
