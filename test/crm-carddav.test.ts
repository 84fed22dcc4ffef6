/**
 * CardDAV with real clients: Debian's vdirsyncer syncs a user's labd address book to a folder and
 * back, khard reads the synced cards; plus the protocol edges no client shows (412 on a stale
 * If-Match, sync-collection, bounded and entity-free XML, other users' books invisible).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Database } from '../src/db/sqlite-driver.ts';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { KeyLab, run } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';
import { vdirsyncerFor, type Vdirsyncer } from './support/vdirsyncer.ts';
import { dav } from './support/dav-client.ts';

const PROPFIND_ETAGS = '<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:getetag/><d:getcontenttype/></d:prop></d:propfind>';

describe('CardDAV', () => {
  const lab = new KeyLab();
  let labd: InProcessLabd;
  let admin: string;
  let alice: string;
  let bob: string;
  let aliceToken: string;
  let bobToken: string;
  const work = join(lab.dir, 'dav');

  const json = async (key: string, args: string[], input?: string) => {
    const r = await labd.ssh(key, [...args, '--json'], { input });
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    return JSON.parse(r.stdout);
  };

  let sync: Vdirsyncer;
  const vdirsyncer = (args: string[], input = '') => sync.run(args, input);
  const localDir = () => join(work, 'contacts', 'contacts');
  const localCards = () =>
    readdirSync(localDir())
      .filter((f) => f.endsWith('.vcf'))
      .map((f) => ({ file: f, text: readFileSync(join(localDir(), f), 'utf8') }));

  before(async () => {
    admin = lab.key('admin');
    alice = lab.key('alice');
    bob = lab.key('bob');
    labd = await InProcessLabd.start({ adminKeys: [lab.publicKey(admin)], env: { LABD_CRM_DEFAULT_REGION: 'GB' } });
    for (const [name, key] of [
      ['alice', alice],
      ['bob', bob],
    ] as const) {
      assert.equal((await labd.ssh(admin, ['user', 'add', name, '--role', 'member', '--key', `'${lab.publicKey(key)}'`])).status, 0);
    }
    const t = await json(alice, ['token', 'create', '--scope', 'carddav', '--name', 'laptop']);
    assert.match(t.token, /^labd_carddav_[A-Za-z0-9_-]{43}$/);
    assert.equal(t.url, `http://127.0.0.1:${labd.httpPort}/dav/alice/contacts/`);
    aliceToken = t.token;
    bobToken = (await json(bob, ['token', 'create', '--scope', 'carddav'])).token;
    sync = vdirsyncerFor(work, { httpPort: labd.httpPort, user: 'alice', token: aliceToken });
    writeFileSync(
      join(work, 'khard.conf'),
      [
        '[addressbooks]',
        '[[labd]]',
        `path = ${localDir()}`,
        '',
        '[general]',
        'editor = /bin/true',
        'merge_editor = /bin/true',
        'default_action = list',
        '',
      ].join('\n'),
    );
  });
  after(async () => {
    await labd?.stop();
    lab.cleanup();
  });

  test('the token is stored hashed, and only its owner can list or revoke it', async () => {
    const db = new Database(join(labd.dataDir, 'labd.db'), { readonly: true });
    const rows = db.prepare('select hash from app_tokens').all() as { hash: string }[];
    db.close();
    assert.equal(rows.length, 2);
    assert.ok(
      rows.some((r) => r.hash === createHash('sha256').update(aliceToken).digest('hex')),
      'the SHA-256 of the token is kept',
    );
    assert.ok(!rows.some((r) => r.hash.includes(aliceToken) || r.hash.includes(aliceToken.slice(5))), 'the token itself is not');
    assert.deepEqual(
      (await json(alice, ['token', 'ls'])).map((t: { name: string }) => t.name),
      ['laptop'],
    );
    assert.equal((await labd.ssh(admin, ['token', 'rm', 'laptop', '--yes'])).status, 4, "admin cannot revoke alice's token");
  });

  test('vdirsyncer discovers the book, syncs both ways, and a conflicting edit is detected, not lost; khard reads the cards', async () => {
    const ada = await json(alice, ['crm', 'add', 'Ada', 'Lovelace', '--email', 'ada@example.org', '--phone', "'+44 20 7946 0958'", '--tag', 'maths']);
    await json(alice, ['crm', 'add', 'Zoë', 'Øster', '--email', 'zoe@example.org', '--birthday', '03-12']);
    await json(bob, ['crm', 'add', 'Bobs', 'Secret', '--email', 'hidden@example.org']);

    const discover = await vdirsyncer(['discover'], 'y\ny\ny\n');
    assert.equal(discover.status, 0, discover.stdout + discover.stderr);
    const first = await vdirsyncer(['sync']);
    assert.equal(first.status, 0, first.stdout + first.stderr);
    let cards = localCards();
    assert.equal(cards.length, 2);
    assert.ok(cards.some((c) => c.text.includes('FN:Ada Lovelace')));
    assert.ok(!cards.some((c) => c.text.includes('Secret')), "bob's contact is not in alice's book");

    // khard reads what vdirsyncer wrote.
    const khard = run('khard', ['-c', join(work, 'khard.conf'), 'list'], { env: { ...process.env, HOME: work, LC_ALL: 'C.UTF-8' } });
    assert.equal(khard.status, 0, khard.stderr);
    assert.match(khard.stdout, /Ada Lovelace/);
    assert.match(khard.stdout, /Zoë Øster/);
    const khardEmail = run('khard', ['-c', join(work, 'khard.conf'), 'email', '--parsable', 'ada'], { env: { ...process.env, HOME: work, LC_ALL: 'C.UTF-8' } });
    assert.match(khardEmail.stdout, /ada@example\.org/);

    // A change in labd arrives in the folder.
    await json(alice, ['crm', 'edit', String(ada.id), '--company', "'Analytical Engines'"]);
    // A new card in the folder arrives in labd, and a local edit too.
    const uid = 'local-made-0001';
    writeFileSync(
      join(localDir(), `${uid}.vcf`),
      `BEGIN:VCARD\r\nVERSION:3.0\r\nUID:${uid}\r\nFN:Grace Hopper\r\nN:Hopper;Grace;;;\r\nTEL;TYPE=CELL:020 7946 0000\r\nEND:VCARD\r\n`,
    );
    const zoeFile = localCards().find((c) => c.text.includes('Zoë'))!;
    writeFileSync(join(localDir(), zoeFile.file), zoeFile.text.replace(/\r?\nEND:VCARD/, '\r\nTITLE:Skipper\r\nEND:VCARD'));
    const second = await vdirsyncer(['sync']);
    assert.equal(second.status, 0, second.stdout + second.stderr);
    assert.ok(
      localCards().some((c) => c.text.includes('Analytical Engines')),
      'labd edit reached the folder',
    );
    const grace = await json(alice, ['crm', 'show', 'Grace', 'Hopper']);
    assert.equal(grace.phones[0].e164, '+442079460000');
    assert.equal((await json(alice, ['crm', 'show', 'Zoë'])).title, 'Skipper');

    // A removal on each side arrives on the other.
    await json(alice, ['crm', 'rm', String(grace.id), '--yes']);
    const third = await vdirsyncer(['sync']);
    assert.equal(third.status, 0, third.stdout + third.stderr);
    assert.ok(!localCards().some((c) => c.text.includes('Grace Hopper')));

    // Both sides edit Ada: vdirsyncer reports the conflict, and neither edit is lost.
    await json(alice, ['crm', 'edit', String(ada.id), '--title', "'Countess in labd'"]);
    const adaFile = localCards().find((c) => c.text.includes('FN:Ada Lovelace'))!;
    writeFileSync(join(localDir(), adaFile.file), adaFile.text.replace(/\r?\nEND:VCARD/, '\r\nNOTE:edited on the laptop\r\nEND:VCARD'));
    const conflict = await vdirsyncer(['sync']);
    assert.notEqual(conflict.status, 0, 'a conflict is an error by default');
    assert.match(conflict.stdout + conflict.stderr, /conflict/i);
    assert.equal((await json(alice, ['crm', 'show', String(ada.id)])).title, 'Countess in labd', 'labd kept its edit');
    assert.match(readFileSync(join(localDir(), adaFile.file), 'utf8'), /edited on the laptop/, 'the folder kept its edit');
  });

  test('protocol edges: stale If-Match gets 412 and writes nothing; sync-collection; other users and bad tokens see nothing', async () => {
    const port = labd.httpPort;
    const auth = `alice:${aliceToken}`;
    const wk = await dav(port, 'PROPFIND', '/.well-known/carddav');
    assert.equal(wk.status, 301);
    assert.equal(wk.headers.location, '/dav/');
    assert.equal((await dav(port, 'PROPFIND', '/dav/alice/contacts/', { body: PROPFIND_ETAGS })).status, 401);
    assert.equal(
      (await dav(port, 'PROPFIND', '/dav/alice/contacts/', { auth: `alice:${bobToken}`, body: PROPFIND_ETAGS })).status,
      401,
      "bob's token is not alice's",
    );
    assert.equal(
      (await dav(port, 'PROPFIND', '/dav/bob/contacts/', { auth, body: PROPFIND_ETAGS, headers: { depth: '1' } })).status,
      404,
      "alice cannot open bob's book",
    );

    const put = await dav(port, 'PUT', '/dav/alice/contacts/edge.vcf', {
      auth,
      body: 'BEGIN:VCARD\r\nVERSION:4.0\r\nUID:edge-1\r\nFN:Edge Case\r\nEND:VCARD\r\n',
      headers: { 'content-type': 'text/vcard', 'if-none-match': '*' },
    });
    assert.equal(put.status, 201, put.body);
    const etag = String(put.headers.etag);
    const token0 = /<D:sync-token>([^<]+)</.exec(
      (
        await dav(port, 'REPORT', '/dav/alice/contacts/', {
          auth,
          body: '<d:sync-collection xmlns:d="DAV:"><d:sync-token/><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>',
        })
      ).body,
    )![1]!;

    const fresh = await dav(port, 'PUT', '/dav/alice/contacts/edge.vcf', {
      auth,
      body: 'BEGIN:VCARD\r\nVERSION:4.0\r\nUID:edge-1\r\nFN:Edge Case Two\r\nEND:VCARD\r\n',
      headers: { 'if-match': etag },
    });
    assert.equal(fresh.status, 204, fresh.body);
    const stale = await dav(port, 'PUT', '/dav/alice/contacts/edge.vcf', {
      auth,
      body: 'BEGIN:VCARD\r\nVERSION:4.0\r\nUID:edge-1\r\nFN:Overwritten\r\nEND:VCARD\r\n',
      headers: { 'if-match': etag },
    });
    assert.equal(stale.status, 412);
    const got = await dav(port, 'GET', '/dav/alice/contacts/edge.vcf', { auth });
    assert.match(got.body, /FN:Edge Case Two/);
    assert.equal(got.headers.etag, fresh.headers.etag);
    assert.equal((await dav(port, 'DELETE', '/dav/alice/contacts/edge.vcf', { auth, headers: { 'if-match': etag } })).status, 412);

    const sync = await dav(port, 'REPORT', '/dav/alice/contacts/', {
      auth,
      body: `<d:sync-collection xmlns:d="DAV:"><d:sync-token>${token0}</d:sync-token><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>`,
    });
    assert.equal(sync.status, 207);
    assert.match(sync.body, /edge\.vcf/);
    assert.equal((await dav(port, 'DELETE', '/dav/alice/contacts/edge.vcf', { auth, headers: { 'if-match': String(fresh.headers.etag) } })).status, 204);
    const gone = await dav(port, 'REPORT', '/dav/alice/contacts/', {
      auth,
      body: `<d:sync-collection xmlns:d="DAV:"><d:sync-token>${token0}</d:sync-token><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>`,
    });
    assert.match(gone.body, /edge\.vcf<\/D:href><D:status>HTTP\/1.1 404/);
    assert.equal(
      (
        await dav(port, 'REPORT', '/dav/alice/contacts/', {
          auth,
          body: '<d:sync-collection xmlns:d="DAV:"><d:sync-token>urn:x-labd:crm:sync:99999</d:sync-token><d:prop/></d:sync-collection>',
        })
      ).status,
      403,
    );

    await json(alice, ['crm', 'add', 'Quentin', 'Target', '--email', 'qt@example.org']);
    const query = await dav(port, 'REPORT', '/dav/alice/contacts/', {
      auth,
      body: '<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><C:address-data/></D:prop><C:filter><C:prop-filter name="EMAIL"><C:text-match match-type="starts-with">QT@</C:text-match></C:prop-filter></C:filter></C:addressbook-query>',
    });
    assert.equal(query.status, 207);
    assert.match(query.body, /FN:Quentin Target/);
    assert.doesNotMatch(query.body, /Edge Case/);

    const bomb = await dav(port, 'PROPFIND', '/dav/alice/contacts/', {
      auth,
      body: '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><d:propfind xmlns:d="DAV:"><d:prop><d:displayname>&b;</d:displayname></d:prop></d:propfind>',
    });
    assert.equal(bomb.status, 400);
    // A body declared larger than a card may be is refused before it is read.
    const huge = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method: 'PUT',
          path: '/dav/alice/contacts/huge.vcf',
          agent: false,
          headers: { authorization: `Basic ${Buffer.from(auth).toString('base64')}`, 'content-length': 5 * 1024 * 1024 },
        },
        (res) => {
          resolve(res.statusCode ?? 0);
          req.destroy();
        },
      );
      req.on('error', () => undefined);
      req.write(Buffer.alloc(1024, 'a'));
      setTimeout(() => reject(new Error('no answer to an oversized PUT')), 30_000).unref();
    });
    assert.equal(huge, 413);
    assert.equal((await dav(port, 'GET', '/dav/alice/contacts/huge.vcf', { auth })).status, 404);

    // CardDAV writes are audited like commands: who, via http, which card, the outcome.
    const audit = await labd.ssh(admin, ['audit', '--since', '1h', '--limit', '500', '--json']);
    assert.equal(audit.status, 0, audit.stderr);
    const rows = (JSON.parse(audit.stdout) as { actor: string; via: string; command: string; outcome: string }[]).filter((r) =>
      r.command.startsWith('carddav'),
    );
    assert.ok(
      rows.some((r) => r.actor === 'alice' && r.via === 'http' && r.command === 'carddav put' && r.outcome === 'ok'),
      JSON.stringify(rows),
    );
    assert.ok(
      rows.some((r) => r.command === 'carddav put' && r.outcome === 'conflict'),
      'the refused stale PUT is audited too',
    );

    // A revoked token opens nothing.
    assert.equal((await labd.ssh(alice, ['token', 'rm', 'laptop', '--yes'])).status, 0);
    assert.equal((await dav(port, 'PROPFIND', '/dav/alice/contacts/', { auth, body: PROPFIND_ETAGS })).status, 401);
    rmSync(join(work, 'status'), { recursive: true, force: true });
  });
});
