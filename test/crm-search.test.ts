/**
 * CRM search order and its two ways of finding a group. Matches come in groups (whole-word name
 * matches, then name prefixes, then anything else), each group in name order (accents and case
 * aside), names that begin with the first word first. A group with few
 * index matches is sorted; one with many walks the owner's name index instead (bench/crm at 100,000
 * contacts). Both ways must give the same contacts in the same order, owner and tag filters
 * included, so the same search is run on both sides of the cut-over.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll as after, beforeAll, describe, test } from 'vitest';
import { emptyContact, phoneOf, type ContactData } from '../src/apps/crm/model.ts';
import { SqlCrmStore } from '../src/apps/crm/sql-store.ts';
import { sortKey } from '../src/core/sort-key.ts';
import { migrateDb, openDb, type Db } from '../src/db/client.ts';
import { sqliteHandle } from '../src/db/sqlite-engine.ts';
import { ENGINES, openTestEngine, type TestEngine } from './support/engines.ts';
import { dbBefore } from './support/migrations.ts';

describe.each(ENGINES)('CRM search on %s', (engineName) => {
  let engine: TestEngine;
  let store: SqlCrmStore;
  // SQLite: the statements the store prepares, to tell which way a group was found (PostgreSQL's
  // planner chooses its own way: there only the results are compared).
  const prepared: string[] = [];
  let sqlite: Db | undefined;
  const walked = () => prepared.some((s) => s.includes('indexed by crm_contacts_owner_sort'));
  beforeAll(async () => {
    if (engineName === 'sqlite') {
      const dir = mkdtempSync(join(tmpdir(), 'labd-crm-search-'));
      const db = openDb(dir);
      migrateDb(db);
      const prepare = db.$client.prepare.bind(db.$client);
      db.$client.prepare = ((source: string) => {
        prepared.push(source);
        return prepare(source);
      }) as typeof db.$client.prepare;
      sqlite = db;
      engine = {
        name: 'sqlite',
        handle: sqliteHandle(db),
        async close() {
          db.$client.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    } else engine = await openTestEngine(engineName);
    const { users } = engine.handle.t;
    await engine.handle.run((db) =>
      db.insert(users).values([
        { name: 'alice', role: 'member' },
        { name: 'bob', role: 'member' },
        { name: 'carol', role: 'member' },
      ]),
    );
    store = new SqlCrmStore(engine.handle, 'DE');
  }, 60_000);
  after(() => engine.close());

  const person = (name: string, more: Partial<ContactData> = {}): ContactData => ({ ...emptyContact(name), ...more });
  const names = async (owner: number, query: string, o: { tag?: string; limit?: number } = {}) =>
    (await store.search(owner, { query, ...o })).map((c) => c.displayName);

  test('names first: whole words, then prefixes, then matches elsewhere; each group in name order', async () => {
    await store.create(1, person('Zoë Anabel'));
    await store.create(1, person('Anabel Costa'));
    await store.create(1, person('Ana Silva'));
    await store.create(1, person('Bruno Ana'));
    await store.create(1, person('Carla Reis', { notes: 'met Ana at the climbing gym' }));
    await store.create(1, person('Ada Banana', { emails: [{ value: 'ana@example.org' }] }));
    await store.create(1, person('Álvaro Ánacleto'));
    assert.deepEqual(await names(1, 'ana'), ['Ana Silva', 'Bruno Ana', 'Anabel Costa', 'Álvaro Ánacleto', 'Zoë Anabel', 'Ada Banana', 'Carla Reis']);
    assert.deepEqual(await names(1, 'ANA s'), ['Ana Silva'], 'every word must match');
    assert.deepEqual(await names(1, 'ana', { limit: 2 }), ['Ana Silva', 'Bruno Ana']);
    assert.deepEqual(await names(2, 'ana'), [], "another user's book is not searched");
    if (sqlite) assert.ok(!walked(), 'a few matches are sorted');
    // The names index follows removals (migration 0021's trigger) as the whole one does.
    const bruno = (await store.search(1, { query: 'bruno' }))[0]!;
    assert.ok(await store.remove(1, bruno.id));
    assert.deepEqual(await names(1, 'bruno'), []);
    if (sqlite) {
      const lite = sqlite;
      const left = (table: string) => (lite.$client.prepare(`select count(*) as n from ${table} where rowid = ?`).get(bruno.id) as { n: number }).n;
      assert.deepEqual([left('crm_fts'), left('crm_fts_names')], [0, 0]);
    }
    await store.create(1, person('Bruno Ana'));
  });

  test('a group with more matches than the cut-over walks the name index and gives the same order', async () => {
    // 1,100 "Müller"s for alice, 1,100 for bob, with every fifth of alice's tagged; the group of
    // "muller" then has more index matches than the SQLite store sorts (1,000) and it walks the name
    // index. PostgreSQL has no such cut-over: 200 each give the same orders (PGlite takes ~3 ms a query).
    const n = sqlite ? 1100 : 200;
    const given = ['Yara', 'Ben', 'Özil', 'ada', 'Émile', 'Kai', 'Lena', '李', 'Noor', 'Ivo', 'Ümit'];
    const all: { name: string; id: number; tagged: boolean }[] = [];
    // In one transaction (the store's calls join it): a commit per contact made PGlite's fill minutes long.
    await engine.handle.transaction(async () => {
      for (let i = 0; i < n; i++) {
        const name = `${given[i % given.length]} Müller ${String(i).padStart(4, '0')}`;
        const c = await store.create(1, person(name, { tags: i % 5 === 0 ? ['climbing'] : [] }));
        await store.create(2, person(`Bob's ${name}`));
        all.push({ name, id: c.id, tagged: i % 5 === 0 });
      }
    });
    // 30 whose name begins with the word: they lead the group.
    const leaders: { name: string; id: number }[] = [];
    for (let i = 0; i < 30; i++) {
      const name = `Müller ${given[i % given.length]} ${String(i).padStart(4, '0')}`;
      leaders.push({ name, id: (await store.create(1, person(name))).id });
    }
    const folded = (s: string) => Buffer.from(sortKey(s));
    const byName = (a: { name: string; id: number }, b: { name: string; id: number }) => Buffer.compare(folded(a.name), folded(b.name)) || a.id - b.id;
    const sorted = [...all].sort(byName);
    // Walked (2,230 index matches, more than 1,000).
    assert.deepEqual(
      await names(1, 'muller', { limit: 60 }),
      [...leaders.sort(byName), ...sorted.slice(0, 30)].map((c) => c.name),
    );
    if (sqlite) assert.ok(walked());
    assert.deepEqual(
      await names(1, 'müller', { tag: 'climbing', limit: 30 }),
      sorted
        .filter((c) => c.tagged)
        .slice(0, 30)
        .map((c) => c.name),
    );
    // Sorted (one given name: 100 matches for alice, 100 for bob).
    const yara = sorted.filter((c) => c.name.startsWith('Yara'));
    assert.deepEqual(
      await names(1, 'yara muller', { limit: 1000 }),
      [...yara, ...leaders.filter((c) => c.name.includes('Yara'))].map((c) => c.name),
    );
    // Each contact once, also when it is in more than one group (whole word and prefix of "mül").
    const some = await names(1, 'mül', { limit: 1000 });
    assert.equal(new Set(some).size, some.length);
    assert.equal(some.length, Math.min(1000, n + 30));
    assert.deepEqual(
      some.slice(0, 30),
      leaders.map((c) => c.name),
    );
    assert.ok(
      (await names(2, 'muller', { limit: 5 })).every((n) => n.startsWith("Bob's")),
      "bob's walk sees only bob's book",
    );
  });

  test('name order folds accents and case: Émile sorts between Ema and Emma', async () => {
    for (const name of ['Zoë', 'Emma Z', 'ezra', 'Émile Z', 'Ema Z']) await store.create(3, person(name));
    assert.deepEqual(
      (await store.search(3, {})).map((c) => c.displayName),
      ['Ema Z', 'Émile Z', 'Emma Z', 'ezra', 'Zoë'],
    );
    // "z" is a whole word of three names: they come before Zoë, whose name "z" begins.
    assert.deepEqual(await names(3, 'z'), ['Ema Z', 'Émile Z', 'Emma Z', 'Zoë']);
  });

  test('no query lists the book in name order; a phone number finds its contact in another format', async () => {
    const first = await store.search(1, { limit: 3 });
    assert.deepEqual(
      first.map((c) => c.displayName),
      ['Ada Banana', 'ada Müller 0003', 'ada Müller 0014'],
    );
    await store.create(1, person('Phone Person', { phones: [phoneOf('+49 30 1234567', 'DE')] }));
    assert.deepEqual(
      (await store.search(1, { query: '030 1234567' })).map((c) => c.displayName),
      ['Phone Person'],
    );
  });
});

test('migration 0020 gives contacts made before it the sort keys new ones get', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'labd-migrate-'));
  try {
    const db = dbBefore(dir, '0020_crm_contacts_sort_name');
    const sql = db.$client;
    sql.prepare("insert into users (name, role) values ('dora', 'member')").run();
    const insert = sql.prepare('insert into crm_contacts (owner_id, uid, display_name, created_at, updated_at, rev) values (1, ?, ?, 0, 0, 1)');
    for (const name of ['Zoë Öst', 'Émile', 'emma', 'İlkay']) insert.run(name, name);
    migrateDb(db);
    const keys = sql.prepare('select display_name as name, sort_name as key from crm_contacts order by sort_name').all();
    const listed = (await new SqlCrmStore(sqliteHandle(db)).search(1, {})).map((c) => c.displayName);
    db.$client.close();
    assert.deepEqual(keys, [
      { name: 'Émile', key: 'emile' },
      { name: 'emma', key: 'emma' },
      { name: 'İlkay', key: 'ilkay' },
      { name: 'Zoë Öst', key: 'zoe ost' },
    ]);
    assert.deepEqual(listed, ['Émile', 'emma', 'İlkay', 'Zoë Öst']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.each(ENGINES)('without crm.defaultRegion a national number (0170 1234567) finds the international one it is (%s)', async (engineName) => {
  const engine = await openTestEngine(engineName);
  try {
    await engine.handle.run((db) => db.insert(engine.handle.t.users).values({ name: 'dora', role: 'member' }));
    const store = new SqlCrmStore(engine.handle);
    const mobile = { ...emptyContact('Mobile Person'), phones: [phoneOf('+49 170 1234567', undefined)] };
    const other = { ...emptyContact('Other Person'), phones: [phoneOf('+44 20 7946 0958', undefined)] };
    await store.create(1, mobile);
    await store.create(1, other);
    const found = async (query: string) => (await store.search(1, { query })).map((c) => c.displayName);
    assert.deepEqual(await found('0170 1234567'), ['Mobile Person']);
    assert.deepEqual(await found('0170-1234567'), ['Mobile Person']);
    assert.deepEqual(await found('0049 170 1234567'), ['Mobile Person']);
    assert.deepEqual(await found('020 7946 0958'), ['Other Person']);
    assert.deepEqual(await found('0171 1234567'), []);
  } finally {
    await engine.close();
  }
});
