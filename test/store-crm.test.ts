/**
 * The CRM store's port contract (src/apps/crm/store.ts) on both engines: every method, owners kept
 * apart, conditional writes, quotas, the CardDAV revision and change pages, reminders, and a call
 * made inside a caller's transaction joining it. The search order cases are test/crm-search.test.ts
 * (on both engines too).
 */
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { Conflict, NotFound } from '../src/core/errors.ts';
import { emptyContact, phoneOf, type ContactData } from '../src/apps/crm/model.ts';
import { contactBytes, QuotaExceeded } from '../src/apps/crm/quota.ts';
import { SqlCrmStore } from '../src/apps/crm/sql-store.ts';
import { StaleWrite } from '../src/apps/crm/store.ts';
import type { Clock } from '../src/core/clock.ts';
import { ENGINES, openTestEngine, type TestEngine } from './support/engines.ts';

describe.each(ENGINES)('CRM store on %s', (engineName) => {
  let engine: TestEngine;
  let store: SqlCrmStore;
  let now = new Date('2026-03-01T10:00:00.000Z');
  const clock: Clock = { now: () => now };
  const person = (name: string, more: Partial<ContactData> = {}): ContactData => ({ ...emptyContact(name), ...more });

  beforeAll(async () => {
    engine = await openTestEngine(engineName);
    const { users } = engine.handle.t;
    await engine.handle.run((db) =>
      db.insert(users).values([
        { name: 'alice', role: 'member' },
        { name: 'bob', role: 'member' },
        { name: 'carol', role: 'member' },
        { name: 'dave', role: 'member' },
      ]),
    );
    store = new SqlCrmStore(engine.handle, 'DE', clock);
  }, 60_000);
  afterAll(() => engine.close());

  test('create, get by id, UID and href; the revision and times; owners apart', async () => {
    assert.equal(await store.revision(1), 0);
    const ada = await store.create(
      1,
      person('Ada Lovelace', {
        emails: [{ value: 'Ada@Example.org' }],
        phones: [phoneOf('+44 20 7946 0958', 'GB')],
        tags: ['math', 'analytical'],
        birthday: '1815-12-10',
        company: 'Engines Ltd',
        notes: 'first programmer',
        photo: 'data:image/png;base64,AAAA',
        extra: [['x-custom', {}, 'text', 'kept']],
      }),
    );
    assert.equal(ada.displayName, 'Ada Lovelace');
    assert.deepEqual(ada.tags, ['analytical', 'math']);
    assert.deepEqual(ada.name, { given: 'Ada', family: 'Lovelace' });
    assert.equal(ada.href, `${ada.uid}.vcf`);
    assert.equal(ada.rev, 1);
    assert.equal(ada.createdAt.getTime(), now.getTime());
    assert.equal(ada.updatedAt.getTime(), now.getTime());
    assert.equal(ada.lastContactedAt, null);
    assert.deepEqual(ada.extra, [['x-custom', {}, 'text', 'kept']]);
    assert.equal(ada.photo, 'data:image/png;base64,AAAA');
    assert.equal(await store.revision(1), 1);
    assert.deepEqual(await store.get(1, ada.id), ada);
    assert.deepEqual(await store.getByUid(1, ada.uid), ada);
    assert.deepEqual(await store.getByHref(1, ada.href), ada);
    assert.equal(await store.get(2, ada.id), undefined, "another owner's id");
    assert.equal(await store.getByUid(2, ada.uid), undefined);
    assert.equal(await store.getByHref(2, ada.href), undefined);
    const named = await store.create(1, person('Named Href'), 'chosen-name.vcf');
    assert.equal(named.href, 'chosen-name.vcf');
    assert.equal((await store.getByHref(1, 'chosen-name.vcf'))?.id, named.id);
    await assert.rejects(store.create(1, person('Again', { uid: ada.uid })), Conflict);
    await assert.rejects(store.create(1, person('Again'), 'chosen-name.vcf'), Conflict);
    // Another owner may use the same UID and href.
    const bobs = await store.create(2, person('Bob Ada', { uid: ada.uid }), 'chosen-name.vcf');
    assert.equal(await store.revision(2), 1);
    assert.equal(await store.count(1), 2);
    assert.equal(await store.count(2), 1);
    assert.equal(await store.count(3), 0);
    assert.ok(await store.remove(2, bobs.id));
  });

  test('update replaces the data; ifRev and UID conflicts; findByName; findByHandles', async () => {
    const grace = await store.create(1, person('Grace Hopper', { emails: [{ value: 'grace@navy.mil' }], tags: ['navy'] }));
    now = new Date('2026-03-02T10:00:00.000Z');
    const changed = await store.update(
      1,
      grace.id,
      { ...grace, company: 'US Navy', tags: ['cobol', 'navy'], phones: [phoneOf('030 1234567', 'DE')] },
      grace.rev,
    );
    assert.equal(changed.company, 'US Navy');
    assert.deepEqual(changed.tags, ['cobol', 'navy']);
    assert.ok(changed.rev > grace.rev);
    assert.equal(changed.updatedAt.getTime(), now.getTime());
    assert.equal(changed.createdAt.getTime(), grace.createdAt.getTime());
    await assert.rejects(store.update(1, grace.id, { ...changed, notes: 'late' }, grace.rev), StaleWrite);
    const ada = (await store.findByName(1, 'ada lovelace'))[0]!;
    await assert.rejects(store.update(1, grace.id, { ...changed, uid: ada.uid }), Conflict);
    await assert.rejects(store.update(2, grace.id, changed), NotFound, "another owner's contact");
    assert.equal((await store.get(1, grace.id))?.notes, undefined);

    assert.deepEqual(
      (await store.findByName(1, '  GRACE hopper ')).map((c) => c.displayName),
      ['Grace Hopper'],
    );
    assert.deepEqual(await store.findByName(2, 'Grace Hopper'), []);
    const summary = (await store.findByName(1, 'Ada Lovelace'))[0]!;
    assert.deepEqual(
      { ...summary },
      {
        id: ada.id,
        uid: ada.uid,
        displayName: 'Ada Lovelace',
        emails: ['Ada@Example.org'],
        phones: ['+44 20 7946 0958'],
        company: 'Engines Ltd',
        tags: ['analytical', 'math'],
        birthday: '1815-12-10',
        stayInTouchDays: undefined,
        lastContactedAt: null,
        createdAt: summary.createdAt,
      },
    );
    assert.ok(summary.createdAt instanceof Date);

    assert.deepEqual(await store.findByHandles(1, ['ada@example.org'], []), [ada.id]);
    assert.deepEqual(
      await store.findByHandles(1, ['grace@navy.mil', 'ada@example.org'], ['+49301234567']),
      [ada.id, grace.id].sort((a, b) => a - b),
    );
    assert.deepEqual(await store.findByHandles(1, [], ['+442079460958']), [ada.id]);
    assert.deepEqual(await store.findByHandles(1, ['nobody@example.org'], ['']), []);
    assert.deepEqual(await store.findByHandles(2, ['ada@example.org'], []), []);
  });

  test('search: words, prefixes, accents, tags, phones, notes of the journal; no query lists in name order', async () => {
    const names = async (owner: number, query: string, tag?: string) =>
      (await store.search(owner, { query, ...(tag ? { tag } : {}) })).map((c) => c.displayName);
    await store.create(4, person('José Núñez', { tags: ['climbing'], emails: [{ value: 'jn@example.org' }] }));
    const zoe = await store.create(4, person('Zoë Øster', { company: 'Acme', phones: [phoneOf('+49 170 1234567', 'DE')] }));
    await store.create(4, person('Émile Zola', { nicknames: ['Mimi'], tags: ['climbing', 'books'] }));
    assert.deepEqual(await names(4, 'jose'), ['José Núñez']);
    assert.deepEqual(await names(4, 'NUN'), ['José Núñez']);
    assert.deepEqual(await names(4, 'mimi'), ['Émile Zola']);
    assert.deepEqual(await names(4, 'acme'), ['Zoë Øster']);
    assert.deepEqual(await names(4, 'example'), ['José Núñez'], 'a word of an email');
    assert.deepEqual(await names(4, '0170 1234567'), ['Zoë Øster']);
    assert.deepEqual(await names(4, '+49 170 1234567'), ['Zoë Øster']);
    assert.deepEqual(await names(4, 'e', 'climbing'), ['Émile Zola', 'José Núñez'], 'tag filter: names first, then an email');
    assert.deepEqual(await names(4, 'e', 'books'), ['Émile Zola']);
    assert.deepEqual(await names(4, 'nothing-like-it'), []);
    assert.deepEqual(await names(4, '  ...  '), []);
    assert.deepEqual(await names(1, 'jose'), [], "another owner's book");
    await store.addInteraction(4, zoe.id, 'note', new Date(), 'talked about kayaking');
    assert.deepEqual(await names(4, 'kayak'), ['Zoë Øster'], 'journal notes are searched');
    assert.deepEqual(
      (await store.search(4, {})).map((c) => c.displayName),
      ['Émile Zola', 'José Núñez', 'Zoë Øster'],
    );
    assert.deepEqual(
      (await store.search(4, { tag: 'climbing', limit: 1 })).map((c) => c.displayName),
      ['Émile Zola'],
    );
    const found = (await store.search(4, { query: 'zola' }))[0]!;
    assert.deepEqual(found.tags, ['books', 'climbing']);
    // An update rewrites the index: the old name is gone, the new one found.
    const emile = (await store.getByUid(4, found.uid))!;
    await store.update(4, emile.id, { ...emile, displayName: 'Émile Renamed', name: { given: 'Émile', family: 'Renamed' }, nicknames: [] });
    assert.deepEqual(await names(4, 'zola'), []);
    assert.deepEqual(await names(4, 'renamed'), ['Émile Renamed']);
    assert.ok(await store.remove(4, emile.id));
    assert.deepEqual(await names(4, 'renamed'), []);
  });

  test('interactions set last contacted (never backwards) and list newest first', async () => {
    const kurt = await store.create(1, person('Kurt Gödel'));
    const t1 = new Date('2026-02-01T09:00:00.000Z');
    const t2 = new Date('2026-02-03T09:00:00.000Z');
    const a = await store.addInteraction(1, kurt.id, 'called', t2, '');
    const b = await store.addInteraction(1, kurt.id, 'met', t1, 'coffee');
    const c = await store.addInteraction(1, kurt.id, 'note', new Date('2026-02-05T09:00:00.000Z'), 'a note only');
    assert.deepEqual({ ...a, id: 0 }, { id: 0, kind: 'called', at: t2, note: '' });
    assert.equal((await store.get(1, kurt.id))?.lastContactedAt?.getTime(), t2.getTime(), 'an older meeting and a note leave it');
    const list = await store.interactions(1, kurt.id, 10);
    assert.deepEqual(
      list.map((i) => [i.id, i.kind, i.at.getTime(), i.note]),
      [
        [c.id, 'note', new Date('2026-02-05T09:00:00.000Z').getTime(), 'a note only'],
        [a.id, 'called', t2.getTime(), ''],
        [b.id, 'met', t1.getTime(), 'coffee'],
      ],
    );
    assert.equal((await store.interactions(1, kurt.id, 1)).length, 1);
    assert.deepEqual(await store.interactions(2, kurt.id, 10), [], "another owner's");
    await assert.rejects(store.addInteraction(2, kurt.id, 'met', t1, ''), NotFound);
    assert.deepEqual(
      (await store.search(1, { query: 'coffee' })).map((x) => x.id),
      [kurt.id],
    );
  });

  test('link both ways, unlink, and a removal bumps the contacts it was linked to', async () => {
    const x = await store.create(1, person('Marie Curie'));
    const y = await store.create(1, person('Pierre Curie'));
    const rev = await store.revision(1);
    await store.link(1, x.id, y.id, 'spouse', 'spouse');
    await store.link(1, x.id, y.id, 'spouse', 'spouse');
    const gx = (await store.get(1, x.id))!;
    assert.deepEqual(gx.links, [{ id: y.id, displayName: 'Pierre Curie', relation: 'spouse' }]);
    assert.deepEqual((await store.get(1, y.id))!.links, [{ id: x.id, displayName: 'Marie Curie', relation: 'spouse' }]);
    assert.ok(gx.rev > rev);
    await assert.rejects(store.link(2, x.id, y.id, 'friend', 'friend'), NotFound);
    assert.equal(await store.unlink(1, x.id, y.id), 2);
    assert.equal(await store.unlink(1, x.id, y.id), 0);
    assert.deepEqual((await store.get(1, x.id))!.links, []);
    await store.link(1, x.id, y.id, 'colleague', 'colleague');
    const before = (await store.get(1, y.id))!.rev;
    await assert.rejects(store.remove(1, x.id, gx.rev - 1), StaleWrite);
    assert.equal(await store.remove(2, x.id), false, "another owner's");
    assert.ok(await store.remove(1, x.id));
    const after = (await store.get(1, y.id))!;
    assert.ok(after.rev > before);
    assert.deepEqual(after.links, []);
    assert.equal(await store.get(1, x.id), undefined);
    assert.equal(await store.remove(1, x.id), false);
  });

  test('changesSince and changePage walk every change and removal in (rev, seq) order', async () => {
    const start = await store.revision(3);
    const a = await store.create(3, person('A One'));
    const b = await store.create(3, person('B Two'));
    const c = await store.create(3, person('C Three'), 'c.vcf');
    await store.update(3, a.id, { ...a, notes: 'edited' });
    await store.remove(3, b.id);
    await store.remove(3, c.id);
    const since = await store.changesSince(3, start);
    assert.equal(since.rev, await store.revision(3));
    assert.deepEqual(
      since.changed.map((x) => x.id),
      [a.id],
    );
    assert.deepEqual(since.removed.sort(), [b.href, 'c.vcf'].sort());
    const nothing = await store.changesSince(3, since.rev);
    assert.deepEqual([nothing.changed, nothing.removed], [[], []]);

    const all = await store.changePage(3, { rev: start, seq: 0 }, 100, true);
    assert.deepEqual(
      all.map((e) => [e.id, e.href]),
      [
        [a.id, null],
        [null, b.href],
        [null, 'c.vcf'],
      ],
    );
    for (let i = 1; i < all.length; i++) assert.ok(all[i - 1]!.rev < all[i]!.rev || (all[i - 1]!.rev === all[i]!.rev && all[i - 1]!.seq < all[i]!.seq));
    assert.equal(all[0]!.seq, a.id * 2);
    assert.equal(all[1]!.seq % 2, 1);
    // A page at a time, resuming after the last entry sent.
    const first = await store.changePage(3, { rev: start, seq: 0 }, 1, true);
    const second = await store.changePage(3, { rev: first[0]!.rev, seq: first[0]!.seq }, 5, true);
    assert.deepEqual([...first, ...second], all);
    assert.deepEqual(
      (await store.changePage(3, { rev: start, seq: 0 }, 100, false)).map((e) => e.id),
      [a.id],
    );
    // A card made again under a removed href leaves the removals.
    await store.create(3, person('C Again'), 'c.vcf');
    assert.ok(!(await store.changesSince(3, start)).removed.includes('c.vcf'));
  });

  test('all, pageIds, count, csvShape, usage and withReminders', async () => {
    const owner = 2;
    const made = [];
    for (const [i, name] of ['Paged One', 'Paged Two', 'Paged Three'].entries())
      made.push(
        await store.create(
          owner,
          person(name, {
            emails: Array.from({ length: i + 1 }, (_, k) => ({ value: `p${i}${k}@example.org` })),
            phones: i === 1 ? [phoneOf('+49 30 111111', 'DE'), phoneOf('+49 30 222222', 'DE')] : [],
            ...(i === 0 ? { birthday: '--05-01' } : {}),
            ...(i === 2 ? { stayInTouchDays: 30 } : {}),
          }),
        ),
      );
    const ids = made.map((c) => c.id);
    assert.deepEqual(
      (await store.all(owner)).map((c) => c.id),
      ids,
    );
    assert.deepEqual(await store.pageIds(owner, 0, 2), ids.slice(0, 2));
    assert.deepEqual(await store.pageIds(owner, ids[1]!, 2), ids.slice(2));
    assert.deepEqual(await store.pageIds(owner, ids[2]!, 2), []);
    assert.equal(await store.count(owner), 3);
    assert.deepEqual(await store.csvShape(owner), { emails: 3, phones: 2, addresses: 0 });
    assert.deepEqual(await store.csvShape(99), { emails: 0, phones: 0, addresses: 0 });
    const usage = await store.usage(owner);
    assert.equal(usage.cards, 3);
    assert.equal(
      usage.bytes,
      made.reduce((sum, c) => sum + contactBytes(c), 0),
    );
    assert.deepEqual(await store.usage(99), { cards: 0, bytes: 0 });
    assert.deepEqual((await store.withReminders(owner)).map((c) => [c.displayName, c.birthday, c.stayInTouchDays]).sort(), [
      ['Paged One', '--05-01', undefined],
      ['Paged Three', undefined, 30],
    ]);
  });

  test('quotas: cards and bytes, checked in the write', async () => {
    const owner = 4;
    const used = await store.usage(owner);
    await assert.rejects(store.create(owner, person('Too Many'), undefined, { cards: used.cards, bytes: 1e9 }), QuotaExceeded);
    const small = await store.create(owner, person('Small'), undefined, { cards: used.cards + 1, bytes: 1e9 });
    const after = await store.usage(owner);
    await assert.rejects(
      store.update(owner, small.id, { ...small, notes: 'x'.repeat(100) }, undefined, { cards: 1e6, bytes: after.bytes + 50 }),
      QuotaExceeded,
    );
    // Shrinking is always allowed, and growing within the quota.
    await store.update(owner, small.id, { ...small, notes: 'x'.repeat(10) }, undefined, { cards: 1e6, bytes: after.bytes + 50 });
    assert.equal((await store.get(owner, small.id))?.notes, 'x'.repeat(10));
  });

  test('reminder settings and the owners not yet reminded', async () => {
    assert.deepEqual(await store.reminderSettings(3), { via: 'auto', room: null });
    await store.setReminderSettings(3, { via: 'matrix', room: '!room:example.org' });
    assert.deepEqual(await store.reminderSettings(3), { via: 'matrix', room: '!room:example.org' });
    await store.setReminderSettings(3, { via: 'off', room: null });
    assert.deepEqual(await store.reminderSettings(3), { via: 'off', room: null });
    // Owners 1 (a birthday) and 2 (both kinds) have reminder candidates; 3 and 4 none.
    const due = await store.unreminded('2026-03-01');
    assert.deepEqual(
      due.map((o) => [o.ownerId, o.name, o.via, o.room]),
      [
        [1, 'alice', 'auto', null],
        [2, 'bob', 'auto', null],
      ],
    );
    await store.markReminded(1, '2026-03-01');
    assert.deepEqual(
      (await store.unreminded('2026-03-01')).map((o) => o.ownerId),
      [2],
    );
    assert.deepEqual(
      (await store.unreminded('2026-03-02')).map((o) => o.ownerId),
      [1, 2],
    );
    // Marking keeps the settings; settings keep the revision.
    await store.setReminderSettings(1, { via: 'apprise', room: null });
    await store.markReminded(1, '2026-03-02');
    assert.deepEqual(await store.reminderSettings(1), { via: 'apprise', room: null });
    assert.ok((await store.revision(1)) > 0);
  });

  test("a store call made inside the caller's transaction is rolled back with it", async () => {
    const before = await store.count(1);
    await assert.rejects(
      engine.handle.transaction(async () => {
        await store.create(1, person('Rolled Back'));
        assert.equal(await store.count(1), before + 1, 'seen inside the transaction');
        throw new Error('abort');
      }),
      /abort/,
    );
    assert.equal(await store.count(1), before);
    assert.deepEqual(await store.search(1, { query: 'rolled' }), []);
  });
});
