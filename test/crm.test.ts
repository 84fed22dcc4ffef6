import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { KeyLab, type SshResult } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';

/** Folds a content line at 75 characters the way vCard writers do (CRLF + one space). */
function fold(line: string): string {
  const chars = [...line];
  const parts: string[] = [];
  for (let i = 0; i < chars.length; i += 74) parts.push(chars.slice(i, i + 74).join(''));
  return parts.join('\r\n ');
}

const FIRST = ['José', 'Zoë', 'Łukasz', 'Søren', 'Ana', 'Müller', 'François', 'Chloé', 'Ines', 'Björn'];
const LAST = ['García', 'Øster', 'Nowak', 'Dupont', 'Smith', 'Ólafsson', 'Silva', 'Renée', 'Kowalski', 'Brontë'];

interface Generated {
  text: string;
  /** Names and emails of the cards, for checking what arrived. */
  people: { name: string; email: string; photo: string }[];
}

/** 100 cards, half vCard 3.0 and half 4.0: folded lines, UTF-8 names (CJK too), inline photos. */
function hundredCards(): Generated {
  const people: Generated['people'] = [];
  const cards: string[] = [];
  for (let i = 0; i < 100; i++) {
    const given = i % 10 === 9 ? '小龍' : FIRST[i % 10]!;
    const family = i % 10 === 9 ? `李${i}` : `${LAST[Math.floor(i / 10) % 10]!}${i}`;
    const name = `${given} ${family}`;
    const email = `person${i}@example.org`;
    const photoBytes = randomBytes(300).toString('base64');
    const v4 = i % 2 === 0;
    const photo = v4 ? `data:image/png;base64,${photoBytes}` : `data:image/jpeg;base64,${photoBytes}`;
    people.push({ name, email, photo });
    const lines = [
      'BEGIN:VCARD',
      `VERSION:${v4 ? '4.0' : '3.0'}`,
      `UID:urn:uuid:00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      `FN:${name}`,
      `N:${family};${given};;;`,
      `EMAIL;TYPE=${v4 ? 'home' : 'INTERNET,HOME'}:${email}`,
      `TEL;TYPE=${v4 ? 'cell' : 'CELL'}:+49 30 ${String(5550000 + i)}`,
      `ORG:Company ${i % 7}`,
      `NOTE:${'A long note that goes on and on so the line has to be folded, with ünïcödé in it too, number '.repeat(2)}${i}`,
      `CATEGORIES:group${i % 3},friends`,
      i % 4 === 0 ? `BDAY:${v4 ? '--0612' : '1985-06-12'}` : '',
      v4 ? `PHOTO:${photo}` : `PHOTO;ENCODING=b;TYPE=JPEG:${photoBytes}`,
      'END:VCARD',
    ].filter(Boolean);
    cards.push(lines.map(fold).join('\r\n') + '\r\n');
  }
  return { text: cards.join(''), people };
}

const GOOGLE_CSV = [
  'First Name,Middle Name,Last Name,Nickname,Organization Name,Organization Title,Birthday,Notes,Labels,E-mail 1 - Label,E-mail 1 - Value,Phone 1 - Label,Phone 1 - Value,Address 1 - Label,Address 1 - Street,Address 1 - City,Address 1 - Postal Code,Address 1 - Country',
  'Grace,Brewster,Hopper,Amazing Grace,US Navy,Rear Admiral,1906-12-09,"Compilers, and ""bugs""\nsecond line",* myContacts ::: Navy,Work,grace@navy.example,Mobile,+1 212 555 0100,Home,1 Main St,Arlington,22201,USA',
  'Alan,,Turing,,,,--06-23,,* myContacts,Home,alan@example.org ::: turing@example.org,,,,,,,',
  // Same email as card 5 of the vCard file: merged, not duplicated.
  'Ana,,Different,,,,,,* myContacts,Home,person4@example.org,,,,,,,',
].join('\r\n');

describe('crm over ssh', () => {
  const lab = new KeyLab();
  let labd: InProcessLabd;
  let admin: string;
  let alice: string;
  let bob: string;
  let carol: string;

  async function crm(key: string, args: string[], input?: string | Buffer): Promise<SshResult> {
    return await labd.ssh(key, ['crm', ...args], { input });
  }
  async function json<T = any>(key: string, args: string[], input?: string | Buffer): Promise<T> {
    const r = await crm(key, [...args, '--json'], input);
    assert.equal(r.status, 0, `crm ${args.join(' ')}: ${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  }

  before(async () => {
    admin = lab.key('admin');
    alice = lab.key('alice');
    bob = lab.key('bob');
    carol = lab.key('carol');
    labd = await InProcessLabd.start({ adminKeys: [lab.publicKey(admin)], env: { LABD_CRM_DEFAULT_REGION: 'DE' } });
    for (const [name, key] of [
      ['alice', alice],
      ['bob', bob],
      ['carol', carol],
    ] as const) {
      const r = await labd.ssh(admin, ['user', 'add', name, '--role', 'member', '--key', `'${lab.publicKey(key)}'`]);
      assert.equal(r.status, 0, r.stderr);
    }
  });
  after(async () => {
    await labd?.stop();
    lab.cleanup();
  });

  test('add, edit, note, met, due, tag, link and rm', async () => {
    const ada = await json(alice, [
      'add',
      'Ada',
      'Lovelace',
      '--email',
      'ada@example.org',
      '--phone',
      "'+44 20 7946 0958'",
      '--tag',
      'maths,friends',
      '--stay-in-touch',
      '30',
    ]);
    assert.equal(ada.name, 'Ada Lovelace');
    assert.deepEqual(ada.nameParts, { given: 'Ada', family: 'Lovelace' });
    assert.deepEqual(ada.phones, [{ value: '+44 20 7946 0958', e164: '+442079460958' }]);
    assert.deepEqual(ada.tags, ['friends', 'maths']);

    const bad = await crm(alice, ['add', 'Someone', '--email', 'not-an-email']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /not an email address/);

    const edited = await json(alice, ['edit', String(ada.id), '--company', "'Analytical Engines'", '--birthday', '12-10', '--how-met', "'at Babbage’s'"]);
    assert.equal(edited.company, 'Analytical Engines');
    assert.equal(edited.birthday, '--12-10');
    assert.equal(edited.howMet, 'at Babbage’s');

    const charles = await json(alice, ['add', 'Charles', 'Babbage', '--phone', "'030 1234567'"]);
    assert.equal(charles.phones[0].e164, '+49301234567', 'a national number is read in crm.defaultRegion');

    const note = await json(alice, ['note', String(ada.id), 'wants', 'to', 'see', 'the', '-', 'Difference', 'Engine']);
    assert.equal(note.note, 'wants to see the - Difference Engine');
    // Not contacted yet and due every 30 days from when she was added: not overdue yet.
    assert.deepEqual(await json(alice, ['ls', '--due']), []);
    const met = await json(alice, ['met', String(ada.id), '--via', 'call', '--on', '2020-01-02', 'long', 'talk', 'about', 'poetry']);
    assert.equal(met.kind, 'called');
    const shown = await json(alice, ['show', 'Ada', 'Lovelace']);
    assert.equal(shown.id, ada.id);
    assert.equal(shown.lastContactedAt, '2020-01-02T12:00:00.000Z');
    assert.deepEqual(shown.interactions.map((i: { kind: string }) => i.kind).sort(), ['called', 'note']);
    const due = await json<{ id: number; kind: string; why: string }[]>(alice, ['due', '--days', '14']);
    assert.ok(
      due.some((d) => d.id === ada.id && d.kind === 'overdue'),
      JSON.stringify(due),
    );
    assert.deepEqual(
      (await json(alice, ['ls', '--due'])).map((c: { id: number }) => c.id),
      [ada.id],
    );
    // The note text is searchable.
    assert.deepEqual(
      (await json(alice, ['ls', 'poetry'])).map((c: { id: number }) => c.id),
      [ada.id],
    );

    const tagged = await json(alice, ['tag', String(ada.id), '+Poets', '-maths']);
    assert.deepEqual(tagged.tags, ['friends', 'poets']);
    assert.deepEqual(
      (await json(alice, ['ls', '--tag', 'poets'])).map((c: { id: number }) => c.id),
      [ada.id],
    );

    await json(alice, ['link', String(ada.id), String(charles.id), '--as', 'colleague']);
    const byz = await json(alice, ['add', 'Byron', 'Junior']);
    await json(alice, ['link', String(byz.id), String(ada.id), '--as', 'parent']);
    const adaLinks = (await json(alice, ['show', String(ada.id)])).links;
    assert.deepEqual(adaLinks.map((l: { displayName: string; relation: string }) => `${l.relation}:${l.displayName}`).sort(), [
      'child:Byron Junior',
      'colleague:Charles Babbage',
    ]);
    assert.deepEqual(
      (await json(alice, ['show', String(charles.id)])).links.map((l: { relation: string }) => l.relation),
      ['colleague'],
    );

    const refused = await crm(alice, ['rm', String(byz.id)]);
    assert.equal(refused.status, 2, 'rm without --yes is refused');
    assert.equal((await json(alice, ['rm', String(byz.id), '--yes'])).removed, true);
    assert.equal((await crm(alice, ['show', String(byz.id)])).status, 4);
    assert.deepEqual(
      (await json(alice, ['show', String(ada.id)])).links.map((l: { relation: string }) => l.relation),
      ['colleague'],
    );
  });

  test('search: by prefix, without accents, any case, and a phone in another format', async () => {
    await json(alice, ['add', 'José', 'Núñez', '--email', 'jn@example.com', '--phone', "'+49 89 7654321'", '--company', "'Ærø Boats'"]);
    const names = async (q: string[]) => (await json(alice, ['ls', ...q])).map((c: { name: string }) => c.name);
    assert.deepEqual(await names(['lov']), ['Ada Lovelace']);
    assert.deepEqual(await names(['jose']), ['José Núñez']);
    assert.deepEqual(await names(['NUNEZ']), ['José Núñez']);
    assert.deepEqual(await names(['jo', 'nu']), ['José Núñez']);
    assert.deepEqual((await names(['aero'])).length, 0, 'æ is a letter of its own, not a+e');
    assert.deepEqual(await names(['ærø']), ['José Núñez']);
    assert.deepEqual(await names(['089', '7654321']), ['José Núñez'], 'national format');
    assert.deepEqual(await names(['0049897654321']), ['José Núñez'], 'international with 00');
    assert.deepEqual(await names(['+442079460958']), ['Ada Lovelace'], 'E.164 of a number typed with spaces');
    assert.deepEqual(await names(['jn@example']), ['José Núñez']);
    assert.deepEqual(await names(['zzz']), []);
  });

  test('import 100 vCards (3.0 and 4.0, folded, UTF-8, photos) and a Google CSV, merging duplicates; export and re-import without loss', async () => {
    const { text, people } = hundredCards();
    const report = await json(bob, ['import'], text);
    assert.equal(report.cards, 100);
    assert.equal(report.created.length, 100);
    const listed = await json<{ name: string; emails: string[] }[]>(bob, ['ls', '--limit', '1000']);
    assert.equal(listed.length, 100);
    for (const p of people)
      assert.ok(
        listed.some((c) => c.name === p.name && c.emails[0] === p.email),
        `missing ${p.name}`,
      );
    const card9 = await json(bob, ['show', '小龍', '李9']);
    assert.equal(card9.photo, people[9]!.photo, 'a v3 photo comes back as the same bytes');
    assert.equal((await json(bob, ['show', people[8]!.name])).photo, people[8]!.photo, 'a v4 photo is kept as is');
    assert.match((await json(bob, ['show', people[3]!.name])).notes, /folded, with ünïcödé in it too, number A long/);

    const csv = await json(bob, ['import', '--csv'], GOOGLE_CSV);
    assert.equal(csv.created.length, 2);
    assert.deepEqual(
      csv.merged.map((m: { name: string; by: string }) => [m.name, m.by]),
      [[people[4]!.name, 'email person4@example.org']],
    );
    const grace = await json(bob, ['show', 'Grace', 'Brewster', 'Hopper']);
    assert.deepEqual(grace.nameParts, { given: 'Grace', middle: 'Brewster', family: 'Hopper' });
    assert.equal(grace.notes, 'Compilers, and "bugs"\nsecond line');
    assert.equal(grace.birthday, '1906-12-09');
    assert.deepEqual(grace.tags, ['navy']);
    assert.equal(grace.phones[0].e164, '+12125550100');
    assert.equal(grace.addresses[0].locality, 'Arlington');
    assert.equal((await json(bob, ['show', 'Alan', 'Turing'])).emails.length, 2);
    // Importing the same file again merges every card into itself: nothing new.
    assert.equal((await json(bob, ['import'], text)).created.length, 0);

    // A link, so that RELATED survives the round trip too.
    await json(bob, ['link', "'Grace Brewster Hopper'", "'Alan Turing'", '--as', 'friend']);
    const vcf = await crm(bob, ['export']);
    assert.equal(vcf.status, 0, vcf.stderr);
    assert.equal((vcf.stdout.match(/BEGIN:VCARD/g) ?? []).length, 102);
    const again = await json(carol, ['import'], vcf.stdout);
    assert.equal(again.created.length, 102);
    const strip = (list: any[]) =>
      list
        .map(({ id: _id, createdAt: _c, updatedAt: _u, interactions: _i, lastContactedAt: _l, links, ...rest }) => ({
          ...rest,
          links: links.map((l: { displayName: string; relation: string }) => [l.displayName, l.relation]),
        }))
        .sort((a, b) => a.uid.localeCompare(b.uid));
    const bobAll = strip(JSON.parse((await crm(bob, ['export', '--format', 'json'])).stdout));
    const carolAll = strip(JSON.parse((await crm(carol, ['export', '--format', 'json'])).stdout));
    assert.equal(carolAll.length, 102);
    assert.deepEqual(carolAll, bobAll);

    // CSV out and back in: Google's layout keeps names, emails, phones, tags, birthday, notes.
    const csvOut = await crm(bob, ['export', '--format', 'csv']);
    assert.equal(csvOut.status, 0, csvOut.stderr);
    const dave = lab.key('dave');
    assert.equal((await labd.ssh(admin, ['user', 'add', 'dave', '--role', 'member', '--key', `'${lab.publicKey(dave)}'`])).status, 0);
    assert.equal((await json(dave, ['import', '--csv'], csvOut.stdout)).created.length, 102);
    const g2 = await json(dave, ['show', 'Grace', 'Brewster', 'Hopper']);
    for (const k of ['emails', 'phones', 'tags', 'birthday', 'notes', 'nameParts', 'company', 'title'] as const) assert.deepEqual(g2[k], grace[k], k);
  });

  test("one user never sees another's contacts, admins included", async () => {
    const secret = await json(alice, ['add', 'Secret', 'Friend', '--email', 'secret@example.org', '--tag', 'private']);
    for (const key of [bob, admin]) {
      assert.equal((await json(key, ['ls', 'secret'])).length, 0);
      assert.equal((await json(key, ['ls', '--tag', 'private'])).length, 0);
      const show = await crm(key, ['show', String(secret.id)]);
      assert.equal(show.status, 4, show.stderr);
      assert.doesNotMatch(show.stdout + show.stderr, /Friend|secret@/);
      assert.equal((await crm(key, ['edit', String(secret.id), '--company', 'x'])).status, 4);
      assert.equal((await crm(key, ['note', String(secret.id), 'hi'])).status, 4);
      assert.equal((await crm(key, ['rm', String(secret.id), '--yes'])).status, 4);
      assert.equal((await crm(key, ['link', String(secret.id), '1', '--as', 'friend'])).status, 4);
      assert.doesNotMatch((await crm(key, ['export'])).stdout, /Secret Friend/);
      assert.doesNotMatch((await crm(key, ['export', '--format', 'json'])).stdout, /Secret Friend/);
    }
    // A card with alice's contact's email lands in bob's own book, not merged into hers.
    const imported = await json(bob, ['import'], 'BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Not Her\r\nEMAIL:secret@example.org\r\nEND:VCARD\r\n');
    assert.equal(imported.created.length, 1);
    assert.equal((await json(alice, ['show', String(secret.id)])).name, 'Secret Friend');
    assert.equal((await json(alice, ['show', String(secret.id)])).company, null);
  });

  test('hostile input: not a vCard, bad dates, unknown relation or via', async () => {
    const junk = await crm(alice, ['import'], 'hello\r\n');
    assert.notEqual(junk.status, 0);
    assert.equal((await crm(alice, ['met', '1', '--via', 'pigeon'])).status, 2);
    assert.equal((await crm(alice, ['met', '1', '--on', '2999-01-01'])).status, 2);
    assert.equal((await crm(alice, ['edit', '1', '--birthday', '02-30'])).status, 2);
    assert.equal((await crm(alice, ['link', '1', '2', '--as', 'nemesis'])).status, 2);
  });
});
