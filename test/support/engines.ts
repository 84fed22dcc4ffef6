/**
 * The engines every store contract test runs on: SQLite (the embedded default, a file in a temp
 * dir) and PostgreSQL (PGlite in process). Debian's postgresql-15, for what needs real connections,
 * is test/support/postgres-server.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrateDb, openDb } from '../../src/db/client.ts';
import type { SqlHandle } from '../../src/db/sql.ts';
import { sqliteHandle } from '../../src/db/sqlite-engine.ts';
import { openPglite } from './pglite.ts';

export type EngineName = 'sqlite' | 'postgres';
export const ENGINES: readonly EngineName[] = ['sqlite', 'postgres'];

export interface TestEngine {
  name: EngineName;
  handle: SqlHandle;
  close(): Promise<void>;
}

export async function openTestEngine(name: EngineName): Promise<TestEngine> {
  if (name === 'postgres') {
    const e = await openPglite();
    return { name, handle: e.handle, close: e.close };
  }
  const dir = mkdtempSync(join(tmpdir(), 'labd-sqlite-'));
  const db = openDb(dir);
  migrateDb(db);
  return {
    name,
    handle: sqliteHandle(db),
    async close() {
      db.$client.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
