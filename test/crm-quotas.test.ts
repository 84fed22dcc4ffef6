/**
 * Issue 24, item 9 (CRM part): forty 4 MiB CardDAV PUTs took the database from 19 to 340 MiB in 9 s.
 * crm.quota (cards, bytes) and crm.maxCardBytes bound every write path, set low here: CardDAV PUT
 * (413 for one oversized card, 507 over the quota), `crm add`, `crm edit` and `crm import` (a clear
 * error, non-zero exit; an import stops at the quota and says how many it imported).
 */
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { dav } from './support/dav-client.ts';
import { KeyLab } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';

const card = (uid: string, name: string, noteBytes = 0) =>
  `BEGIN:VCARD\r\nVERSION:4.0\r\nUID:${uid}\r\nFN:${name}\r\n${noteBytes ? `NOTE:${'n'.repeat(noteBytes)}\r\n` : ''}END:VCARD\r\n`;

describe('CRM quotas (crm.quota.cards, crm.quota.bytes, crm.maxCardBytes)', () => {
  const lab = new KeyLab();
  let labd: InProcessLabd;
  let admin: string;
  let mallory: string;
  let carol: string;
  let auth: string;

  before(async () => {
    admin = lab.key('admin');
    mallory = lab.key('mallory');
    carol = lab.key('carol');
    labd = await InProcessLabd.start({
      adminKeys: [lab.publicKey(admin)],
      env: { LABD_CRM_QUOTA_CARDS: '6', LABD_CRM_QUOTA_BYTES: '20000', LABD_CRM_MAX_CARD_BYTES: '8192' },
    });
    for (const [name, key] of [
      ['mallory', mallory],
      ['carol', carol],
    ] as const)
      assert.equal((await labd.ssh(admin, ['user', 'add', name, '--role', 'member', '--key', `'${lab.publicKey(key)}'`])).status, 0);
    auth = `mallory:${JSON.parse((await labd.ssh(mallory, ['token', 'create', '--scope', 'carddav', '--json'])).stdout).token}`;
  });
  after(async () => {
    await labd?.stop();
    lab.cleanup();
  });

  const put = (name: string, body: string) =>
    dav(labd.httpPort, 'PUT', `/dav/mallory/contacts/${name}.vcf`, { auth, body, headers: { 'content-type': 'text/vcard' } });
  const count = async (key: string) => (JSON.parse((await labd.ssh(key, ['crm', 'ls', '--json'])).stdout) as unknown[]).length;

  test('CardDAV: a card past crm.maxCardBytes gets 413, a PUT flood stops at the quota with 507', async () => {
    // WAL mode: what was written is in the -wal file until a checkpoint.
    const dbBytes = () => ['labd.db', 'labd.db-wal'].reduce((n, f) => n + (existsSync(join(labd.dataDir, f)) ? statSync(join(labd.dataDir, f)).size : 0), 0);
    const before = dbBytes();
    const big = await put('big', card('big', 'Big', 10_000));
    assert.equal(big.status, 413, big.body);
    assert.match(big.body, /crm\.maxCardBytes is 8192/);
    // A body far past the limit is refused while it is read, not stored first.
    const huge = await put('huge', card('huge', 'Huge', 4 * 1024 * 1024));
    assert.equal(huge.status, 413);
    // The flood: 4 KiB cards until labd says no. 20,000 bytes hold four of them.
    const statuses: number[] = [];
    let refusal = '';
    for (let i = 0; i < 40; i++) {
      const r = await put(`flood-${i}`, card(`flood-${i}`, `Flood ${i}`, 4000));
      statuses.push(r.status);
      if (r.status !== 201) refusal ||= r.body;
    }
    assert.deepEqual(statuses.slice(0, 4), [201, 201, 201, 201]);
    assert.ok(
      statuses.slice(4).every((s) => s === 507),
      statuses.join(' '),
    );
    assert.match(refusal, /crm quota: your cards take \d+ bytes; \d+ more would pass 20000 \(crm\.quota\.bytes\); nothing was stored/);
    // Growing a stored card past the quota is refused too; a small card still fits (bytes), until the count is reached.
    assert.equal((await put('flood-0', card('flood-0', 'Flood 0', 7900))).status, 507);
    assert.equal((await put('small-1', card('small-1', 'Small 1'))).status, 201);
    assert.equal((await put('small-2', card('small-2', 'Small 2'))).status, 201);
    const seventh = await put('small-3', card('small-3', 'Small 3'));
    assert.equal(seventh.status, 507);
    assert.match(seventh.body, /you have 6 cards, the most one user may keep \(crm\.quota\.cards is 6\)/);
    assert.equal(await count(mallory), 6);
    const grown = dbBytes() - before;
    console.log(`40 PUTs of 4 KiB cards at a 20,000-byte quota: ${statuses.filter((s) => s === 201).length} stored, database and WAL grew ${grown} bytes`);

    // Over SSH: add and edit refuse with a clear error and exit 1; nothing is written.
    const add = await labd.ssh(mallory, ['crm', 'add', 'One', 'More']);
    assert.equal(add.status, 1, add.stderr);
    assert.match(add.stderr, /^error: crm quota: you have 6 cards/);
    const edit = await labd.ssh(mallory, ['crm', 'edit', "'Small 1'", '--notes', 'x'.repeat(5000)]);
    assert.equal(edit.status, 1, edit.stderr);
    assert.match(edit.stderr, /crm quota: your cards take \d+ bytes/);
    assert.doesNotMatch((await labd.ssh(mallory, ['crm', 'show', "'Small 1'"])).stdout, /xxxxx/);
  });

  test('crm import: a card past crm.maxCardBytes refuses the whole file; at the quota it stops and says how many it imported', async () => {
    const oversize = await labd.ssh(carol, ['crm', 'import'], { input: card('a', 'A') + card('b', 'B', 9000) });
    assert.equal(oversize.status, 2, oversize.stderr);
    assert.match(oversize.stderr, /card 'B' is \d+ bytes, more than one card may be \(crm\.maxCardBytes is 8192\)/);
    assert.equal(await count(carol), 0, 'nothing of it was imported');

    const ten = Array.from({ length: 10 }, (_, i) => card(`c-${i}`, `Card ${i}`)).join('');
    const r = await labd.ssh(carol, ['crm', 'import'], { input: ten });
    assert.equal(r.status, 1, r.stderr);
    assert.match(
      r.stderr,
      /crm quota: you have 6 cards, the most one user may keep \(crm\.quota\.cards is 6\): imported 6 of 10 cards \(6 created, 0 merged\); nothing from card 7 on was stored/,
    );
    assert.equal(await count(carol), 6);
    // Merging into cards she has is still possible at the quota (no new card).
    const again = await labd.ssh(carol, ['crm', 'import'], { input: card('c-0', 'Card 0') });
    assert.equal(again.status, 0, again.stderr);
  });
});
