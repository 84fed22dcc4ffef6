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

/**
 * Names no account may be created under at run time (issue #24 item 12): the names labd itself acts
 * and logs under (`system`, `anonymous`, `labd`, `admin`, the default initial admin), and the usual
 * Unix and service accounts, which would pass for the machine's own in audit rows, `user ls` and
 * chat. Every path that creates a user by a chosen or derived name refuses them: `join`, sign-up by
 * certificate principal and by OIDC, and `user add` by an admin. The initial admin from config
 * (auth.initialAdminName) is the one exception: config names it, nobody picks it at run time.
 * Accounts that already hold such a name keep it.
 */
export const RESERVED_USER_NAMES: ReadonlySet<string> = new Set([
  // labd's own actors and words
  'anonymous',
  'system',
  'labd',
  'admin',
  'administrator',
  'operator',
  // Unix and service accounts
  'root',
  'toor',
  'daemon',
  'bin',
  'sys',
  'sync',
  'games',
  'man',
  'lp',
  'mail',
  'news',
  'uucp',
  'proxy',
  'www-data',
  'backup',
  'list',
  'irc',
  'gnats',
  'nobody',
  'nogroup',
  'sshd',
  'git',
  'postgres',
  'mysql',
  'redis',
  'nginx',
  'apache',
  'ftp',
  'messagebus',
  'systemd-network',
  'systemd-resolve',
  'systemd-timesync',
  // the mailbox names RFC 2142 gives roles
  'postmaster',
  'hostmaster',
  'webmaster',
  'abuse',
  'security',
]);

export function isReservedUserName(name: string): boolean {
  return RESERVED_USER_NAMES.has(name);
}

/** checkUserName, and not a reserved name: for an account about to be created. */
export function checkNewUserName(name: string): string {
  checkUserName(name);
  if (isReservedUserName(name)) throw new UsageError(reservedNameText(name));
  return name;
}

export function reservedNameText(name: string): string {
  return `the user name '${name}' is reserved (labd's own and system account names): choose another`;
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
   * Creates a user (checkNewUserName: reserved names are refused; Conflict when the name is taken), with its first key when given
   * (Conflict when the key is registered) and using one use of an invite when given (recording who used it), all or nothing.
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
