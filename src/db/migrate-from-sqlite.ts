/**
 * `labd migrate --from-sqlite DATA_DIR --to postgres://…`: moves a lab from its SQLite file to an empty
 * PostgreSQL database. Both are migrated to the latest schema first; then every table of the drizzle
 * schemas (schema.ts and pg-schema.ts: the same tables and columns) is copied in ONE PostgreSQL
 * transaction, parents before children (foreign keys), and each identity sequence is moved past the
 * largest id copied. Any failure rolls the whole copy back: the target stays empty. A target with a
 * row in any labd table is refused. SQLite's FTS5 tables (crm_fts*) are not in the drizzle schema and
 * are not copied: PostgreSQL's search columns are generated from the rows.
 */
import { SqlCrmStore } from '../apps/crm/sql-store.ts';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { getTableColumns, getTableName, is, sql, Table, type Column } from 'drizzle-orm';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import { getTableConfig, type PgTable } from 'drizzle-orm/pg-core';
import type { SQLiteTable } from 'drizzle-orm/sqlite-core';
import { migrateDb, openDb } from './client.ts';
import * as pgSchema from './pg-schema.ts';
import { redactDatabaseUrl } from './database-url.ts';
import { openPostgres } from './postgres-engine.ts';
import * as sqliteSchema from './schema.ts';

/** The target database already holds rows: nothing was copied. */
export class TargetNotEmptyError extends Error {
  constructor(
    readonly target: string,
    readonly tables: string[],
  ) {
    super(`${target} is not empty (rows in ${tables.join(', ')}): labd copies only into an empty database`);
  }
}

export interface CopiedTable {
  table: string;
  rows: number;
}

export interface MigrateFromSqliteResult {
  source: string;
  /** The target URL without its password. */
  target: string;
  tables: CopiedTable[];
  total: number;
}

interface TablePair {
  name: string;
  pg: PgTable;
  sqlite: SQLiteTable;
  /** [pg property, sqlite property] for every column copied. */
  columns: [string, string][];
  identity: string | undefined;
}

function tablesOf<T extends Table>(mod: Record<string, unknown>): Map<string, T> {
  const m = new Map<string, T>();
  for (const v of Object.values(mod)) if (is(v, Table)) m.set(getTableName(v), v as T);
  return m;
}

/** The tables to copy, parents before children, each with its column mapping. */
export function copyPlan(): TablePair[] {
  const pgTables = tablesOf<PgTable>(pgSchema);
  const sqliteTables = tablesOf<SQLiteTable>(sqliteSchema);
  for (const name of sqliteTables.keys()) if (!pgTables.has(name)) throw new Error(`table ${name} is in the SQLite schema but not in PostgreSQL's`);
  const pairs = new Map<string, TablePair>();
  for (const [name, pg] of pgTables) {
    const st = sqliteTables.get(name);
    if (!st) throw new Error(`table ${name} is in the PostgreSQL schema but not in SQLite's`);
    const sqliteCols = new Map(Object.entries(getTableColumns(st)).map(([k, c]) => [(c as Column).name, k]));
    const columns: [string, string][] = [];
    let identity: string | undefined;
    for (const [key, col] of Object.entries(getTableColumns(pg)) as [string, Column & { generated?: unknown; generatedIdentity?: unknown }][]) {
      if (col.generated) continue; // computed by PostgreSQL (search columns)
      if (col.generatedIdentity) identity = col.name;
      const from = sqliteCols.get(col.name);
      if (from === undefined) {
        if (col.notNull && !col.hasDefault) throw new Error(`column ${name}.${col.name} is required in PostgreSQL and missing in SQLite`);
        continue;
      }
      sqliteCols.delete(col.name);
      columns.push([key, from]);
    }
    if (sqliteCols.size > 0) throw new Error(`columns ${[...sqliteCols.keys()].map((c) => `${name}.${c}`).join(', ')} are in SQLite but not in PostgreSQL`);
    pairs.set(name, { name, pg, sqlite: st, columns, identity });
  }
  // Parents first: a depth-first walk over the foreign keys, in schema order otherwise.
  const ordered: TablePair[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, path: string[]) => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') throw new Error(`foreign keys form a cycle: ${[...path, name].join(' → ')}`);
    state.set(name, 'visiting');
    const pair = pairs.get(name)!;
    for (const fk of getTableConfig(pair.pg).foreignKeys) {
      const parent = getTableName(fk.reference().foreignTable);
      if (parent !== name) visit(parent, [...path, name]);
    }
    state.set(name, 'done');
    ordered.push(pair);
  };
  for (const name of pairs.keys()) visit(name, []);
  return ordered;
}

/** The SQLite rowid, read beside the columns (no column of labd's schema has this name). */
const ROWID = '__labd_rowid';

/** Rows read and written per statement (PostgreSQL takes at most 65535 parameters in one). */
function batchSize(columns: number): number {
  return Math.max(1, Math.min(1000, Math.floor(60_000 / Math.max(1, columns))));
}

function describeError(err: unknown): string {
  // drizzle wraps the driver's error in "Failed query: … params: …" (the rows themselves): the cause says what failed.
  const e = err as Error & { cause?: Error };
  return e.cause?.message ?? e.message;
}

export async function migrateFromSqlite(opts: {
  dataDir: string;
  url: string;
  /** Called after each table is copied (inside the transaction: a throw rolls everything back). */
  onTable?: (table: string, rows: number) => void;
}): Promise<MigrateFromSqliteResult> {
  const target = redactDatabaseUrl(opts.url);
  const file = join(opts.dataDir, 'labd.db');
  if (!existsSync(file)) throw new Error(`no labd database at ${file}`);
  const plan = copyPlan();
  const sqlite = openDb(opts.dataDir);
  try {
    migrateDb(sqlite);
    const engine = await openPostgres(opts.url, { poolSize: 2 });
    try {
      const tables = await engine.handle.transaction(async (txDb) => {
        const tx = txDb as unknown as NodePgDatabase<typeof pgSchema>;
        const nonEmpty: string[] = [];
        for (const p of plan) {
          const r = await tx.execute(sql`select exists (select 1 from ${p.pg}) as x`);
          if ((r.rows[0] as { x: boolean }).x) nonEmpty.push(p.name);
        }
        if (nonEmpty.length > 0) throw new TargetNotEmptyError(target, nonEmpty);
        const copied: CopiedTable[] = [];
        for (const p of plan) {
          const size = batchSize(p.columns.length);
          let rows = 0;
          try {
            // In rowid order, each batch after the last rowid read (no OFFSET: large tables stay linear).
            const fields = { ...getTableColumns(p.sqlite), [ROWID]: sql<number>`rowid` };
            for (let last = Number.MIN_SAFE_INTEGER; ;) {
              const batch = sqlite
                .select(fields)
                .from(p.sqlite)
                .where(sql`rowid > ${last}`)
                .orderBy(sql`rowid`)
                .limit(size)
                .all() as Record<string, unknown>[];
              if (batch.length === 0) break;
              const values = batch.map((row) => Object.fromEntries(p.columns.map(([to, from]) => [to, row[from]])));
              await tx.insert(p.pg).values(values);
              rows += batch.length;
              last = batch.at(-1)![ROWID] as number;
              if (batch.length < size) break;
            }
            const [check] = (await tx.execute(sql`select count(*)::int as n from ${p.pg}`)).rows as { n: number }[];
            if (check!.n !== rows) throw new Error(`${rows} rows read, ${check!.n} in PostgreSQL`);
            if (p.identity) {
              await tx.execute(
                sql`select setval(pg_get_serial_sequence(${p.name}, ${p.identity}), coalesce((select max(${sql.identifier(p.identity)}) from ${p.pg}), 0) + 1, false)`,
              );
            }
          } catch (err) {
            throw new Error(`copying ${p.name}: ${describeError(err)}`, { cause: err });
          }
          copied.push({ table: p.name, rows });
          opts.onTable?.(p.name, rows);
        }
        // PostgreSQL's CRM search columns are written by the store, not copied: write them now, in the same transaction.
        await new SqlCrmStore(engine.handle).rebuildSearch();
        return copied;
      });
      return { source: file, target, tables, total: tables.reduce((n, t) => n + t.rows, 0) };
    } finally {
      await engine.close();
    }
  } finally {
    sqlite.$client.close();
  }
}
