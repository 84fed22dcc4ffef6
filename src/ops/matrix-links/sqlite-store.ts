import { and, desc, eq, isNull, lt } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
import { matrixLinkCodes, matrixLinks, users } from '../../db/schema.ts';
import type { LinkedUser, MatrixLinkStore, Redeemed } from './store.ts';

/** Codes that expired this long ago are deleted when a new one is made. */
const KEEP_EXPIRED_MS = 24 * 3600_000;

export class SqliteMatrixLinkStore implements MatrixLinkStore {
  constructor(private readonly db: Db) {}

  async addCode(mxid: string, codeHash: string, expiresAt: Date): Promise<void> {
    this.db.transaction((tx) => {
      tx.delete(matrixLinkCodes)
        .where(lt(matrixLinkCodes.expiresAt, new Date(Date.now() - KEEP_EXPIRED_MS)))
        .run();
      // Only the newest code of a Matrix id is valid: asking again replaces it (and a flood keeps one row).
      tx.delete(matrixLinkCodes)
        .where(and(eq(matrixLinkCodes.mxid, mxid), isNull(matrixLinkCodes.usedAt)))
        .run();
      tx.insert(matrixLinkCodes).values({ mxid, codeHash, expiresAt }).run();
    });
  }

  async redeem(codeHash: string, userId: number, now: Date): Promise<Redeemed> {
    return this.db.transaction((tx): Redeemed => {
      const code = tx.select().from(matrixLinkCodes).where(eq(matrixLinkCodes.codeHash, codeHash)).get();
      if (!code) return { ok: false, reason: 'unknown' };
      if (code.usedAt) return { ok: false, reason: 'used', usedAt: code.usedAt };
      if (code.expiresAt.getTime() <= now.getTime()) return { ok: false, reason: 'expired', expiredAt: code.expiresAt };
      // Used only if still unused: two confirmations racing cannot both link.
      const used = tx
        .update(matrixLinkCodes)
        .set({ usedAt: now })
        .where(and(eq(matrixLinkCodes.id, code.id), isNull(matrixLinkCodes.usedAt)))
        .run();
      if (used.changes !== 1) return { ok: false, reason: 'used', usedAt: now };
      const before = tx
        .select({ name: users.name })
        .from(matrixLinks)
        .innerJoin(users, eq(users.id, matrixLinks.userId))
        .where(eq(matrixLinks.mxid, code.mxid))
        .get();
      tx.insert(matrixLinks)
        .values({ mxid: code.mxid, userId })
        .onConflictDoUpdate({ target: matrixLinks.mxid, set: { userId, createdAt: now } })
        .run();
      return { ok: true, mxid: code.mxid, previous: before?.name };
    });
  }

  async linkedMatrixId(userName: string): Promise<string | undefined> {
    return this.db
      .select({ mxid: matrixLinks.mxid })
      .from(matrixLinks)
      .innerJoin(users, eq(users.id, matrixLinks.userId))
      .where(eq(users.name, userName))
      .orderBy(desc(matrixLinks.createdAt))
      .get()?.mxid;
  }

  async linkedUser(mxid: string): Promise<LinkedUser | undefined> {
    return this.db
      .select({ id: users.id, name: users.name, role: users.role })
      .from(matrixLinks)
      .innerJoin(users, eq(users.id, matrixLinks.userId))
      .where(eq(matrixLinks.mxid, mxid))
      .get();
  }
}
