/**
 * The identity store on SQLite or PostgreSQL (drizzle, one query set for both): each port method is one
 * read, or one transaction that joins the caller's. A taken name or key is a Conflict on both engines:
 * checked first, and the insert itself does nothing on a conflict (`on conflict do nothing`), so a
 * race lost to another transaction is a Conflict too, never a driver error that would abort a
 * PostgreSQL transaction the caller still means to use.
 */
import { lockUntilCommit } from '../../db/sql-guards.ts';
import { and, asc, count, eq, sql } from 'drizzle-orm';
import { Conflict, NotFound } from '../../core/errors.ts';
import type { Role } from '../../core/permissions.ts';
import { preparedQuery, type SqlDb, type SqlHandle, type SqlTables } from '../../db/sql.ts';
import { checkNewUserName, checkUserName, type AdminKey, type IdentityRow, type IdentityStore, type NewKey, type SshKeyRow, type User } from './store.ts';

export class SqlIdentityStore implements IdentityStore {
  private readonly q: Queries;

  constructor(private readonly h: SqlHandle) {
    this.q = new Queries(h.t);
  }

  async userByName(name: string): Promise<User | undefined> {
    return this.h.run((db) => this.q.userByName(db, name));
  }

  async userById(id: number): Promise<User | undefined> {
    return this.h.run(async (db) => (await this.q.userById(db, { id }))[0]);
  }

  async requireUser(name: string): Promise<User> {
    return this.h.run((db) => this.q.requireUser(db, name));
  }

  async listUsers(): Promise<(User & { keys: number })[]> {
    const { users, sshKeys } = this.h.t;
    return this.h.run((db) =>
      db
        .select({
          id: users.id,
          name: users.name,
          role: users.role,
          createdAt: users.createdAt,
          disabledAt: users.disabledAt,
          keys: count(sshKeys.id),
        })
        .from(users)
        .leftJoin(sshKeys, eq(sshKeys.userId, users.id))
        .groupBy(users.id)
        .orderBy(asc(users.name)),
    );
  }

  async createUser(name: string, role: Role, o: { key?: NewKey } = {}): Promise<User> {
    return this.h.transaction(async (db) => {
      const user = await this.q.createUser(db, name, role);
      if (o.key) await this.q.addKey(db, user.id, o.key);
      return user;
    });
  }

  async createUserWithIdentity(name: string, role: Role, provider: string, subject: string): Promise<User | undefined> {
    const { users, identities } = this.h.t;
    return this.h.transaction(async (db) => {
      if ((await this.q.userByName(db, name)) || (await this.q.identityOf(db, provider, subject))) return undefined;
      checkNewUserName(name);
      const [user] = await db.insert(users).values({ name, role }).onConflictDoNothing({ target: users.name }).returning();
      if (!user) return undefined;
      const linked = await db
        .insert(identities)
        .values({ userId: user.id, provider, subject })
        .onConflictDoNothing({ target: [identities.provider, identities.subject] })
        .returning({ id: identities.id });
      if (!linked.length) {
        // Another login linked the identity meanwhile: the account made for it goes again (the caller may be in a larger transaction).
        await db.delete(users).where(eq(users.id, user.id));
        return undefined;
      }
      return user;
    });
  }

  async setRole(name: string, role: Role): Promise<User> {
    const { users } = this.h.t;
    return this.h.transaction(async (db) => {
      const user = await this.q.requireUser(db, name);
      return (await db.update(users).set({ role }).where(eq(users.id, user.id)).returning())[0]!;
    });
  }

  async setDisabled(name: string, at: Date | null): Promise<User> {
    const { users } = this.h.t;
    return this.h.transaction(async (db) => {
      const user = await this.q.requireUser(db, name);
      return (await db.update(users).set({ disabledAt: at }).where(eq(users.id, user.id)).returning())[0]!;
    });
  }

  async removeUser(name: string): Promise<void> {
    const { users } = this.h.t;
    await this.h.transaction(async (db) => {
      const user = await this.q.requireUser(db, name);
      await db.delete(users).where(eq(users.id, user.id));
    });
  }

  async keyByFingerprint(fingerprint: string): Promise<(SshKeyRow & { user: User }) | undefined> {
    return this.h.run((db) => this.q.keyByFingerprint(db, fingerprint));
  }

  async keysOf(userId: number): Promise<SshKeyRow[]> {
    const { sshKeys } = this.h.t;
    return this.h.run((db) => db.select().from(sshKeys).where(eq(sshKeys.userId, userId)).orderBy(asc(sshKeys.id)));
  }

  async addKey(userId: number, key: NewKey): Promise<SshKeyRow> {
    return this.h.transaction((db) => this.q.addKey(db, userId, key));
  }

  async removeKey(userId: number, which: string): Promise<SshKeyRow> {
    const { sshKeys } = this.h.t;
    return this.h.transaction(async (db) => {
      const keys = await db.select().from(sshKeys).where(eq(sshKeys.userId, userId)).orderBy(asc(sshKeys.id));
      const key = /^\d+$/.test(which)
        ? keys.find((k) => k.id === Number(which))
        : keys.find((k) => k.fingerprint === which || k.fingerprint === `SHA256:${which}`);
      if (!key) throw new NotFound(`no key '${which.slice(0, 60)}' (see 'keys ls')`);
      await db.delete(sshKeys).where(eq(sshKeys.id, key.id));
      return key;
    });
  }

  async touchKey(id: number, at: Date): Promise<void> {
    await this.h.run(async (db) => {
      await this.q.touchKey(db, { id, at });
    });
  }

  async identity(provider: string, subject: string): Promise<(IdentityRow & { user: User }) | undefined> {
    return this.h.run((db) => this.q.identityOf(db, provider, subject));
  }

  async linkIdentity(userId: number, provider: string, subject: string): Promise<void> {
    const { identities } = this.h.t;
    await this.h.run(async (db) => {
      await db
        .insert(identities)
        .values({ userId, provider, subject })
        .onConflictDoNothing({ target: [identities.provider, identities.subject] });
    });
  }

  async identitiesOf(userId: number): Promise<IdentityRow[]> {
    const { identities } = this.h.t;
    return this.h.run((db) => db.select().from(identities).where(eq(identities.userId, userId)).orderBy(asc(identities.id)));
  }

  async touchIdentity(id: number, at: Date): Promise<void> {
    const { identities } = this.h.t;
    await this.h.run(async (db) => {
      await db.update(identities).set({ lastSeenAt: at }).where(eq(identities.id, id));
    });
  }

  async ensureAdmin(name: string, keys: AdminKey[]): Promise<{ fingerprint: string; user: string }[]> {
    const { users, sshKeys } = this.h.t;
    return this.h.transaction(async (db) => {
      // Replicas starting at once on an empty database: one creates the admin, the others then find it.
      await lockUntilCommit(this.h, db, `initial admin ${name}`);
      let admin = await this.q.userByName(db, name);
      if (!admin) admin = await this.q.createUser(db, name, 'admin', true);
      else if (admin.role !== 'admin') admin = (await db.update(users).set({ role: 'admin' }).where(eq(users.id, admin.id)).returning())[0]!;
      const takenBack: { fingerprint: string; user: string }[] = [];
      for (const key of keys) {
        const existing = await this.q.keyByFingerprint(db, key.fingerprint);
        if (existing && existing.userId !== admin.id) {
          takenBack.push({ fingerprint: key.fingerprint, user: existing.user.name });
          await db.delete(sshKeys).where(eq(sshKeys.id, existing.id));
        }
        if (!existing || existing.userId !== admin.id) await this.q.addKey(db, admin.id, { ...key, source: 'config' });
      }
      return takenBack;
    });
  }
}

/** The queries the methods share, on the database or transaction they are given. */
class Queries {
  // Every SSH login runs these (prepared: built once, see preparedQuery). Each matches a unique column,
  // so none has `limit 1`, and none joins: SQLite (3.54) plans a statement with a bound LIMIT, or a join
  // with a bound value, anew on every run, which costs more than the lookups themselves.
  readonly userById;
  private readonly byName;
  private readonly byFingerprint;
  readonly touchKey;

  constructor(private readonly t: SqlTables) {
    const { users, sshKeys } = t;
    this.userById = preparedQuery('identity_user_by_id', (db) =>
      db
        .select()
        .from(users)
        .where(eq(users.id, sql.placeholder('id'))),
    );
    this.byName = preparedQuery('identity_user_by_name', (db) =>
      db
        .select()
        .from(users)
        .where(eq(users.name, sql.placeholder('name'))),
    );
    this.byFingerprint = preparedQuery('identity_key_by_fingerprint', (db) =>
      db
        .select()
        .from(sshKeys)
        .where(eq(sshKeys.fingerprint, sql.placeholder('fingerprint'))),
    );
    // drizzle types `set` without placeholders, but maps one through the column like a value (a Date
    // stays a Date to the engine's encoder).
    const at = sql.placeholder('at') as unknown as Date;
    this.touchKey = preparedQuery('identity_touch_key', (db) =>
      db
        .update(sshKeys)
        .set({ lastUsedAt: at })
        .where(eq(sshKeys.id, sql.placeholder('id'))),
    );
  }

  async userByName(db: SqlDb, name: string): Promise<User | undefined> {
    return (await this.byName(db, { name }))[0];
  }

  async requireUser(db: SqlDb, name: string): Promise<User> {
    const user = await this.userByName(db, name);
    if (!user) throw new NotFound(`no user '${name.slice(0, 40)}'`);
    return user;
  }

  /** `asInitialAdmin`: the name comes from config (auth.initialAdminName), so a reserved one is fine. */
  async createUser(db: SqlDb, name: string, role: Role, asInitialAdmin = false): Promise<User> {
    const { users } = this.t;
    if (asInitialAdmin) checkUserName(name);
    else checkNewUserName(name);
    const taken = () => new Conflict(`user '${name}' already exists`);
    if (await this.userByName(db, name)) throw taken();
    const [user] = await db.insert(users).values({ name, role }).onConflictDoNothing({ target: users.name }).returning();
    if (!user) throw taken();
    return user;
  }

  async keyByFingerprint(db: SqlDb, fingerprint: string): Promise<(SshKeyRow & { user: User }) | undefined> {
    const [key] = await this.byFingerprint(db, { fingerprint });
    // Same transaction (or SQLite's one connection): the user is there while the key row is (cascade).
    const [user] = key ? await this.userById(db, { id: key.userId }) : [];
    return key && user ? { ...key, user } : undefined;
  }

  async addKey(db: SqlDb, userId: number, key: NewKey): Promise<SshKeyRow> {
    const { sshKeys } = this.t;
    const existing = await this.keyByFingerprint(db, key.fingerprint);
    if (existing) {
      throw new Conflict(existing.userId === userId ? `key ${key.fingerprint} is already registered` : `key ${key.fingerprint} belongs to another user`);
    }
    const [row] = await db
      .insert(sshKeys)
      .values({ userId, ...key })
      .onConflictDoNothing({ target: sshKeys.fingerprint })
      .returning();
    if (!row) throw new Conflict(`key ${key.fingerprint} belongs to another user`);
    return row;
  }

  async identityOf(db: SqlDb, provider: string, subject: string): Promise<(IdentityRow & { user: User }) | undefined> {
    const { users, identities } = this.t;
    const [row] = await db
      .select()
      .from(identities)
      .innerJoin(users, eq(identities.userId, users.id))
      .where(and(eq(identities.provider, provider), eq(identities.subject, subject)))
      .limit(1);
    return row ? { ...row.identities, user: row.users } : undefined;
  }
}
