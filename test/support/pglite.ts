/**
 * In-process PostgreSQL (PGlite) with labd's PostgreSQL migrations applied, for the contract tests
 * that run every store on both engines. unaccent and pg_trgm are loaded as on a real server.
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

export async function openPglite(): Promise<PgliteEngine> {
  const pg = await PGlite.create({ extensions: { pg_trgm, unaccent } });
  const db = drizzle(pg, { schema: pgSchema });
  await migrate(db, { migrationsFolder: PG_MIGRATIONS_DIR });
  return { handle: postgresHandle(db), pg, close: () => pg.close() };
}
