/**
 * bench/crm: the CRM store at size. Fills one user's book with N generated contacts (default
 * 100,000) through the store port (one transaction each, FTS row included), then measures search
 * latency (p50/p99) for the list with no query and one-word, prefix, two-word, accent-free and phone
 * queries (a family name matches about 4 % of the book: 24 given and 24 family names), the vCard import rate through
 * the same path `crm import` takes (ical.js parse, duplicate check, insert), and memory (RSS, heap,
 * database size). The aim (issue 13): p99 < 10 ms per search.
 *
 * `--database` picks the engine: `sqlite` (the default, a file in a temp dir), `pglite` (PostgreSQL
 * in process), `postgres://…` (a server: the bench creates a database of its own there and drops it
 * after), or `both` (SQLite, then PostgreSQL: LABD_DATABASE_URL's server, else PGlite), each engine's
 * figures printed under its name. On PostgreSQL the tables are ANALYZEd after the fill, as autovacuum
 * would do on a server, and the bench's database commits with synchronous_commit off (as SQLite's WAL
 * with synchronous=NORMAL, which does not flush each commit).
 *
 *   npx tsx bench/crm.ts [--contacts 100000] [--queries 300] [--import 5000] [--database sqlite|pglite|postgres://…|both]
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { importCards } from '../src/apps/crm/commands.ts';
import { newUid, phoneOf, type ContactData } from '../src/apps/crm/model.ts';
import { SqlCrmStore } from '../src/apps/crm/sql-store.ts';
import { sqliteHandle } from '../src/db/sqlite-engine.ts';
import { parseVCards } from '../src/apps/crm/vcard.ts';
import { migrateDb, openDb } from '../src/db/client.ts';
import { redactDatabaseUrl } from '../src/db/database-url.ts';
import { openPostgres } from '../src/db/postgres-engine.ts';
import type { SqlHandle } from '../src/db/sql.ts';
import pg from 'pg';
import { StallWitness } from './lib/stall-witness.ts';

const USAGE =
  'usage: npx tsx bench/crm.ts [--contacts N (max 1000000)] [--queries N (max 10000)] [--import N (max 100000)] [--database sqlite|pglite|postgres://…|both] [--no-witness]';
const { values } = parseArgs({
  options: {
    contacts: { type: 'string' },
    queries: { type: 'string' },
    import: { type: 'string' },
    database: { type: 'string' },
    'no-witness': { type: 'boolean' },
  },
});
function count(name: string, raw: string | undefined, dflt: number, max: number): number {
  if (raw === undefined) return dflt;
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > max) {
    process.stderr.write(`error: --${name}: a whole number from 1 to ${max}\n${USAGE}\n`);
    process.exit(2);
  }
  return Number(raw);
}
const N = count('contacts', values.contacts, 100_000, 1_000_000);
const Q = count('queries', values.queries, 300, 10_000);
const IMPORT = count('import', values.import, 5_000, 100_000);

const GIVEN = [
  'Ada',
  'José',
  'Zoë',
  'Łukasz',
  'Søren',
  'Ana',
  'François',
  'Chloé',
  'Inês',
  'Björn',
  'Grace',
  'Alan',
  'Marie',
  'Niels',
  'Emmy',
  'Kurt',
  'Rosalind',
  'Srinivasa',
  'Hedy',
  'Lise',
  '小龍',
  'Ngozi',
  'Aiko',
  'Mateus',
];
const FAMILY = [
  'García',
  'Núñez',
  'Øster',
  'Nowak',
  'Dupont',
  'Smith',
  'Ólafsson',
  'Silva',
  'Kowalski',
  'Brontë',
  'Hopper',
  'Turing',
  'Curie',
  'Bohr',
  'Noether',
  'Gödel',
  'Franklin',
  'Ramanujan',
  'Lamarr',
  'Meitner',
  '李',
  'Okafor',
  'Tanaka',
  'Costa',
];
const WORDS = [
  'climbing',
  'chess',
  'berlin',
  'lisbon',
  'kayak',
  'piano',
  'garden',
  'football',
  'poetry',
  'physics',
  'cooking',
  'sailing',
  'cycling',
  'jazz',
  'opera',
  'robots',
];
const TAGS = ['family', 'friends', 'work', 'school', 'neighbours', 'climbing', 'book-club', 'football'];

/** A deterministic generator, so runs compare. */
let seed = 42;
const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;

function contact(i: number): ContactData {
  const given = pick(GIVEN);
  const family = `${pick(FAMILY)}${i % 7 === 0 ? '' : ''}`;
  const name = `${given} ${family}`;
  return {
    uid: newUid(),
    displayName: name,
    name: { given, family },
    nicknames: i % 5 === 0 ? [`${given.slice(0, 3)}${i % 100}`] : [],
    emails: [{ value: `${given}.${family}.${i}@example.org`.toLowerCase() }],
    phones: [phoneOf(`+49 30 ${String(1_000_000 + i)}`, 'DE')],
    addresses: [],
    company: `Company ${i % 500}`,
    notes: `${pick(WORDS)} and ${pick(WORDS)}; met at ${pick(WORDS)}`,
    tags: [pick(TAGS), pick(TAGS)].filter((t, k, a) => a.indexOf(t) === k),
    extra: [],
    ...(i % 3 === 0 ? { birthday: `19${50 + (i % 50)}-0${1 + (i % 9)}-1${i % 9}` } : {}),
  };
}

/** Nearest-rank percentile of sorted samples, or undefined for none (every query of a kind can fall in a stall). */
function percentile(sorted: number[], p: number): number | undefined {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : undefined;
}

const ms = (value: number | undefined) => (value === undefined ? 'n/a' : `${value.toFixed(2)} ms`);

/** One engine under test: its store handle, the database's size, and how to put it away. */
interface BenchEngine {
  name: string;
  handle: SqlHandle;
  /** After the fill: table statistics where the engine plans by them. */
  settle(): Promise<void>;
  bytes(): Promise<number>;
  close(): Promise<void>;
}

async function sqliteEngine(): Promise<BenchEngine> {
  const dir = mkdtempSync(join(tmpdir(), 'labd-bench-crm-'));
  const db = openDb(dir);
  migrateDb(db);
  return {
    name: 'sqlite',
    handle: sqliteHandle(db),
    settle: async () => undefined,
    bytes: async () =>
      ['labd.db', 'labd.db-wal'].reduce((sum, f) => {
        try {
          return sum + statSync(join(dir, f)).size;
        } catch {
          return sum;
        }
      }, 0),
    async close() {
      db.$client.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function pgliteEngine(): Promise<BenchEngine> {
  // The test support's PGlite (unaccent and pg_trgm loaded, labd's migrations applied).
  const { openPglite } = await import('../test/support/pglite.ts');
  const e = await openPglite();
  return {
    name: 'postgres (PGlite)',
    handle: e.handle,
    settle: async () => void (await e.pg.exec('analyze')),
    bytes: async () => Number((await e.pg.query<{ n: string }>('select pg_database_size(current_database()) as n')).rows[0]!.n),
    close: e.close,
  };
}

/** A database of its own on the server (dropped after), so a bench never touches what is there. */
async function serverEngine(url: string): Promise<BenchEngine> {
  const name = `labd_bench_crm_${process.pid}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`create database ${name}`);
  // As SQLite's WAL with synchronous=NORMAL: a commit is not flushed to disk before it returns.
  await admin.query(`alter database ${name} set synchronous_commit = off`);
  const u = new URL(url);
  u.pathname = `/${name}`;
  const engine = await openPostgres(u.toString(), { poolSize: 4 });
  const client = new pg.Client({ connectionString: u.toString() });
  await client.connect();
  return {
    name: `postgres (${redactDatabaseUrl(url)})`,
    handle: engine.handle,
    settle: async () => void (await client.query('analyze')),
    bytes: async () => Number((await client.query<{ n: string }>('select pg_database_size(current_database()) as n')).rows[0]!.n),
    async close() {
      await client.end();
      await engine.close();
      await admin.query(`drop database if exists ${name}`);
      await admin.end();
    },
  };
}

async function bench(engine: BenchEngine): Promise<void> {
  seed = 42;
  console.log(`== ${engine.name}`);
  const { users } = engine.handle.t;
  await engine.handle.run((db) =>
    db.insert(users).values([
      { name: 'bench', role: 'member' },
      { name: 'other', role: 'member' },
    ]),
  );
  const store = new SqlCrmStore(engine.handle, 'DE');

  let t = performance.now();
  for (let i = 0; i < N; i++) await store.create(1, contact(i));
  const fillSeconds = (performance.now() - t) / 1000;
  console.log(`filled ${N} contacts in ${fillSeconds.toFixed(1)} s (${Math.round(N / fillSeconds)} contacts/s, one transaction each)`);
  await engine.settle();
  const kinds: Record<string, () => string> = {
    'no query': () => '',
    'one word': () => pick(FAMILY),
    prefix: () => pick(GIVEN).slice(0, 2),
    'two words': () => `${pick(GIVEN)} ${pick(FAMILY)}`,
    'accent-free': () => pick(['jose', 'zoe', 'nunez', 'godel', 'bronte', 'ines']),
    phone: () => `030 ${1_000_000 + Math.floor(rnd() * N)}`,
  };
  // The witness (bench/lib/stall-witness.ts) marks when the VM itself ran slow, so the tail can be
  // read with and without the queries that ran during such a stall.
  const witness = values['no-witness'] ? undefined : await StallWitness.start();
  const spans: { kind: string; start: number; end: number; ms: number; hits: number }[] = [];
  for (const [kind, query] of Object.entries(kinds)) {
    for (let q = 0; q < Q; q++) {
      const text = query();
      const start = StallWitness.now();
      const s = performance.now();
      const found = await store.search(1, { ...(text ? { query: text } : {}), limit: 50 });
      spans.push({ kind, start, end: StallWitness.now(), ms: performance.now() - s, hits: found.length });
    }
  }
  const stalls = await witness?.stop();
  for (const kind of Object.keys(kinds)) {
    const mine = spans.filter((x) => x.kind === kind);
    const times = mine.map((x) => x.ms).sort((a, b) => a - b);
    const steady = mine
      .filter((x) => !stalls?.overlaps(x.start, x.end))
      .map((x) => x.ms)
      .sort((a, b) => a - b);
    const hits = mine.reduce((sum, x) => sum + x.hits, 0) / mine.length;
    const apart = stalls ? `; without the ${mine.length - steady.length} during a VM stall p99 ${ms(percentile(steady, 99))}` : '';
    console.log(
      `search ${kind.padEnd(11)} p50 ${ms(percentile(times, 50))}  p99 ${ms(percentile(times, 99))}${apart}  (${Q} queries, ${hits.toFixed(1)} hits each, limit 50)`,
    );
  }
  if (stalls)
    console.log(
      `VM stalls: a fixed ${stalls.chunkMs.toFixed(2)} ms loop on the other core ran over twice as long for ${(stalls.stalledShare * 100).toFixed(1)} % of the search time (--no-witness to run without it)`,
    );

  const cards: string[] = [];
  for (let i = 0; i < IMPORT; i++) {
    const v4 = i % 2 === 0;
    cards.push(
      `BEGIN:VCARD\r\nVERSION:${v4 ? '4.0' : '3.0'}\r\nFN:Imported Person ${i}\r\nN:Person ${i};Imported;;;\r\nEMAIL:imported${i}@example.net\r\nTEL:+44 20 7946 ${String(i).padStart(4, '0')}\r\nNOTE:${'a folded note '.repeat(8)}\r\nCATEGORIES:imported\r\nEND:VCARD\r\n`,
    );
  }
  const text = cards.join('');
  t = performance.now();
  const parsed = parseVCards(text, 'DE');
  const report = await importCards(store, 2, parsed);
  const importSeconds = (performance.now() - t) / 1000;
  console.log(
    `import ${IMPORT} vCards (${(text.length / 1e6).toFixed(1)} MB) in ${importSeconds.toFixed(2)} s: ${Math.round(IMPORT / importSeconds)} cards/s (${report.created.length} created)`,
  );

  const mem = process.memoryUsage();
  const dbBytes = await engine.bytes();
  console.log(
    `memory: rss ${(mem.rss / 2 ** 20).toFixed(0)} MiB, heap used ${(mem.heapUsed / 2 ** 20).toFixed(0)} MiB; database ${(dbBytes / 2 ** 20).toFixed(0)} MiB for ${N + IMPORT} contacts`,
  );
}

const database = values.database ?? 'sqlite';
const pgUrl = database.startsWith('postgres://') || database.startsWith('postgresql://') ? database : process.env.LABD_DATABASE_URL;
const opens: (() => Promise<BenchEngine>)[] =
  database === 'sqlite'
    ? [sqliteEngine]
    : database === 'pglite'
      ? [pgliteEngine]
      : database === 'both'
        ? [sqliteEngine, pgUrl ? () => serverEngine(pgUrl) : pgliteEngine]
        : database === pgUrl
          ? [() => serverEngine(database)]
          : [];
if (!opens.length) {
  process.stderr.write(`error: --database: sqlite, pglite, postgres://… or both\n${USAGE}\n`);
  process.exit(2);
}
for (const open of opens) {
  const engine = await open();
  try {
    await bench(engine);
  } finally {
    await engine.close();
  }
}
