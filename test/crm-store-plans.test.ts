/**
 * One contact's operations touch that contact's rows only. Without table statistics SQLite weighs
 * `owner_id = ?` on an owner index as much as `contact_id = ?`, and with one owner holding every row
 * a wrong pick scans the whole address book on each edit (the 100,000-contact bench slowed from 240
 * to 40 contacts/s as it filled). Every statement the store runs for single-contact work is recorded
 * and its plan checked: no full scan, no search by the owner alone.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll as after, describe, test } from 'vitest';
import { emptyContact } from '../src/apps/crm/model.ts';
import { SqlCrmStore } from '../src/apps/crm/sql-store.ts';
import { sqliteHandle } from '../src/db/sqlite-engine.ts';
import { migrateDb, openDb } from '../src/db/client.ts';

describe('CRM store: query plans of single-contact work', () => {
  const dir = mkdtempSync(join(tmpdir(), 'labd-crm-plans-'));
  const db = openDb(dir);
  migrateDb(db);
  db.$client.prepare("insert into users (name, role) values ('alice', 'member')").run();
  after(() => {
    db.$client.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('create, edit, tag, note, link, unlink and remove search by the contact, never the whole book', async () => {
    const filler = new SqlCrmStore(sqliteHandle(db));
    for (let i = 0; i < 20; i++) await filler.create(1, { ...emptyContact(`Filler ${i}`), tags: ['x'] });
    // Record what a fresh store (its own statement cache) prepares: exactly the single-contact work below.
    const client = db.$client;
    const prepare = client.prepare.bind(client);
    const seen = new Set<string>();
    client.prepare = ((source: string) => {
      seen.add(source);
      return prepare(source);
    }) as typeof client.prepare;
    try {
      const store = new SqlCrmStore(sqliteHandle(db));
      const ada = await store.create(1, { ...emptyContact('Ada Lovelace'), tags: ['math'], emails: [{ value: 'ada@example.org' }] });
      const bob = await store.create(1, emptyContact('Bob Babbage'));
      await store.update(1, ada.id, { ...ada, tags: ['math', 'poetry'] });
      await store.addInteraction(1, ada.id, 'note', new Date(), 'met at the engine');
      await store.addInteraction(1, ada.id, 'called', new Date(), '');
      await store.interactions(1, ada.id, 10);
      await store.link(1, ada.id, bob.id, 'friend', 'friend');
      await store.get(1, ada.id);
      await store.unlink(1, ada.id, bob.id);
      await store.link(1, ada.id, bob.id, 'friend', 'friend');
      await store.remove(1, bob.id);
      await store.remove(1, ada.id);
    } finally {
      client.prepare = prepare;
    }
    assert.ok(seen.size > 5, `statements recorded: ${seen.size}`);
    const bad: string[] = [];
    for (const source of seen) {
      if (/^\s*(begin|commit|rollback|savepoint|release)/i.test(source)) continue;
      const params = (source.match(/\?/g) ?? []).map(() => 1);
      const plan = client.prepare(`explain query plan ${source}`).all(...params) as { detail: string }[];
      for (const { detail } of plan) {
        // The FTS table's "SCAN … VIRTUAL TABLE INDEX 0:=" is its lookup by rowid, not a scan; "SCAN
        // 2-ROW VALUES CLAUSE" reads the rows of one multi-row insert (a contact's tags, a link both ways).
        const fullScan = detail.startsWith('SCAN ') && !/VIRTUAL TABLE INDEX 0:=|CONSTANT ROW|^SCAN \d+-ROW VALUES CLAUSE$/.test(detail);
        const byOwnerOnly = /USING (COVERING )?INDEX \S+ \(owner_id=\?\)$/.test(detail);
        if (fullScan || byOwnerOnly) bad.push(`${detail}\n    in: ${source}`);
      }
    }
    assert.deepEqual(bad, [], `statements that read the whole address book:\n${bad.join('\n')}`);
  });
});
