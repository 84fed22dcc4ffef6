/** The access store on SQLite (drizzle): each port method is one read, or one transaction. */
import { and, asc, eq } from 'drizzle-orm';
import type { Permission, Role } from '../../core/permissions.ts';
import type { Db } from '../../db/client.ts';
import { customRoles, inviteUses, invites, roleGrants, userGrants } from '../../db/schema.ts';
import type { AccessRules, AccessStore, InviteRow, InviteUseRow, RoleEffect, UserEffect } from './store.ts';

export class SqliteAccessStore implements AccessStore {
  constructor(private readonly db: Db) {}

  async rules(): Promise<AccessRules> {
    // One read transaction: the three lists are of the same moment.
    return this.db.transaction((tx) => ({
      customRoles: tx.select().from(customRoles).orderBy(asc(customRoles.name)).all(),
      roleChanges: tx
        .select({ role: roleGrants.role, permission: roleGrants.permission, effect: roleGrants.effect })
        .from(roleGrants)
        .orderBy(asc(roleGrants.role), asc(roleGrants.permission))
        .all(),
      userGrants: tx
        .select({ userId: userGrants.userId, permission: userGrants.permission, effect: userGrants.effect })
        .from(userGrants)
        .orderBy(asc(userGrants.userId), asc(userGrants.permission))
        .all(),
    }));
  }

  async addCustomRole(name: string, description: string): Promise<void> {
    this.db.insert(customRoles).values({ name, description }).run();
  }

  async removeCustomRole(name: string): Promise<void> {
    this.db.transaction((tx) => {
      tx.delete(customRoles).where(eq(customRoles.name, name)).run();
      tx.delete(roleGrants).where(eq(roleGrants.role, name)).run();
    });
  }

  async setRoleChange(role: Role, permission: Permission, effect: RoleEffect | null): Promise<void> {
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

  async setUserGrant(userId: number, permission: Permission, effect: UserEffect | null): Promise<boolean> {
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

  async createInvite(values: {
    codeHash: string;
    role: Role;
    maxUses: number;
    expiresAt: Date | null;
    createdBy: number | null;
    note: string;
  }): Promise<InviteRow> {
    return this.db
      .insert(invites)
      .values({ ...values, usesLeft: values.maxUses })
      .returning()
      .get();
  }

  async invites(): Promise<InviteRow[]> {
    return this.db.select().from(invites).orderBy(asc(invites.id)).all();
  }

  async inviteUses(): Promise<InviteUseRow[]> {
    return this.db.select().from(inviteUses).orderBy(asc(inviteUses.at), asc(inviteUses.id)).all();
  }

  async inviteById(id: number): Promise<InviteRow | undefined> {
    return this.db.select().from(invites).where(eq(invites.id, id)).get();
  }

  async removeInvite(id: number): Promise<boolean> {
    return this.db.delete(invites).where(eq(invites.id, id)).run().changes > 0;
  }

  async hasUsableInvite(now: Date): Promise<boolean> {
    return (await this.invites()).some((r) => r.usesLeft > 0 && (!r.expiresAt || r.expiresAt.getTime() > now.getTime()));
  }

  async inviteByHash(codeHash: string): Promise<InviteRow | undefined> {
    return this.db.select().from(invites).where(eq(invites.codeHash, codeHash)).get();
  }
}
