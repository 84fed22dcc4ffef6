/** The identity store's port: users, their keys and linked identities (SQLite in sqlite-store.ts). */
import { UsageError } from '../../core/errors.ts';
import type { Role } from '../../core/permissions.ts';
import type { identities, sshKeys, users } from '../../db/schema.ts';

export type User = typeof users.$inferSelect;
export type SshKeyRow = typeof sshKeys.$inferSelect;
export type IdentityRow = typeof identities.$inferSelect;

export const USER_NAME = /^[a-z][a-z0-9_-]{0,31}$/;

export function checkUserName(name: string): string {
  if (!USER_NAME.test(name)) {
    throw new UsageError(`invalid user name '${name.slice(0, 40)}': use 1-32 of a-z, 0-9, _ and -, starting with a letter`);
  }
  return name;
}

/** A key to register: `keys add`, `user add`, `join`, the initial admin's (source config). */
export interface NewKey {
  fingerprint: string;
  algo: string;
  publicKey: string;
  comment: string;
  source?: 'user' | 'config';
}

/** A parsed LABD_INITIAL_ADMIN_KEYS line. */
export type AdminKey = Omit<NewKey, 'source'>;

/**
 * Users, their keys and linked identities, as the identity commands, logins and other modules see
 * them; SQLite today, another database later. Every method is one unit of work (transactions stay
 * inside the implementation).
 */
export interface IdentityStore {
  userByName(name: string): Promise<User | undefined>;
  userById(id: number): Promise<User | undefined>;
  /** The user, or NotFound. */
  requireUser(name: string): Promise<User>;
  listUsers(): Promise<(User & { keys: number })[]>;
  /**
   * Creates a user (checkUserName; Conflict when the name is taken), with its first key when given
   * (Conflict when the key is registered) and using one use of an invite when given, all or nothing.
   */
  createUser(name: string, role: Role, o?: { key?: NewKey; invite?: { id: number; at: Date } }): Promise<User>;
  /** Creates a user and links an identity to it, all or nothing; undefined when the name or the identity was taken meanwhile. */
  createUserWithIdentity(name: string, role: Role, provider: string, subject: string): Promise<User | undefined>;
  setRole(name: string, role: Role): Promise<User>;
  /** Disables (a date) or enables (null) an account. */
  setDisabled(name: string, at: Date | null): Promise<User>;
  removeUser(name: string): Promise<void>;

  keyByFingerprint(fingerprint: string): Promise<(SshKeyRow & { user: User }) | undefined>;
  keysOf(userId: number): Promise<SshKeyRow[]>;
  /** Conflict when the key is registered (to this user or another). */
  addKey(userId: number, key: NewKey): Promise<SshKeyRow>;
  /** Removes one of the user's keys, by fingerprint or by its number in `keys ls`. */
  removeKey(userId: number, which: string): Promise<SshKeyRow>;
  touchKey(id: number, at: Date): Promise<void>;

  identity(provider: string, subject: string): Promise<(IdentityRow & { user: User }) | undefined>;
  /** Links an identity to a user (nothing when it is linked already). */
  linkIdentity(userId: number, provider: string, subject: string): Promise<void>;
  identitiesOf(userId: number): Promise<IdentityRow[]>;
  touchIdentity(id: number, at: Date): Promise<void>;

  /**
   * Makes `name` an admin holding exactly `keys` among the configured ones: creates it or raises its
   * role, takes back each key registered to another user and registers the missing ones (source
   * config), all or nothing. Returns the keys taken back.
   */
  ensureAdmin(name: string, keys: AdminKey[]): Promise<{ fingerprint: string; user: string }[]>;
}
