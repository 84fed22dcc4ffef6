/** The narrow store of run-time access changes: custom roles, role grants, user grants, invites. */
import { and, asc, eq } from 'drizzle-orm';
import type { Permission, Role } from '../../core/permissions.ts';
import type { Db } from '../../db/client.ts';
import { customRoles, invites, roleGrants, userGrants } from '../../db/schema.ts';

export type InviteRow = typeof invites.$inferSelect;
export type RoleEffect = 'grant' | 'revoke';
export type UserEffect = 'allow' | 'deny';

/** Why `join CODE` did not use an invite. */
export type InviteRefusal = 'unknown' | 'expired' | 'used';

export class AccessStore {
  constructor(private readonly db: Db) {}

  customRoles(): { name: string; description: string; createdAt: Date }[] {
    return this.db.select().from(customRoles).orderBy(asc(customRoles.name)).all();
  }

  addCustomRole(name: string, description: string): void {
    this.db.insert(customRoles).values({ name, description }).run();
  }

  removeCustomRole(name: string): void {
    this.db.transaction((tx) => {
      tx.delete(customRoles).where(eq(customRoles.name, name)).run();
      tx.delete(roleGrants).where(eq(roleGrants.role, name)).run();
    });
  }

  /** Every run-time change to the role table. */
  roleChanges(): { role: Role; permission: Permission; effect: RoleEffect }[] {
    return this.db.select({ role: roleGrants.role, permission: roleGrants.permission, effect: roleGrants.effect }).from(roleGrants).all();
  }

  setRoleChange(role: Role, permission: Permission, effect: RoleEffect | null): void {
    if (effect === null) {
      this.db
        .delete(roleGrants)
        .where(and(eq(roleGrants.role, role), eq(roleGrants.permission, permission)))
        .run();
      return;
    }
    this.db
      .insert(roleGrants)
      .values({ role, permission, effect })
      .onConflictDoUpdate({ target: [roleGrants.role, roleGrants.permission], set: { effect } })
      .run();
  }

  userGrants(userId: number): { permission: Permission; effect: UserEffect }[] {
    return this.db
      .select({ permission: userGrants.permission, effect: userGrants.effect })
      .from(userGrants)
      .where(eq(userGrants.userId, userId))
      .orderBy(asc(userGrants.permission))
      .all();
  }

  /** Sets (or with null clears) one user's grant of a permission. Returns whether anything changed. */
  setUserGrant(userId: number, permission: Permission, effect: UserEffect | null): boolean {
    if (effect === null) {
      return (
        this.db
          .delete(userGrants)
          .where(and(eq(userGrants.userId, userId), eq(userGrants.permission, permission)))
          .run().changes > 0
      );
    }
    this.db
      .insert(userGrants)
      .values({ userId, permission, effect })
      .onConflictDoUpdate({ target: [userGrants.userId, userGrants.permission], set: { effect } })
      .run();
    return true;
  }

  createInvite(values: { codeHash: string; role: Role; maxUses: number; expiresAt: Date | null; createdBy: number | null; note: string }): InviteRow {
    return this.db
      .insert(invites)
      .values({ ...values, usesLeft: values.maxUses })
      .returning()
      .get();
  }

  invites(): InviteRow[] {
    return this.db.select().from(invites).orderBy(asc(invites.id)).all();
  }

  inviteById(id: number): InviteRow | undefined {
    return this.db.select().from(invites).where(eq(invites.id, id)).get();
  }

  removeInvite(id: number): boolean {
    return this.db.delete(invites).where(eq(invites.id, id)).run().changes > 0;
  }

  /** Whether some invite still has a use left and has not expired. */
  hasUsableInvite(now: Date): boolean {
    return this.invites().some((r) => r.usesLeft > 0 && (!r.expiresAt || r.expiresAt.getTime() > now.getTime()));
  }

  inviteByHash(codeHash: string): InviteRow | undefined {
    return this.db.select().from(invites).where(eq(invites.codeHash, codeHash)).get();
  }
}
