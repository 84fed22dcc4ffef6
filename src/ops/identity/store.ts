import { and, asc, eq, sql } from 'drizzle-orm';
import { Conflict, NotFound, UsageError } from '../../core/errors.ts';
import type { Role } from '../../core/permissions.ts';
import type { Db } from '../../db/client.ts';
import { identities, sshKeys, users } from '../../db/schema.ts';

export type User = typeof users.$inferSelect;
export type SshKeyRow = typeof sshKeys.$inferSelect;

export const USER_NAME = /^[a-z][a-z0-9_-]{0,31}$/;

export function checkUserName(name: string): string {
  if (!USER_NAME.test(name)) {
    throw new UsageError(`invalid user name '${name.slice(0, 40)}': use 1-32 of a-z, 0-9, _ and -, starting with a letter`);
  }
  return name;
}

/** The narrow store of users, their keys and linked identities. */
export class IdentityStore {
  constructor(private readonly db: Db) {}

  userByName(name: string): User | undefined {
    return this.db.select().from(users).where(eq(users.name, name)).get();
  }

  userById(id: number): User | undefined {
    return this.db.select().from(users).where(eq(users.id, id)).get();
  }

  requireUser(name: string): User {
    const user = this.userByName(name);
    if (!user) throw new NotFound(`no user '${name.slice(0, 40)}'`);
    return user;
  }

  listUsers(): (User & { keys: number })[] {
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

  createUser(name: string, role: Role): User {
    checkUserName(name);
    if (this.userByName(name)) throw new Conflict(`user '${name}' already exists`);
    return this.db.insert(users).values({ name, role }).returning().get();
  }

  setRole(name: string, role: Role): User {
    const user = this.requireUser(name);
    return this.db.update(users).set({ role }).where(eq(users.id, user.id)).returning().get();
  }

  /** Disables (a date) or enables (null) an account. */
  setDisabled(name: string, at: Date | null): User {
    const user = this.requireUser(name);
    return this.db.update(users).set({ disabledAt: at }).where(eq(users.id, user.id)).returning().get();
  }

  removeUser(name: string): void {
    const user = this.requireUser(name);
    this.db.delete(users).where(eq(users.id, user.id)).run();
  }

  keyByFingerprint(fingerprint: string): (SshKeyRow & { user: User }) | undefined {
    const row = this.db.select().from(sshKeys).innerJoin(users, eq(sshKeys.userId, users.id)).where(eq(sshKeys.fingerprint, fingerprint)).get();
    return row ? { ...row.ssh_keys, user: row.users } : undefined;
  }

  keysOf(userId: number): SshKeyRow[] {
    return this.db.select().from(sshKeys).where(eq(sshKeys.userId, userId)).orderBy(asc(sshKeys.id)).all();
  }

  addKey(userId: number, key: { fingerprint: string; algo: string; publicKey: string; comment: string; source?: 'user' | 'config' }): SshKeyRow {
    const existing = this.keyByFingerprint(key.fingerprint);
    if (existing) {
      throw new Conflict(existing.userId === userId ? `key ${key.fingerprint} is already registered` : `key ${key.fingerprint} belongs to another user`);
    }
    return this.db
      .insert(sshKeys)
      .values({ userId, ...key })
      .returning()
      .get();
  }

  /** Removes one of the user's keys, by fingerprint or by its number in `keys ls`. */
  removeKey(userId: number, which: string): SshKeyRow {
    const keys = this.keysOf(userId);
    const key = /^\d+$/.test(which)
      ? keys.find((k) => k.id === Number(which))
      : keys.find((k) => k.fingerprint === which || k.fingerprint === `SHA256:${which}`);
    if (!key) throw new NotFound(`no key '${which.slice(0, 60)}' (see 'keys ls')`);
    this.db.delete(sshKeys).where(eq(sshKeys.id, key.id)).run();
    return key;
  }

  deleteKey(id: number): void {
    this.db.delete(sshKeys).where(eq(sshKeys.id, id)).run();
  }

  touchKey(id: number, at: Date): void {
    this.db.update(sshKeys).set({ lastUsedAt: at }).where(eq(sshKeys.id, id)).run();
  }

  identity(provider: string, subject: string): (typeof identities.$inferSelect & { user: User }) | undefined {
    const row = this.db
      .select()
      .from(identities)
      .innerJoin(users, eq(identities.userId, users.id))
      .where(and(eq(identities.provider, provider), eq(identities.subject, subject)))
      .get();
    return row ? { ...row.identities, user: row.users } : undefined;
  }

  linkIdentity(userId: number, provider: string, subject: string): void {
    this.db.insert(identities).values({ userId, provider, subject }).onConflictDoNothing().run();
  }

  identitiesOf(userId: number) {
    return this.db.select().from(identities).where(eq(identities.userId, userId)).all();
  }

  touchIdentity(id: number, at: Date): void {
    this.db.update(identities).set({ lastSeenAt: at }).where(eq(identities.id, id)).run();
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(() => fn());
  }
}
