/** The identity store's port: users, their keys and linked identities (SQLite or PostgreSQL in sql-store.ts). */
import { UsageError } from '../../core/errors.ts';
import type { Role } from '../../core/permissions.ts';

/** An account. */
export interface User {
  id: number;
  name: string;
  /** A built-in role (admin, operator, member, guest) or a custom one (`role create`). */
  role: Role;
  createdAt: Date;
  /** Set by `user disable`: the account logs in no more. */
  disabledAt: Date | null;
}

/** The ID token claims an OIDC link was made on. */
export interface KeyClaims {
  issuer: string;
  sub: string;
  email?: string;
  preferredUsername?: string;
  groups: string[];
}

/** Where a key came from: `keys add` (user), LABD_INITIAL_ADMIN_KEYS (config), an OIDC device-flow login (oidc). */
export type KeySource = 'user' | 'config' | 'oidc';

/** A public key registered to a user. */
export interface SshKeyRow {
  id: number;
  userId: number;
  fingerprint: string;
  algo: string;
  publicKey: string;
  comment: string;
  source: KeySource;
  createdAt: Date;
  lastUsedAt: Date | null;
  /** A linked key (source oidc) logs in until then; null: for good. */
  expiresAt: Date | null;
  claims: KeyClaims | null;
}

/** An external identity linked to a user: a certificate principal, an OIDC subject. */
export interface IdentityRow {
  id: number;
  userId: number;
  provider: string;
  subject: string;
  createdAt: Date;
  lastSeenAt: Date | null;
}

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
 * them; on SQLite or PostgreSQL. Every method is one unit of work, and joins the transaction of the
 * call chain it runs in (a service that writes other stores too wraps them in `Transactions.write`).
 */
export interface IdentityStore {
  userByName(name: string): Promise<User | undefined>;
  userById(id: number): Promise<User | undefined>;
  /** The user, or NotFound. */
  requireUser(name: string): Promise<User>;
  listUsers(): Promise<(User & { keys: number })[]>;
  /**
   * Creates a user (checkNewUserName: reserved names are refused; Conflict when the name is taken), with its first key when given
   * (Conflict when the key is registered), all or nothing. An invite's use goes with it through the access store, in one `write`.
   */
  createUser(name: string, role: Role, o?: { key?: NewKey }): Promise<User>;
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
