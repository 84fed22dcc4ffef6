/** The ops event store on SQLite or PostgreSQL (drizzle): appending prunes events past retention in the same transaction. */
import { asc, gt, lt, max } from 'drizzle-orm';
import type { SqlHandle } from '../../db/sql.ts';
import type { OpsEvent, OpsEventStore, StoredOpsEvent } from './types.ts';

export class SqlOpsEventStore implements OpsEventStore {
  constructor(private readonly h: SqlHandle) {}

  async append(event: OpsEvent, at: Date, dropBefore: Date): Promise<number> {
    const { opsEvents } = this.h.t;
    const { kind, ...data } = event;
    const row = await this.h.transaction(async (db) => {
      await db.delete(opsEvents).where(lt(opsEvents.at, dropBefore));
      return (await db.insert(opsEvents).values({ kind, data, at }).returning({ id: opsEvents.id }))[0]!;
    });
    return row.id;
  }

  async since(id: number, limit: number): Promise<StoredOpsEvent[]> {
    const { opsEvents } = this.h.t;
    const rows = await this.h.run((db) => db.select().from(opsEvents).where(gt(opsEvents.id, id)).orderBy(asc(opsEvents.id)).limit(limit));
    return rows.map((r) => ({ ...r.data, kind: r.kind, id: r.id, at: r.at }) as StoredOpsEvent);
  }

  async latestId(): Promise<number> {
    const { opsEvents } = this.h.t;
    const row = (await this.h.run((db) => db.select({ id: max(opsEvents.id) }).from(opsEvents)))[0];
    return row?.id ?? 0;
  }
}
