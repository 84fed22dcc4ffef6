/** WrongCodeLog in SQLite (invite_wrong_codes): one row per wrong code and counter, pruned past the window. */
import { and, count, gte, inArray, lt } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
import { inviteWrongCodes } from '../../db/schema.ts';
import type { WrongCodeLog } from './wrong-codes.ts';

export class SqliteWrongCodes implements WrongCodeLog {
  constructor(private readonly db: Db) {}

  async counts(counters: readonly string[], since: Date): Promise<ReadonlyMap<string, number>> {
    if (!counters.length) return new Map();
    const rows = this.db
      .select({ counter: inviteWrongCodes.counter, n: count() })
      .from(inviteWrongCodes)
      .where(and(inArray(inviteWrongCodes.counter, [...counters]), gte(inviteWrongCodes.at, since)))
      .groupBy(inviteWrongCodes.counter)
      .all();
    return new Map(rows.map((r) => [r.counter, r.n]));
  }

  async note(counters: readonly string[], at: Date, forgetBefore: Date): Promise<void> {
    this.db.transaction((tx) => {
      tx.delete(inviteWrongCodes).where(lt(inviteWrongCodes.at, forgetBefore)).run();
      if (counters.length)
        tx.insert(inviteWrongCodes)
          .values(counters.map((counter) => ({ counter, at })))
          .run();
    });
  }
}
