/** WrongCodeLog on SQLite or PostgreSQL (invite_wrong_codes): one row per wrong code and counter, pruned past the window. */
import { and, count, gte, inArray, lt } from 'drizzle-orm';
import type { SqlHandle } from '../../db/sql.ts';
import type { WrongCodeLog } from './wrong-codes.ts';

export class SqlWrongCodes implements WrongCodeLog {
  constructor(private readonly h: SqlHandle) {}

  async counts(counters: readonly string[], since: Date): Promise<ReadonlyMap<string, number>> {
    if (!counters.length) return new Map();
    const { inviteWrongCodes } = this.h.t;
    const rows = await this.h.run((db) =>
      db
        .select({ counter: inviteWrongCodes.counter, n: count() })
        .from(inviteWrongCodes)
        .where(and(inArray(inviteWrongCodes.counter, [...counters]), gte(inviteWrongCodes.at, since)))
        .groupBy(inviteWrongCodes.counter),
    );
    return new Map(rows.map((r) => [r.counter, r.n]));
  }

  async note(counters: readonly string[], at: Date, forgetBefore: Date): Promise<void> {
    const { inviteWrongCodes } = this.h.t;
    await this.h.transaction(async (db) => {
      await db.delete(inviteWrongCodes).where(lt(inviteWrongCodes.at, forgetBefore));
      if (counters.length) await db.insert(inviteWrongCodes).values(counters.map((counter) => ({ counter, at })));
    });
  }
}
