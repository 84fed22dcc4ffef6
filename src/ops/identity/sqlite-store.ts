/** The identity store on SQLite (drizzle): each port method is one read, or one transaction. */
import { and, asc, eq, sql } from 'drizzle-orm';
import { Conflict, NotFound } from '../../core/errors.ts';
import type { Role } from '../../core/permissions.ts';
import type { Db } from '../../db/client.ts';
import { identities, inviteUses, invites, sshKeys, users } from '../../db/schema.ts';
import { checkNewUserName, checkUserName, type AdminKey, type IdentityRow, type IdentityStore, type NewKey, type SshKeyRow, type User } from './store.ts';

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

export class SqliteIdentityStore implements IdentityStore {
  constructor(private readonly db: Db) {}

  async userByName(name: string): Promise<User | undefined> {
    return userByName(this.db, name);
  }

  async userById(id: number): Promise<User | undefined> {
    return this.db.select().from(users).where(eq(users.id, id)).get();
  }

  async requireUser(name: string): Promise<User> {
    return requireUser(this.db, name);
  }

  async listUsers(): Promise<(User & { keys: number })[]> {
    return this.db
      .select({
        id: users.id,
        name: users.name,
        role: users.role,
        createdAt: users.createdAt,
        disabledAt: users.disabledAt,
        keys: sql<number>`count(${sshKeys.id})`,
      })
      .from(users)
      .leftJoin(sshKeys, eq(sshKeys.userId, users.id))
      .groupBy(users.id)
      .orderBy(asc(users.name))
      .all();
  }

  async createUser(name: string, role: Role, o: { key?: NewKey; invite?: { id: number; at: Date } } = {}): Promise<User> {
    return this.db.transaction((tx) => {
      if (o.invite) useInvite(tx, o.invite.id, o.invite.at);
      const user = createUser(tx, name, role);
      if (o.key) addKey(tx, user.id, o.key);
      if (o.invite)
        tx.insert(inviteUses)
          .values({ inviteId: o.invite.id, userId: user.id, userName: user.name, fingerprint: o.key?.fingerprint ?? '', at: o.invite.at })
          .run();
      return user;
    });
  }

  async createUserWithIdentity(name: string, role: Role, provider: string, subject: string): Promise<User | undefined> {
    return this.db.transaction((tx) => {
      if (userByName(tx, name) || identityOf(tx, provider, subject)) return undefined;
      const user = createUser(tx, name, role);
      tx.insert(identities).values({ userId: user.id, provider, subject }).run();
      return user;
    });
  }

  async setRole(name: string, role: Role): Promise<User> {
    return this.db.transaction((tx) => {
      const user = requireUser(tx, name);
      return tx.update(users).set({ role }).where(eq(users.id, user.id)).returning().get();
    });
  }

  async setDisabled(name: string, at: Date | null): Promise<User> {
    return this.db.transaction((tx) => {
      const user = requireUser(tx, name);
      return tx.update(users).set({ disabledAt: at }).where(eq(users.id, user.id)).returning().get();
    });
  }

  async removeUser(name: string): Promise<void> {
    this.db.transaction((tx) => {
      const user = requireUser(tx, name);
      tx.delete(users).where(eq(users.id, user.id)).run();
    });
  }

  async keyByFingerprint(fingerprint: string): Promise<(SshKeyRow & { user: User }) | undefined> {
    return keyByFingerprint(this.db, fingerprint);
  }

  async keysOf(userId: number): Promise<SshKeyRow[]> {
    return this.db.select().from(sshKeys).where(eq(sshKeys.userId, userId)).orderBy(asc(sshKeys.id)).all();
  }

  async addKey(userId: number, key: NewKey): Promise<SshKeyRow> {
    return this.db.transaction((tx) => addKey(tx, userId, key));
  }

  async removeKey(userId: number, which: string): Promise<SshKeyRow> {
    return this.db.transaction((tx) => {
      const keys = tx.select().from(sshKeys).where(eq(sshKeys.userId, userId)).orderBy(asc(sshKeys.id)).all();
      const key = /^\d+$/.test(which)
        ? keys.find((k) => k.id === Number(which))
        : keys.find((k) => k.fingerprint === which || k.fingerprint === `SHA256:${which}`);
      if (!key) throw new NotFound(`no key '${which.slice(0, 60)}' (see 'keys ls')`);
      tx.delete(sshKeys).where(eq(sshKeys.id, key.id)).run();
      return key;
    });
  }

  async touchKey(id: number, at: Date): Promise<void> {
    this.db.update(sshKeys).set({ lastUsedAt: at }).where(eq(sshKeys.id, id)).run();
  }

  async identity(provider: string, subject: string): Promise<(IdentityRow & { user: User }) | undefined> {
    return identityOf(this.db, provider, subject);
  }

  async linkIdentity(userId: number, provider: string, subject: string): Promise<void> {
    this.db.insert(identities).values({ userId, provider, subject }).onConflictDoNothing().run();
  }

  async identitiesOf(userId: number): Promise<IdentityRow[]> {
    return this.db.select().from(identities).where(eq(identities.userId, userId)).all();
  }

  async touchIdentity(id: number, at: Date): Promise<void> {
    this.db.update(identities).set({ lastSeenAt: at }).where(eq(identities.id, id)).run();
  }

  async ensureAdmin(name: string, keys: AdminKey[]): Promise<{ fingerprint: string; user: string }[]> {
    return this.db.transaction((tx) => {
      let admin = userByName(tx, name);
      if (!admin) admin = createUser(tx, name, 'admin', true);
      else if (admin.role !== 'admin') admin = tx.update(users).set({ role: 'admin' }).where(eq(users.id, admin.id)).returning().get();
      const takenBack: { fingerprint: string; user: string }[] = [];
      for (const key of keys) {
        const existing = keyByFingerprint(tx, key.fingerprint);
        if (existing && existing.userId !== admin.id) {
          takenBack.push({ fingerprint: key.fingerprint, user: existing.user.name });
          tx.delete(sshKeys).where(eq(sshKeys.id, existing.id)).run();
        }
        if (!existing || existing.userId !== admin.id) addKey(tx, admin.id, { ...key, source: 'config' });
      }
      return takenBack;
    });
  }
}

/** The SQLite database, or a transaction on it. */
type Q = Db | Tx;

function userByName(db: Q, name: string): User | undefined {
  return db.select().from(users).where(eq(users.name, name)).get();
}

function requireUser(db: Q, name: string): User {
  const user = userByName(db, name);
  if (!user) throw new NotFound(`no user '${name.slice(0, 40)}'`);
  return user;
}

/** `asInitialAdmin`: the name comes from config (auth.initialAdminName), so a reserved one is fine. */
function createUser(db: Q, name: string, role: Role, asInitialAdmin = false): User {
  if (asInitialAdmin) checkUserName(name);
  else checkNewUserName(name);
  if (userByName(db, name)) throw new Conflict(`user '${name}' already exists`);
  return db.insert(users).values({ name, role }).returning().get();
}

function keyByFingerprint(db: Q, fingerprint: string): (SshKeyRow & { user: User }) | undefined {
  const row = db.select().from(sshKeys).innerJoin(users, eq(sshKeys.userId, users.id)).where(eq(sshKeys.fingerprint, fingerprint)).get();
  return row ? { ...row.ssh_keys, user: row.users } : undefined;
}

function addKey(db: Q, userId: number, key: NewKey): SshKeyRow {
  const existing = keyByFingerprint(db, key.fingerprint);
  if (existing) {
    throw new Conflict(existing.userId === userId ? `key ${key.fingerprint} is already registered` : `key ${key.fingerprint} belongs to another user`);
  }
  return db
    .insert(sshKeys)
    .values({ userId, ...key })
    .returning()
    .get();
}

function identityOf(db: Q, provider: string, subject: string): (IdentityRow & { user: User }) | undefined {
  const row = db
    .select()
    .from(identities)
    .innerJoin(users, eq(identities.userId, users.id))
    .where(and(eq(identities.provider, provider), eq(identities.subject, subject)))
    .get();
  return row ? { ...row.identities, user: row.users } : undefined;
}

/** Uses one of an invite's uses (inside the transaction that creates the account). */
function useInvite(db: Q, id: number, at: Date): void {
  const row = db.select().from(invites).where(eq(invites.id, id)).get();
  if (!row || row.usesLeft <= 0) throw new Error('invite used up under us');
  db.update(invites)
    .set({ usesLeft: row.usesLeft - 1, lastUsedAt: at })
    .where(eq(invites.id, id))
    .run();
}
