/**
 * The identity store's port (users, keys, linked identities) and the OIDC key links, on both engines:
 * every method, and the unique-constraint paths (a taken name, a taken key, a linked identity) give
 * the same typed error, or the same answer, on SQLite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { Conflict, NotFound, UsageError } from '../src/core/errors.ts';
import { SqlOidcLinks } from '../src/ops/identity/sql-oidc-links.ts';
import { SqlIdentityStore } from '../src/ops/identity/sql-store.ts';
import type { NewKey } from '../src/ops/identity/store.ts';
import { ENGINES, openTestEngine, type TestEngine } from './support/engines.ts';

const key = (fp: string, comment = 'test'): NewKey => ({ fingerprint: fp, algo: 'ssh-ed25519', publicKey: `ssh-ed25519 AAAA${fp}`, comment });
const t0 = new Date('2026-03-01T10:00:00.123Z');

describe.each(ENGINES)('identity store on %s', (engineName) => {
  let engine: TestEngine;
  let store: SqlIdentityStore;
  let links: SqlOidcLinks;
  beforeAll(async () => {
    engine = await openTestEngine(engineName);
    store = new SqlIdentityStore(engine.handle);
    links = new SqlOidcLinks(engine.handle);
  });
  afterAll(() => engine.close());

  test('creates users, finds them by name and id, lists them with their key counts', async () => {
    const ann = await store.createUser('ann', 'member', { key: key('SHA256:ann-1') });
    assert.equal(ann.name, 'ann');
    assert.equal(ann.role, 'member');
    assert.ok(ann.createdAt instanceof Date);
    assert.equal(ann.disabledAt, null);
    await store.addKey(ann.id, key('SHA256:ann-2'));
    const abe = await store.createUser('abe', 'guest');
    assert.deepEqual(await store.userByName('ann'), ann);
    assert.deepEqual(await store.userById(abe.id), abe);
    assert.deepEqual(await store.requireUser('abe'), abe);
    assert.equal(await store.userByName('nobody'), undefined);
    assert.equal(await store.userById(999_999), undefined);
    await assert.rejects(store.requireUser('nobody'), NotFound);
    const listed = (await store.listUsers()).filter((u) => u.name === 'ann' || u.name === 'abe');
    assert.deepEqual(
      listed.map((u) => [u.name, u.role, u.keys]),
      [
        ['abe', 'guest', 0],
        ['ann', 'member', 2],
      ],
    );
    assert.equal(typeof listed[0]!.keys, 'number');
  });

  test('a taken name is a Conflict and changes nothing; a reserved or invalid name is a UsageError', async () => {
    await store.createUser('bea', 'member', { key: key('SHA256:bea') });
    await assert.rejects(store.createUser('bea', 'admin', { key: key('SHA256:bea-2') }), Conflict);
    assert.equal((await store.requireUser('bea')).role, 'member');
    assert.equal(await store.keyByFingerprint('SHA256:bea-2'), undefined, 'the key of the refused account was not stored');
    await assert.rejects(store.createUser('root', 'member'), UsageError);
    await assert.rejects(store.createUser('Not A Name', 'member'), UsageError);
    assert.equal(await store.userByName('root'), undefined);
  });

  test('a taken key is a Conflict: the new user is not created', async () => {
    const cal = await store.createUser('cal', 'member', { key: key('SHA256:cal') });
    await assert.rejects(
      store.createUser('cid', 'member', { key: key('SHA256:cal') }),
      (err) => err instanceof Conflict && /belongs to another user/.test(err.message),
    );
    assert.equal(await store.userByName('cid'), undefined);
    await assert.rejects(store.addKey(cal.id, key('SHA256:cal')), (err) => err instanceof Conflict && /already registered/.test(err.message));
    const other = await store.createUser('cid', 'member');
    await assert.rejects(store.addKey(other.id, key('SHA256:cal')), (err) => err instanceof Conflict && /belongs to another user/.test(err.message));
    assert.equal((await store.keysOf(other.id)).length, 0);
  });

  test('a Conflict inside a larger transaction leaves it usable (no aborted PostgreSQL transaction)', async () => {
    await store.createUser('dan', 'member', { key: key('SHA256:dan') });
    const made = await engine.handle.transaction(async () => {
      await assert.rejects(store.createUser('dan', 'member'), Conflict);
      await assert.rejects(store.createUser('dot', 'member', { key: key('SHA256:dan') }), Conflict);
      return store.createUser('dee', 'member');
    });
    assert.equal((await store.requireUser('dee')).id, made.id);
  });

  test('keys: by fingerprint with their user, listed in order, touched, removed by number or fingerprint', async () => {
    const eve = await store.createUser('eve', 'member', { key: key('SHA256:eve-1', 'laptop') });
    const second = await store.addKey(eve.id, { ...key('SHA256:eve-2'), source: 'config' });
    assert.equal(second.source, 'config');
    const found = await store.keyByFingerprint('SHA256:eve-1');
    assert.equal(found?.user.name, 'eve');
    assert.equal(found?.comment, 'laptop');
    assert.equal(found?.source, 'user');
    assert.equal(found?.lastUsedAt, null);
    assert.equal(found?.expiresAt, null);
    assert.equal(found?.claims, null);
    assert.deepEqual(
      (await store.keysOf(eve.id)).map((k) => k.fingerprint),
      ['SHA256:eve-1', 'SHA256:eve-2'],
    );
    await store.touchKey(found!.id, t0);
    assert.equal((await store.keyByFingerprint('SHA256:eve-1'))?.lastUsedAt?.getTime(), t0.getTime());
    assert.equal((await store.removeKey(eve.id, String(second.id))).fingerprint, 'SHA256:eve-2');
    assert.equal((await store.removeKey(eve.id, 'eve-1')).fingerprint, 'SHA256:eve-1');
    await assert.rejects(store.removeKey(eve.id, 'eve-1'), NotFound);
    const other = await store.createUser('eli', 'member', { key: key('SHA256:eli') });
    await assert.rejects(store.removeKey(eve.id, 'SHA256:eli'), NotFound, "another user's key is not removed");
    assert.equal((await store.keysOf(other.id)).length, 1);
  });

  test('role, disabling, removal (keys and identities go with the user)', async () => {
    const fay = await store.createUser('fay', 'member', { key: key('SHA256:fay') });
    await store.linkIdentity(fay.id, 'cert', 'fay');
    assert.equal((await store.setRole('fay', 'operator')).role, 'operator');
    assert.equal((await store.setDisabled('fay', t0)).disabledAt?.getTime(), t0.getTime());
    assert.equal((await store.setDisabled('fay', null)).disabledAt, null);
    await assert.rejects(store.setRole('nobody', 'member'), NotFound);
    await assert.rejects(store.setDisabled('nobody', t0), NotFound);
    await store.removeUser('fay');
    assert.equal(await store.userByName('fay'), undefined);
    assert.equal(await store.keyByFingerprint('SHA256:fay'), undefined);
    assert.equal(await store.identity('cert', 'fay'), undefined);
    await assert.rejects(store.removeUser('fay'), NotFound);
  });

  test('identities: linked once, found with their user, listed, touched', async () => {
    const gus = await store.createUser('gus', 'member');
    await store.linkIdentity(gus.id, 'cert', 'gus');
    await store.linkIdentity(gus.id, 'cert', 'gus');
    await store.linkIdentity(gus.id, 'oidc:https://idp.test', 'g-1');
    const other = await store.createUser('gil', 'member');
    // Linked to gus already: linking it to another user does nothing.
    await store.linkIdentity(other.id, 'cert', 'gus');
    const found = await store.identity('cert', 'gus');
    assert.equal(found?.user.id, gus.id);
    assert.equal(found?.lastSeenAt, null);
    assert.deepEqual(
      (await store.identitiesOf(gus.id)).map((i) => [i.provider, i.subject]),
      [
        ['cert', 'gus'],
        ['oidc:https://idp.test', 'g-1'],
      ],
    );
    assert.deepEqual(await store.identitiesOf(other.id), []);
    await store.touchIdentity(found!.id, t0);
    assert.equal((await store.identity('cert', 'gus'))?.lastSeenAt?.getTime(), t0.getTime());
    assert.equal(await store.identity('cert', 'nobody'), undefined);
  });

  test('createUserWithIdentity: all or nothing; undefined when the name or the identity is taken', async () => {
    const hal = await store.createUserWithIdentity('hal', 'member', 'cert', 'hal');
    assert.equal(hal?.name, 'hal');
    assert.equal((await store.identity('cert', 'hal'))?.user.id, hal!.id);
    assert.equal(await store.createUserWithIdentity('hal', 'member', 'cert', 'hal-2'), undefined, 'name taken');
    assert.equal(await store.identity('cert', 'hal-2'), undefined);
    assert.equal(await store.createUserWithIdentity('hank', 'member', 'cert', 'hal'), undefined, 'identity taken');
    assert.equal(await store.userByName('hank'), undefined);
    await assert.rejects(store.createUserWithIdentity('root', 'member', 'cert', 'root'), UsageError);
  });

  test('ensureAdmin creates or raises the admin and takes its configured keys back from other users', async () => {
    const ivy = await store.createUser('ivy', 'member', { key: key('SHA256:cfg-1') });
    // The initial admin's name comes from config: a reserved name is fine there.
    const taken = await store.ensureAdmin('admin', [key('SHA256:cfg-1'), key('SHA256:cfg-2')]);
    assert.deepEqual(taken, [{ fingerprint: 'SHA256:cfg-1', user: 'ivy' }]);
    const admin = await store.requireUser('admin');
    assert.equal(admin.role, 'admin');
    assert.deepEqual(
      (await store.keysOf(admin.id)).map((k) => [k.fingerprint, k.source]),
      [
        ['SHA256:cfg-1', 'config'],
        ['SHA256:cfg-2', 'config'],
      ],
    );
    assert.deepEqual(await store.keysOf(ivy.id), []);
    assert.deepEqual(await store.ensureAdmin('admin', [key('SHA256:cfg-1')]), []);
    await store.setRole('admin', 'member');
    await store.ensureAdmin('admin', []);
    assert.equal((await store.requireUser('admin')).role, 'admin');
  });

  test('OIDC links: a new key is linked, renewed, moved; claims kept as JSON; a permanent key is never linked', async () => {
    const claims = { issuer: 'https://idp.test', sub: 's-1', email: 'jo@example.org', groups: ['ops', 'dev'] };
    const until = new Date(t0.getTime() + 3_600_000);
    const made = await links.link(
      { create: { name: 'jo', role: 'member' } },
      { link: { provider: 'oidc:https://idp.test', subject: 's-1' } },
      key('SHA256:jo'),
      until,
      claims,
    );
    assert.equal(made.kind, 'linked');
    const jo = await store.requireUser('jo');
    assert.ok('user' in made && made.user.id === jo.id);
    const linked = await store.keyByFingerprint('SHA256:jo');
    assert.equal(linked?.source, 'oidc');
    assert.equal(linked?.comment, 'oidc');
    assert.equal(linked?.expiresAt?.getTime(), until.getTime());
    assert.deepEqual(linked?.claims, claims);
    const ident = await store.identity('oidc:https://idp.test', 's-1');
    assert.equal(ident?.user.id, jo.id);

    const later = new Date(until.getTime() + 3_600_000);
    const renewed = await links.link({ user: jo }, { touch: { id: ident!.id, at: t0 } }, key('SHA256:jo'), later, { ...claims, groups: [] });
    assert.equal(renewed.kind, 'extended');
    assert.equal((await store.keyByFingerprint('SHA256:jo'))?.expiresAt?.getTime(), later.getTime());
    assert.deepEqual((await store.keyByFingerprint('SHA256:jo'))?.claims?.groups, []);
    assert.equal((await store.identity('oidc:https://idp.test', 's-1'))?.lastSeenAt?.getTime(), t0.getTime());

    const kim = await store.createUser('kim', 'member', { key: key('SHA256:kim') });
    const moved = await links.link({ user: kim }, { link: { provider: 'oidc:https://idp.test', subject: 's-2' } }, key('SHA256:jo'), later, claims);
    assert.deepEqual(moved.kind === 'relinked' && [moved.previousUserId, moved.user.id], [jo.id, kim.id]);
    assert.equal((await store.keyByFingerprint('SHA256:jo'))?.userId, kim.id);

    // kim's own key, registered for good: 'permanent' to kim, a Conflict to anyone else; nothing stored either way.
    const permanent = await links.link({ user: kim }, { link: { provider: 'oidc:https://idp.test', subject: 's-3' } }, key('SHA256:kim'), later, claims);
    assert.equal(permanent.kind, 'permanent');
    assert.equal(await store.identity('oidc:https://idp.test', 's-3'), undefined);
    await assert.rejects(
      links.link(
        { create: { name: 'lou', role: 'member' } },
        { link: { provider: 'oidc:https://idp.test', subject: 's-4' } },
        key('SHA256:kim'),
        later,
        claims,
      ),
      Conflict,
    );
    assert.equal(await store.userByName('lou'), undefined);
    assert.equal(await store.identity('oidc:https://idp.test', 's-4'), undefined);
    assert.equal((await store.keyByFingerprint('SHA256:kim'))?.source, 'user');
  });

  test('OIDC links: an account to make under a taken or reserved name stores nothing', async () => {
    await store.createUser('max', 'member');
    const claims = { issuer: 'https://idp.test', sub: 'm-1', groups: [] };
    await assert.rejects(
      links.link({ create: { name: 'max', role: 'member' } }, { link: { provider: 'oidc:https://idp.test', subject: 'm-1' } }, key('SHA256:max'), t0, claims),
      Conflict,
    );
    await assert.rejects(
      links.link({ create: { name: 'root', role: 'member' } }, { link: { provider: 'oidc:https://idp.test', subject: 'm-1' } }, key('SHA256:max'), t0, claims),
      UsageError,
    );
    assert.equal(await store.keyByFingerprint('SHA256:max'), undefined);
    assert.equal(await store.identity('oidc:https://idp.test', 'm-1'), undefined);
  });
});
