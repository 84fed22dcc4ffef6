/** The access store's port: custom roles, role grants, user grants, invites (SQLite or PostgreSQL in sql-store.ts). */
import type { Permission, Role } from '../../core/permissions.ts';

/** An invite code (`invite create`): only the code's SHA-256 is kept. */
export interface InviteRow {
  id: number;
  codeHash: string;
  role: Role;
  usesLeft: number;
  maxUses: number;
  expiresAt: Date | null;
  createdBy: number | null;
  note: string;
  createdAt: Date;
  lastUsedAt: Date | null;
}

/** One account an invite created: who (name and key as they joined) and when. */
export interface InviteUseRow {
  id: number;
  inviteId: number;
  /** Null once the account is removed (the name and key stay). */
  userId: number | null;
  userName: string;
  /** The key the account joined with ('' when none). */
  fingerprint: string;
  at: Date;
}

/** What `recordInviteUse` writes: the account an invite's use made. */
export type NewInviteUse = Omit<InviteUseRow, 'id'>;

export interface NewInvite {
  codeHash: string;
  role: Role;
  maxUses: number;
  expiresAt: Date | null;
  createdBy: number | null;
  note: string;
}
export type RoleEffect = 'grant' | 'revoke';
export type UserEffect = 'allow' | 'deny';

/** Why `join CODE` did not use an invite. */
export type InviteRefusal = 'unknown' | 'expired' | 'used';

export interface CustomRole {
  name: string;
  description: string;
  createdAt: Date;
}
export interface RoleChange {
  role: Role;
  permission: Permission;
  effect: RoleEffect;
}
export interface UserGrant {
  userId: number;
  permission: Permission;
  effect: UserEffect;
}

/** Every run-time access rule at once: what AccessControl keeps in memory for its synchronous checks. */
export interface AccessRules {
  customRoles: CustomRole[];
  roleChanges: RoleChange[];
  userGrants: UserGrant[];
}

/**
 * The run-time access changes and invites, on SQLite or PostgreSQL. Every method is one unit of work
 * and joins the transaction of the call chain it runs in: `join` uses an invite and creates the
 * account (identity store) inside one `Transactions.write`. Role and grant changes go through
 * AccessControl, which keeps its snapshot of the rules in step with what the store answers.
 */
export interface AccessStore {
  /** Custom roles (by name), role changes and every user's grants (by permission), read at one point in time. */
  rules(): Promise<AccessRules>;
  addCustomRole(name: string, description: string): Promise<void>;
  /** Removes a custom role and its role changes, all or nothing. */
  removeCustomRole(name: string): Promise<void>;
  /** Sets (or with null clears) a role's run-time change of a permission. */
  setRoleChange(role: Role, permission: Permission, effect: RoleEffect | null): Promise<void>;
  /** Sets (or with null clears) one user's grant of a permission. Returns whether anything changed. */
  setUserGrant(userId: number, permission: Permission, effect: UserEffect | null): Promise<boolean>;

  createInvite(values: NewInvite): Promise<InviteRow>;
  invites(): Promise<InviteRow[]>;
  /** Every use of every invite, oldest first. */
  inviteUses(): Promise<InviteUseRow[]>;
  inviteById(id: number): Promise<InviteRow | undefined>;
  /** Whether an invite was there to remove. */
  removeInvite(id: number): Promise<boolean>;
  /** Whether some invite still has a use left and has not expired. */
  hasUsableInvite(now: Date): Promise<boolean>;
  inviteByHash(codeHash: string): Promise<InviteRow | undefined>;
  /**
   * Takes one use of an invite at `at` (its last use); Conflict when it has none left (used up
   * meanwhile) or is gone. Call it in the transaction that creates the account, with recordInviteUse.
   */
  useInvite(id: number, at: Date): Promise<void>;
  /** Notes who an invite's use made (the account, its name and key), for `invite ls`. */
  recordInviteUse(use: NewInviteUse): Promise<void>;
}
