/** The access store's port: custom roles, role grants, user grants, invites (SQLite in sqlite-store.ts). */
import type { Permission, Role } from '../../core/permissions.ts';
import type { inviteUses, invites } from '../../db/schema.ts';

export type InviteRow = typeof invites.$inferSelect;
/** One account an invite created: who (name and key as they joined) and when. */
export type InviteUseRow = typeof inviteUses.$inferSelect;
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
 * The run-time access changes and invites; SQLite today, another database later. Every method is one
 * unit of work (transactions stay inside the implementation). Role and grant changes go through
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

  createInvite(values: { codeHash: string; role: Role; maxUses: number; expiresAt: Date | null; createdBy: number | null; note: string }): Promise<InviteRow>;
  invites(): Promise<InviteRow[]>;
  /** Every use of every invite, oldest first. */
  inviteUses(): Promise<InviteUseRow[]>;
  inviteById(id: number): Promise<InviteRow | undefined>;
  /** Whether an invite was there to remove. */
  removeInvite(id: number): Promise<boolean>;
  /** Whether some invite still has a use left and has not expired. */
  hasUsableInvite(now: Date): Promise<boolean>;
  inviteByHash(codeHash: string): Promise<InviteRow | undefined>;
}
