import { and, count, eq, gt, isNull, or } from 'drizzle-orm';
import { Conflict } from '../../core/errors.ts';
import type { Db } from '../../db/client.ts';
import { appTokens, users } from '../../db/schema.ts';
import type { AppToken, TokenOwner, TokenScope, TokenStore } from './store.ts';

type Row = typeof appTokens.$inferSelect;

function tokenOf(r: Row): AppToken {
  return { id: r.id, userId: r.userId, name: r.name, scope: r.scope, createdAt: r.createdAt, expiresAt: r.expiresAt, lastUsedAt: r.lastUsedAt };
}

/** App tokens in SQLite; revoked tokens stay as rows (revoked_at set) so that a name is never reused silently. */
export class SqliteTokenStore implements TokenStore {
  constructor(private readonly db: Db) {}

  async create(userId: number, name: string, scope: TokenScope, hash: string, expiresAt: Date | null = null, maxPerUser?: number): Promise<AppToken> {
    // One synchronous transaction: two creates at once cannot both pass the name and count checks.
    return this.db.transaction((tx) => {
      const live = tx
        .select()
        .from(appTokens)
        .where(and(eq(appTokens.userId, userId), eq(appTokens.name, name)))
        .get();
      if (live && !live.revokedAt) throw new Conflict(`you have a token named '${name}' (revoke it first: token rm ${name})`);
      if (maxPerUser !== undefined) {
        const held = tx
          .select({ n: count() })
          .from(appTokens)
          .where(and(eq(appTokens.userId, userId), isNull(appTokens.revokedAt)))
          .get()!.n;
        if (held >= maxPerUser)
          throw new Conflict(
            `token quota: you have ${held} app tokens, the most one user may keep (tokens.maxPerUser); revoke one first (token ls, token rm NAME)`,
          );
      }
      if (live) tx.delete(appTokens).where(eq(appTokens.id, live.id)).run();
      return tokenOf(tx.insert(appTokens).values({ userId, name, scope, hash, expiresAt }).returning().get());
    });
  }

  async list(userId: number, scope?: TokenScope): Promise<AppToken[]> {
    return this.db
      .select()
      .from(appTokens)
      .where(and(eq(appTokens.userId, userId), isNull(appTokens.revokedAt), scope ? eq(appTokens.scope, scope) : undefined))
      .orderBy(appTokens.name)
      .all()
      .map(tokenOf);
  }

  async revoke(userId: number, nameOrId: string): Promise<AppToken | undefined> {
    const byId = /^\d+$/.test(nameOrId) ? eq(appTokens.id, Number(nameOrId)) : eq(appTokens.name, nameOrId);
    const row = this.db
      .select()
      .from(appTokens)
      .where(and(eq(appTokens.userId, userId), byId, isNull(appTokens.revokedAt)))
      .get();
    if (!row) return undefined;
    this.db.update(appTokens).set({ revokedAt: new Date() }).where(eq(appTokens.id, row.id)).run();
    return tokenOf(row);
  }

  async verify(hash: string, scope: TokenScope, now: Date): Promise<TokenOwner | undefined> {
    const row = this.db
      .select({ id: appTokens.id, name: appTokens.name, userId: appTokens.userId, userName: users.name, role: users.role })
      .from(appTokens)
      .innerJoin(users, eq(users.id, appTokens.userId))
      .where(
        and(eq(appTokens.hash, hash), eq(appTokens.scope, scope), isNull(appTokens.revokedAt), or(isNull(appTokens.expiresAt), gt(appTokens.expiresAt, now))),
      )
      .get();
    if (!row) return undefined;
    this.db.update(appTokens).set({ lastUsedAt: now }).where(eq(appTokens.id, row.id)).run();
    return { tokenId: row.id, tokenName: row.name, userId: row.userId, userName: row.userName, role: row.role };
  }
}
