/** Matrix links and their one-time codes on SQLite or PostgreSQL (drizzle, one query set for both). */
import { and, desc, eq, isNull, lt } from 'drizzle-orm';
import type { Clock } from '../../core/clock.ts';
import type { SqlHandle } from '../../db/sql.ts';
import type { LinkedUser, MatrixLinkStore, Redeemed } from './store.ts';

/** Codes that expired this long ago are deleted when a new one is made. */
const KEEP_EXPIRED_MS = 24 * 3600_000;

export class SqlMatrixLinkStore implements MatrixLinkStore {
  constructor(
    private readonly h: SqlHandle,
    private readonly clock: Clock,
  ) {}

  async addCode(mxid: string, codeHash: string, expiresAt: Date): Promise<void> {
    const { matrixLinkCodes } = this.h.t;
    const longExpired = new Date(this.clock.now().getTime() - KEEP_EXPIRED_MS);
    await this.h.transaction(async (db) => {
      await db.delete(matrixLinkCodes).where(lt(matrixLinkCodes.expiresAt, longExpired));
      // Only the newest code of a Matrix id is valid: asking again replaces it (and a flood keeps one row).
      await db.delete(matrixLinkCodes).where(and(eq(matrixLinkCodes.mxid, mxid), isNull(matrixLinkCodes.usedAt)));
      await db.insert(matrixLinkCodes).values({ mxid, codeHash, expiresAt });
    });
  }

  async redeem(codeHash: string, userId: number, now: Date): Promise<Redeemed> {
    const { matrixLinkCodes, matrixLinks, users } = this.h.t;
    return this.h.transaction(async (db): Promise<Redeemed> => {
      const code = (await db.select().from(matrixLinkCodes).where(eq(matrixLinkCodes.codeHash, codeHash)).limit(1))[0];
      if (!code) return { ok: false, reason: 'unknown' };
      if (code.usedAt) return { ok: false, reason: 'used', usedAt: code.usedAt };
      if (code.expiresAt.getTime() <= now.getTime()) return { ok: false, reason: 'expired', expiredAt: code.expiresAt };
      // Used only if still unused: two confirmations racing cannot both link.
      const used = await db
        .update(matrixLinkCodes)
        .set({ usedAt: now })
        .where(and(eq(matrixLinkCodes.id, code.id), isNull(matrixLinkCodes.usedAt)))
        .returning({ id: matrixLinkCodes.id });
      if (used.length !== 1) return { ok: false, reason: 'used', usedAt: now };
      const before = (
        await db
          .select({ name: users.name })
          .from(matrixLinks)
          .innerJoin(users, eq(users.id, matrixLinks.userId))
          .where(eq(matrixLinks.mxid, code.mxid))
          .limit(1)
      )[0];
      await db
        .insert(matrixLinks)
        .values({ mxid: code.mxid, userId, createdAt: now })
        .onConflictDoUpdate({ target: matrixLinks.mxid, set: { userId, createdAt: now } });
      return { ok: true, mxid: code.mxid, previous: before?.name };
    });
  }

  async linkedMatrixId(userName: string): Promise<string | undefined> {
    const { matrixLinks, users } = this.h.t;
    const row = (
      await this.h.run((db) =>
        db
          .select({ mxid: matrixLinks.mxid })
          .from(matrixLinks)
          .innerJoin(users, eq(users.id, matrixLinks.userId))
          .where(eq(users.name, userName))
          .orderBy(desc(matrixLinks.createdAt), desc(matrixLinks.mxid))
          .limit(1),
      )
    )[0];
    return row?.mxid;
  }

  async linkedUser(mxid: string): Promise<LinkedUser | undefined> {
    const { matrixLinks, users } = this.h.t;
    const row = (
      await this.h.run((db) =>
        db
          .select({ id: users.id, name: users.name, role: users.role })
          .from(matrixLinks)
          .innerJoin(users, eq(users.id, matrixLinks.userId))
          .where(eq(matrixLinks.mxid, mxid))
          .limit(1),
      )
    )[0];
    return row;
  }
}
