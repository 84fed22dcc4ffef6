/**
 * In-process PostgreSQL (PGlite) with labd's PostgreSQL migrations applied, for the contract tests
 * that run every store on both engines. unaccent and pg_trgm are loaded as on a real server.
 *
 * PGlite.create runs initdb inside WebAssembly, about 2 CPU-seconds each time: the first engine of a
 * test worker is made so and migrated, and its data directory, dumped before any test wrote to it, is
 * the template every later engine of that worker starts from (about 0.5 CPU-seconds). Test files share
 * a worker's modules (vitest.config.ts: isolate false), so most files only load the template.
 */
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { unaccent } from '@electric-sql/pglite/contrib/unaccent';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';
import * as pgSchema from '../../src/db/pg-schema.ts';
import { PG_MIGRATIONS_DIR, postgresHandle } from '../../src/db/postgres-engine.ts';
import type { SqlHandle } from '../../src/db/sql.ts';

export interface PgliteEngine {
  handle: SqlHandle;
  pg: PGlite;
  close(): Promise<void>;
}

/** A migrated, empty data directory (PGlite's dumpDataDir), made by this worker's first engine. */
let template: Promise<File | Blob> | undefined;

export async function openPglite(): Promise<PgliteEngine> {
  const extensions = { pg_trgm, unaccent };
  let pg: PGlite;
  const loadDataDir = await template?.catch(() => undefined);
  if (loadDataDir) pg = await PGlite.create({ loadDataDir, extensions });
  else {
    pg = await PGlite.create({ extensions });
    await migrate(drizzle(pg, { schema: pgSchema }), { migrationsFolder: PG_MIGRATIONS_DIR });
    template = pg.dumpDataDir('none');
    await template;
  }
  const db = drizzle(pg, { schema: pgSchema });
  return { handle: postgresHandle(db), pg, close: () => pg.close() };
}
