/**
 * labd's PostgreSQL engine (src/db/postgres-engine.ts) against a real server (Debian's postgresql-15,
 * test/support/postgres-server.ts): several replicas migrating one empty database at once (the
 * advisory lock), two writers at once, rollback, and the password kept out of errors and logs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { count, eq, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as pgSchema from '../src/db/pg-schema.ts';
import { openPostgres, PG_MIGRATIONS_DIR, type PostgresEngine } from '../src/db/postgres-engine.ts';
import { SqlIdentityStore } from '../src/ops/identity/sql-store.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';
import { POSTGRES_SKIP, startPostgresServer, type PostgresServer } from './support/postgres-server.ts';

const MIGRATIONS = (JSON.parse(readFileSync(join(PG_MIGRATIONS_DIR, 'meta/_journal.json'), 'utf8')) as { entries: unknown[] }).entries.length;

if (POSTGRES_SKIP) console.warn(`test/postgres-server.test.ts skipped: ${POSTGRES_SKIP}`);

describe.skipIf(POSTGRES_SKIP)('PostgreSQL engine on a real server', () => {
  let server: PostgresServer;
  let dbs = 0;
  const freshDb = async () => {
    const name = `t${++dbs}`;
    await server.createDatabase(name);
    return server.url(name);
  };
  const query = async <T extends pg.QueryResultRow>(url: string, text: string): Promise<T[]> => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      return (await c.query<T>(text)).rows;
    } finally {
      await c.end();
    }
  };
  const migrationRows = async (url: string) => Number((await query<{ n: string }>(url, 'select count(*) as n from drizzle.__drizzle_migrations'))[0]!.n);

  beforeAll(async () => {
    server = await startPostgresServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('six replicas opening one empty database at once all start, and the migrations run once (advisory lock)', async () => {
    const url = await freshDb();
    // Pools of one connection too: the migration runs on the connection that holds the lock.
    const engines = await Promise.all(Array.from({ length: 6 }, (_, i) => openPostgres(url, { poolSize: i % 2 === 0 ? 1 : 3 })));
    try {
      for (const e of engines) expect(await e.ping()).toBe(true);
      expect(MIGRATIONS).toBeGreaterThan(0);
      expect(await migrationRows(url)).toBe(MIGRATIONS);
      const tables = await query<{ n: string }>(
        url,
        "select count(*) as n from information_schema.tables where table_schema = 'public' and table_name = 'users'",
      );
      expect(Number(tables[0]!.n)).toBe(1);
    } finally {
      await Promise.all(engines.map((e) => e.close()));
    }
  });

  it('without the lock, replicas migrating at once race (what the lock is for)', async () => {
    // Several attempts, each on a fresh database: the race is likely on the first, near certain over three.
    const outcomes: string[] = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      const url = await freshDb();
      const pools = Array.from({ length: 6 }, () => new pg.Pool({ connectionString: url, max: 2 }));
      try {
        const results = await Promise.allSettled(pools.map((p) => migrate(drizzle(p, { schema: pgSchema }), { migrationsFolder: PG_MIGRATIONS_DIR })));
        const failed = results.filter((r) => r.status === 'rejected').length;
        const rows = await migrationRows(url).catch(() => -1);
        outcomes.push(`${failed} of 6 failed, ${rows} migration rows for ${MIGRATIONS} migrations`);
        if (failed > 0 || rows !== MIGRATIONS) break;
      } finally {
        await Promise.all(pools.map((p) => p.end()));
      }
    }
    console.log(`unlocked migration: ${outcomes.join('; ')}`);
    expect(outcomes.at(-1)).not.toBe(`0 of 6 failed, ${MIGRATIONS} migration rows for ${MIGRATIONS} migrations`);
  });

  describe('two writers (two pools) on one database', () => {
    let url: string;
    let a: PostgresEngine;
    let b: PostgresEngine;
    beforeAll(async () => {
      url = await freshDb();
      [a, b] = await Promise.all([openPostgres(url, { poolSize: 4 }), openPostgres(url, { poolSize: 4 })]);
    });
    afterAll(async () => {
      await Promise.all([a?.close(), b?.close()]);
    });

    it('write the same tables in concurrent transactions: every transaction commits, nothing is lost', async () => {
      const { users, sshKeys, invites } = a.handle.t;
      const [inv] = await a.handle.run((db) =>
        db.insert(invites).values({ codeHash: 'h-counter', role: 'member', usesLeft: 0, maxUses: 1000 }).returning({ id: invites.id }),
      );
      const perWriter = 40;
      const writer = (e: PostgresEngine, tag: string) =>
        Promise.all(
          Array.from({ length: perWriter }, (_, i) =>
            e.handle.transaction(async (db) => {
              const [u] = await db
                .insert(users)
                .values({ name: `${tag}-${i}`, role: 'member' })
                .returning({ id: users.id });
              await db.insert(sshKeys).values({ userId: u!.id, fingerprint: `SHA256:${tag}-${i}`, algo: 'ssh-ed25519', publicKey: `key ${tag} ${i}` });
              // Read-modify-write on one row from both writers: row locks serialize the increments.
              await db
                .update(invites)
                .set({ usesLeft: sql`${invites.usesLeft} + 1` })
                .where(eq(invites.id, inv!.id));
            }),
          ),
        );
      await Promise.all([writer(a, 'a'), writer(b, 'b')]);
      const [nUsers] = await b.handle.run((db) => db.select({ n: count() }).from(users));
      const [nKeys] = await a.handle.run((db) => db.select({ n: count() }).from(sshKeys));
      const [counter] = await a.handle.run((db) => db.select({ n: invites.usesLeft }).from(invites).where(eq(invites.id, inv!.id)));
      expect(nUsers!.n).toBe(2 * perWriter);
      expect(nKeys!.n).toBe(2 * perWriter);
      expect(counter!.n).toBe(2 * perWriter);
    });

    it('a transaction that fails leaves nothing, and the other writer does not see its rows meanwhile', async () => {
      const { users, pastes } = a.handle.t;
      const before = (await b.handle.run((db) => db.select({ n: count() }).from(users)))[0]!.n;
      let seenByOther = -1;
      await expect(
        a.handle.transaction(async (db) => {
          const [u] = await db.insert(users).values({ name: 'rolled-back', role: 'member' }).returning({ id: users.id });
          await db.insert(pastes).values({ userId: u!.id, name: 'p', blob: 'rolled-back-blob', size: 1, binary: false, hidden: false });
          seenByOther = (await b.handle.run((odb) => odb.select({ n: count() }).from(users)))[0]!.n;
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(seenByOther).toBe(before);
      expect((await b.handle.run((db) => db.select({ n: count() }).from(users)))[0]!.n).toBe(before);
      expect(await b.handle.run((db) => db.select().from(users).where(eq(users.name, 'rolled-back')))).toEqual([]);
      expect(await b.handle.run((db) => db.select().from(pastes))).toEqual([]);
    });

    it("prepared queries (the login path's lookups) run in the caller's transaction, and on every connection of the pool", async () => {
      const store = new SqlIdentityStore(a.handle);
      // Named statements are prepared per connection: lookups at once spread over the pool's four.
      await store.createUser('prepared-ann', 'member', {
        key: { fingerprint: 'SHA256:prepared-ann', algo: 'ssh-ed25519', publicKey: 'ssh-ed25519 AAAA', comment: '' },
      });
      const found = await Promise.all(Array.from({ length: 12 }, () => store.keyByFingerprint('SHA256:prepared-ann')));
      expect(found.map((k) => k?.user.name)).toEqual(Array(12).fill('prepared-ann'));
      let inside: string | undefined;
      let outside: string | undefined = 'not asked';
      await expect(
        a.handle.transaction(async () => {
          await store.createUser('prepared-bob', 'member', {
            key: { fingerprint: 'SHA256:prepared-bob', algo: 'ssh-ed25519', publicKey: 'ssh-ed25519 AAAB', comment: '' },
          });
          inside = (await store.keyByFingerprint('SHA256:prepared-bob'))?.user.name;
          // Another call chain, outside the transaction: the pool's statement, which must not see the row yet.
          outside = await new Promise<string | undefined>((resolve, reject) =>
            setImmediate(() => new SqlIdentityStore(b.handle).userByName('prepared-bob').then((u) => resolve(u?.name), reject)),
          );
          throw new Error('roll back');
        }),
      ).rejects.toThrow('roll back');
      expect(inside).toBe('prepared-bob');
      expect(outside).toBeUndefined();
      expect(await store.keyByFingerprint('SHA256:prepared-bob')).toBeUndefined();
      expect(await store.userByName('prepared-bob')).toBeUndefined();
    });
  });

  it('a wrong password: the error names the server, not the password', async () => {
    const url = await freshDb();
    const wrong = 'Wr0ng-Pa55word-xyzzy';
    const err = await openPostgres(server.url(url.split('/').pop()!, { password: wrong })).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(Error);
    const text = `${err!.message}\n${err!.stack ?? ''}\n${String(err!.cause ?? '')}`;
    expect(text).toMatch(/password authentication failed/);
    expect(text).toContain('***');
    expect(text).not.toContain(wrong);
    expect(text).not.toContain(server.password);
  });

  it('labd started with a wrong password in LABD_DATABASE_URL: neither its error nor its log has the password', async () => {
    const wrong = 'An0ther-Wr0ng-pw';
    const url = server.url(`t${dbs}`, { password: wrong });
    const err = await InProcessLabd.start({ env: { LABD_DATABASE_URL: url } }).then(
      async (l) => {
        await l.stop();
        return undefined;
      },
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(Error);
    // The message carries labd's whole log (InProcessLabd.start).
    expect(err!.message).toMatch(/password authentication failed/);
    expect(err!.message).not.toContain(wrong);
    expect(err!.message).not.toContain(server.password);
  });
});
