/**
 * The events port: each emitted event is stored first (so an announcer that is down, or a bot that
 * restarts, catches up from the table by id), then handed to the subscribers.
 */
import { asc, gt, lt, max } from 'drizzle-orm';
import type { Clock } from '../../core/clock.ts';
import type { Logger } from '../../core/logger.ts';
import type { Db } from '../../db/client.ts';
import { opsEvents } from '../../db/schema.ts';
import type { OpsEvent, OpsEventsPort, StoredOpsEvent } from './types.ts';

/** Announcers catch up from the table; a month is far longer than any outage they ride out. */
export const OPS_EVENT_RETENTION_MS = 30 * 24 * 3600 * 1000;

export class OpsEvents implements OpsEventsPort {
  private readonly subscribers = new Set<(event: StoredOpsEvent) => void>();

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  emit(event: OpsEvent): number {
    const { kind, ...data } = event;
    const at = this.clock.now();
    const row = this.db.transaction((tx) => {
      tx.delete(opsEvents)
        .where(lt(opsEvents.at, new Date(at.getTime() - OPS_EVENT_RETENTION_MS)))
        .run();
      return tx.insert(opsEvents).values({ kind, data, at }).returning({ id: opsEvents.id }).get();
    });
    const stored = { ...event, id: row.id, at } as StoredOpsEvent;
    this.log.info({ event: kind, id: row.id, ...data }, 'ops event');
    for (const fn of this.subscribers) {
      // A subscriber's failure is its own: the event is stored and it catches up later.
      queueMicrotask(() => {
        try {
          fn(stored);
        } catch (err) {
          this.log.error({ err, event: row.id }, 'ops event subscriber failed');
        }
      });
    }
    return row.id;
  }

  subscribe(fn: (event: StoredOpsEvent) => void): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  /** Events after `id`, oldest first. */
  since(id: number, limit = 500): StoredOpsEvent[] {
    return this.db
      .select()
      .from(opsEvents)
      .where(gt(opsEvents.id, id))
      .orderBy(asc(opsEvents.id))
      .limit(limit)
      .all()
      .map((r) => ({ ...r.data, kind: r.kind, id: r.id, at: r.at }) as StoredOpsEvent);
  }

  /** The newest event's id (0: none yet). */
  latestId(): number {
    return (
      this.db
        .select({ id: max(opsEvents.id) })
        .from(opsEvents)
        .get()?.id ?? 0
    );
  }
}
