/** App tokens on SQLite or PostgreSQL (drizzle, one query set for both). */
import { and, count, eq, gt, isNull, or, sql } from 'drizzle-orm';
import type { Clock } from '../../core/clock.ts';
import { Conflict } from '../../core/errors.ts';
import type { SqlHandle } from '../../db/sql.ts';
import type { AppToken, TokenOwner, TokenScope, TokenStore } from './store.ts';

interface Row extends AppToken {
  hash: string;
  revokedAt: Date | null;
}

function tokenOf(r: Row): AppToken {
  return { id: r.id, userId: r.userId, name: r.name, scope: r.scope, createdAt: r.createdAt, expiresAt: r.expiresAt, lastUsedAt: r.lastUsedAt };
}

/** Revoked tokens stay as rows (revoked_at set) so that a name is never reused silently. */
export class SqlTokenStore implements TokenStore {
  constructor(
    private readonly h: SqlHandle,
    private readonly clock: Clock,
  ) {}

  async create(userId: number, name: string, scope: TokenScope, hash: string, expiresAt: Date | null = null, maxPerUser?: number): Promise<AppToken> {
    const { appTokens, users } = this.h.t;
    const taken = () => new Conflict(`you have a token named '${name}' (revoke it first: token rm ${name})`);
    // One transaction: two creates at once cannot both pass the name and count checks. SQLite runs one
    // transaction at a time; on PostgreSQL the user's row is locked first, so a second create waits for the first.
    return this.h.transaction(async (db) => {
      if (this.h.dialect === 'postgres')
        await db
          .update(users)
          .set({ name: sql`${users.name}` })
          .where(eq(users.id, userId));
      const [live] = await db
        .select()
        .from(appTokens)
        .where(and(eq(appTokens.userId, userId), eq(appTokens.name, name)))
        .limit(1);
      if (live && !live.revokedAt) throw taken();
      if (maxPerUser !== undefined) {
        const [{ n }] = (await db
          .select({ n: count() })
          .from(appTokens)
          .where(and(eq(appTokens.userId, userId), isNull(appTokens.revokedAt)))) as [{ n: number }];
        if (n >= maxPerUser)
          throw new Conflict(
            `token quota: you have ${n} app tokens, the most one user may keep (tokens.maxPerUser); revoke one first (token ls, token rm NAME)`,
          );
      }
      if (live) await db.delete(appTokens).where(eq(appTokens.id, live.id));
      const [row] = await db
        .insert(appTokens)
        .values({ userId, name, scope, hash, expiresAt })
        .onConflictDoNothing({ target: [appTokens.userId, appTokens.name] })
        .returning();
      if (!row) throw taken();
      return tokenOf(row);
    });
  }

  async list(userId: number, scope?: TokenScope): Promise<AppToken[]> {
    const { appTokens } = this.h.t;
    const rows = await this.h.run((db) =>
      db
        .select()
        .from(appTokens)
        .where(and(eq(appTokens.userId, userId), isNull(appTokens.revokedAt), scope ? eq(appTokens.scope, scope) : undefined))
        .orderBy(appTokens.name, appTokens.id),
    );
    return rows.map(tokenOf);
  }

  async revoke(userId: number, nameOrId: string): Promise<AppToken | undefined> {
    const { appTokens } = this.h.t;
    const byId = /^\d+$/.test(nameOrId) ? eq(appTokens.id, Number(nameOrId)) : eq(appTokens.name, nameOrId);
    const [row] = await this.h.run((db) =>
      db
        .update(appTokens)
        .set({ revokedAt: this.clock.now() })
        .where(and(eq(appTokens.userId, userId), byId, isNull(appTokens.revokedAt)))
        .returning(),
    );
    return row ? tokenOf(row) : undefined;
  }

  async verify(hash: string, scope: TokenScope, now: Date): Promise<TokenOwner | undefined> {
    const { appTokens, users } = this.h.t;
    return this.h.run(async (db) => {
      const [row] = await db
        .select({ id: appTokens.id, name: appTokens.name, userId: appTokens.userId, userName: users.name, role: users.role })
        .from(appTokens)
        .innerJoin(users, eq(users.id, appTokens.userId))
        .where(
          and(eq(appTokens.hash, hash), eq(appTokens.scope, scope), isNull(appTokens.revokedAt), or(isNull(appTokens.expiresAt), gt(appTokens.expiresAt, now))),
        )
        .limit(1);
      if (!row) return undefined;
      await db.update(appTokens).set({ lastUsedAt: now }).where(eq(appTokens.id, row.id));
      return { tokenId: row.id, tokenName: row.name, userId: row.userId, userName: row.userName, role: row.role };
    });
  }
}
