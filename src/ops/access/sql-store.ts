/** The access store on SQLite or PostgreSQL (drizzle, one query set for both): each port method is one read, or one transaction. */
import { and, asc, eq, gt, isNull, or, sql } from 'drizzle-orm';
import { Conflict } from '../../core/errors.ts';
import type { Permission, Role } from '../../core/permissions.ts';
import type { SqlHandle } from '../../db/sql.ts';
import type { AccessRules, AccessStore, InviteRow, InviteUseRow, NewInvite, NewInviteUse, RoleEffect, UserEffect } from './store.ts';

export class SqlAccessStore implements AccessStore {
  constructor(private readonly h: SqlHandle) {}

  async rules(): Promise<AccessRules> {
    const { customRoles, roleGrants, userGrants } = this.h.t;
    // One transaction: the three lists are of the same moment.
    return this.h.transaction(async (db) => ({
      customRoles: await db
        .select({ name: customRoles.name, description: customRoles.description, createdAt: customRoles.createdAt })
        .from(customRoles)
        .orderBy(asc(customRoles.name)),
      roleChanges: await db
        .select({ role: roleGrants.role, permission: roleGrants.permission, effect: roleGrants.effect })
        .from(roleGrants)
        .orderBy(asc(roleGrants.role), asc(roleGrants.permission)),
      userGrants: await db
        .select({ userId: userGrants.userId, permission: userGrants.permission, effect: userGrants.effect })
        .from(userGrants)
        .orderBy(asc(userGrants.userId), asc(userGrants.permission)),
    }));
  }

  async addCustomRole(name: string, description: string): Promise<void> {
    const { customRoles } = this.h.t;
    await this.h.run(async (db) => {
      await db.insert(customRoles).values({ name, description });
    });
  }

  async removeCustomRole(name: string): Promise<void> {
    const { customRoles, roleGrants } = this.h.t;
    await this.h.transaction(async (db) => {
      await db.delete(customRoles).where(eq(customRoles.name, name));
      await db.delete(roleGrants).where(eq(roleGrants.role, name));
    });
  }

  async setRoleChange(role: Role, permission: Permission, effect: RoleEffect | null): Promise<void> {
    const { roleGrants } = this.h.t;
    await this.h.run(async (db) => {
      if (effect === null) {
        await db.delete(roleGrants).where(and(eq(roleGrants.role, role), eq(roleGrants.permission, permission)));
        return;
      }
      await db
        .insert(roleGrants)
        .values({ role, permission, effect })
        .onConflictDoUpdate({ target: [roleGrants.role, roleGrants.permission], set: { effect } });
    });
  }

  async setUserGrant(userId: number, permission: Permission, effect: UserEffect | null): Promise<boolean> {
    const { userGrants } = this.h.t;
    return this.h.run(async (db) => {
      if (effect === null) {
        const gone = await db
          .delete(userGrants)
          .where(and(eq(userGrants.userId, userId), eq(userGrants.permission, permission)))
          .returning({ userId: userGrants.userId });
        return gone.length > 0;
      }
      await db
        .insert(userGrants)
        .values({ userId, permission, effect })
        .onConflictDoUpdate({ target: [userGrants.userId, userGrants.permission], set: { effect } });
      return true;
    });
  }

  async createInvite(values: NewInvite): Promise<InviteRow> {
    const { invites } = this.h.t;
    return this.h.run(
      async (db) =>
        (
          await db
            .insert(invites)
            .values({ ...values, usesLeft: values.maxUses })
            .returning()
        )[0]!,
    );
  }

  async invites(): Promise<InviteRow[]> {
    const { invites } = this.h.t;
    return this.h.run((db) => db.select().from(invites).orderBy(asc(invites.id)));
  }

  async inviteUses(): Promise<InviteUseRow[]> {
    const { inviteUses } = this.h.t;
    return this.h.run((db) => db.select().from(inviteUses).orderBy(asc(inviteUses.at), asc(inviteUses.id)));
  }

  async inviteById(id: number): Promise<InviteRow | undefined> {
    const { invites } = this.h.t;
    return this.h.run(async (db) => (await db.select().from(invites).where(eq(invites.id, id)).limit(1))[0]);
  }

  async removeInvite(id: number): Promise<boolean> {
    const { invites } = this.h.t;
    return this.h.run(async (db) => (await db.delete(invites).where(eq(invites.id, id)).returning({ id: invites.id })).length > 0);
  }

  async hasUsableInvite(now: Date): Promise<boolean> {
    const { invites } = this.h.t;
    return this.h.run(
      async (db) =>
        (
          await db
            .select({ id: invites.id })
            .from(invites)
            .where(and(gt(invites.usesLeft, 0), or(isNull(invites.expiresAt), gt(invites.expiresAt, now))))
            .limit(1)
        ).length > 0,
    );
  }

  async inviteByHash(codeHash: string): Promise<InviteRow | undefined> {
    const { invites } = this.h.t;
    return this.h.run(async (db) => (await db.select().from(invites).where(eq(invites.codeHash, codeHash)).limit(1))[0]);
  }

  async useInvite(id: number, at: Date): Promise<void> {
    const { invites } = this.h.t;
    // One statement: two sign-ups racing for an invite's last use cannot both take it.
    const taken = await this.h.run((db) =>
      db
        .update(invites)
        .set({ usesLeft: sql`${invites.usesLeft} - 1`, lastUsedAt: at })
        .where(and(eq(invites.id, id), gt(invites.usesLeft, 0)))
        .returning({ id: invites.id }),
    );
    if (!taken.length) throw new Conflict('this invite was used up or withdrawn meanwhile: ask for a new one');
  }

  async recordInviteUse(use: NewInviteUse): Promise<void> {
    const { inviteUses } = this.h.t;
    await this.h.run(async (db) => {
      await db.insert(inviteUses).values(use);
    });
  }
}
