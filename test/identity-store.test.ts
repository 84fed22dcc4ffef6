/**
 * The identity store behind its async port: the units of work that replaced the store's transactions
 * leave nothing half-done, two certificate logins that race to sign up the same principal end as one
 * account, and SSH authentication attempts are answered in the order they arrived although the store
 * answers asynchronously.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'vitest';
import { loadConfig } from '../src/config/load.ts';
import { Conflict } from '../src/core/errors.ts';
import { createLogger } from '../src/core/logger.ts';
import { Metrics } from '../src/core/metrics.ts';
import { fingerprint } from '../src/core/sshwire/keys.ts';
import { migrateDb, openDb, type Db } from '../src/db/client.ts';
import { sqliteHandle } from '../src/db/sqlite-engine.ts';
import { SqlAccessStore } from '../src/ops/access/sql-store.ts';
import { CERT_PROVIDER, LoginService } from '../src/ops/identity/login.ts';
import { SqlOidcLinks } from '../src/ops/identity/sql-oidc-links.ts';
import { SqlIdentityStore } from '../src/ops/identity/sql-store.ts';
import { ConnectionAuth } from '../src/ssh/auth.ts';
import { AuthAttempts, ed25519Blob } from './support/auth-context.ts';
import { until } from './support/wait.ts';

const log = createLogger('silent');

describe('identity store (async port, SQLite)', () => {
  let dir: string;
  let db: Db;
  let store: SqlIdentityStore;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'labd-identity-'));
    db = openDb(dir);
    migrateDb(db);
    store = new SqlIdentityStore(sqliteHandle(db));
  });
  afterEach(() => {
    db.$client.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const key = (fp: string) => ({ fingerprint: fp, algo: 'ssh-ed25519', publicKey: `ssh-ed25519 AAAA${fp}`, comment: 'test' });

  test('two certificate logins racing to sign up the same new principal end as one account', async () => {
    const login = new LoginService(store, loadConfig({}), log);
    const now = new Date();
    // Both read "no such user" before either writes: the second finds the first's account on its second look.
    const [a, b] = await Promise.all([login.byCertificate(['carol'], 'carol', now), login.byCertificate(['carol'], 'carol', now)]);
    assert.ok(a.ok && b.ok, JSON.stringify([a, b]));
    assert.equal(a.user.id, b.user.id);
    assert.deepEqual(
      (await store.listUsers()).map((u) => u.name),
      ['carol'],
    );
    assert.equal((await store.identity(CERT_PROVIDER, 'carol'))?.user.id, a.user.id);
  });

  test('a sign-up whose key is taken uses no invite and makes no account', async () => {
    const h = sqliteHandle(db);
    const access = new SqlAccessStore(h);
    const invite = await access.createInvite({ codeHash: 'h', role: 'member', maxUses: 1, expiresAt: null, createdBy: null, note: '' });
    const dave = await store.createUser('dave', 'member', { key: key('SHA256:taken') });
    // As `join` does it: the invite's use and the account in one write over both stores.
    const signUp = (name: string, fp: string) =>
      h.transaction(async () => {
        const at = new Date();
        await access.useInvite(invite.id, at);
        const user = await store.createUser(name, 'member', { key: key(fp) });
        await access.recordInviteUse({ inviteId: invite.id, userId: user.id, userName: user.name, fingerprint: fp, at });
        return user;
      });
    await assert.rejects(signUp('erin', 'SHA256:taken'), Conflict);
    assert.equal(await store.userByName('erin'), undefined);
    assert.equal((await access.inviteById(invite.id))?.usesLeft, 1);
    assert.deepEqual(await access.inviteUses(), []);
    assert.equal((await store.keyByFingerprint('SHA256:taken'))?.userId, dave.id);
    const erin = await signUp('erin', 'SHA256:erin');
    assert.equal((await access.inviteById(invite.id))?.usesLeft, 0);
    assert.equal((await store.keysOf(erin.id)).length, 1);
  });

  test('an OIDC link that cannot take the key stores nothing: no account, no identity', async () => {
    const links = new SqlOidcLinks(sqliteHandle(db));
    const owner = await store.createUser('frank', 'member', { key: key('SHA256:frank') });
    const claims = { issuer: 'https://idp.test', sub: 'g-1', groups: [] };
    await assert.rejects(
      links.link(
        { create: { name: 'grace', role: 'member' } },
        { link: { provider: 'oidc:https://idp.test', subject: 'g-1' } },
        key('SHA256:frank'),
        new Date(),
        claims,
      ),
      Conflict,
    );
    assert.equal(await store.userByName('grace'), undefined);
    assert.equal(await store.identity('oidc:https://idp.test', 'g-1'), undefined);
    // To the key's own account a permanent key is 'permanent', and nothing is linked either.
    const result = await links.link({ user: owner }, { link: { provider: 'oidc:https://idp.test', subject: 'g-1' } }, key('SHA256:frank'), new Date(), claims);
    assert.equal(result.kind, 'permanent');
    assert.equal(await store.identity('oidc:https://idp.test', 'g-1'), undefined);
  });

  test('the initial admin takes back its configured key in one unit', async () => {
    const mallory = await store.createUser('mallory', 'member', { key: key('SHA256:admin-key') });
    const taken = await store.ensureAdmin('admin', [key('SHA256:admin-key')]);
    assert.deepEqual(taken, [{ fingerprint: 'SHA256:admin-key', user: 'mallory' }]);
    const admin = await store.requireUser('admin');
    assert.equal(admin.role, 'admin');
    assert.equal((await store.keyByFingerprint('SHA256:admin-key'))?.userId, admin.id);
    assert.equal((await store.keysOf(mallory.id)).length, 0);
    assert.deepEqual(await store.ensureAdmin('admin', [key('SHA256:admin-key')]), []);
  });

  test('SSH authentication attempts are answered in the order they arrived, counted in that order', async () => {
    const login = new LoginService(store, loadConfig({ LABD_SIGNUP: 'closed' }), log);
    let tooMany = 0;
    const auth = new ConnectionAuth(
      {
        policy: () => ({ trustedCaBlobs: [], clockSkewSeconds: 0, revokedSerials: new Set(), revokedKeyIds: new Set() }),
        login,
        log,
        metrics: new Metrics(),
        now: () => new Date(),
        maxTries: 2,
      },
      '192.0.2.1',
      () => tooMany++,
    );
    const attempts = new AuthAttempts();
    const blob = ed25519Blob();
    // The query needs the store (an unknown key); the password attempt does not: it must still wait its turn.
    auth.handle(attempts.query('unknown key', 'alice', blob));
    auth.handle(attempts.password('password', 'alice'));
    auth.handle(attempts.query('after the limit', 'alice', blob));
    await until('three answers', () => attempts.answers.length === 3, { timeoutMs: 10_000 });
    assert.deepEqual(
      attempts.answers.map((a) => [a.label, a.answer, a.methods]),
      [
        ['unknown key', 'reject', ['publickey']],
        ['password', 'reject', ['publickey']],
        // Two failures used the tries up: what came after is refused without being evaluated.
        ['after the limit', 'reject', []],
      ],
    );
    assert.equal(tooMany, 1);
    assert.equal(await store.keyByFingerprint(fingerprint(blob)), undefined);
  });
});
