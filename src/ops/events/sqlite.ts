/** The ops event store on SQLite (drizzle): appending prunes events past retention in the same transaction. */
import { asc, gt, lt, max } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
import { opsEvents } from '../../db/schema.ts';
import type { OpsEvent, OpsEventStore, StoredOpsEvent } from './types.ts';

export class SqliteOpsEventStore implements OpsEventStore {
  constructor(private readonly db: Db) {}

  async append(event: OpsEvent, at: Date, dropBefore: Date): Promise<number> {
    const { kind, ...data } = event;
    const row = this.db.transaction((tx) => {
      tx.delete(opsEvents).where(lt(opsEvents.at, dropBefore)).run();
      return tx.insert(opsEvents).values({ kind, data, at }).returning({ id: opsEvents.id }).get();
    });
    return row.id;
  }

  async since(id: number, limit: number): Promise<StoredOpsEvent[]> {
    return this.db
      .select()
      .from(opsEvents)
      .where(gt(opsEvents.id, id))
      .orderBy(asc(opsEvents.id))
      .limit(limit)
      .all()
      .map((r) => ({ ...r.data, kind: r.kind, id: r.id, at: r.at }) as StoredOpsEvent);
  }

  async latestId(): Promise<number> {
    return (
      this.db
        .select({ id: max(opsEvents.id) })
        .from(opsEvents)
        .get()?.id ?? 0
    );
  }
}
