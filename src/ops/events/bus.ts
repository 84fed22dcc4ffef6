/**
 * The events port: each emitted event is stored first (so an announcer that is down, or a bot that
 * restarts, catches up from the store by id), then handed to the subscribers. With a change feed, an
 * event stored by another replica reaches this one's subscribers too (`arrived`): the Matrix
 * announcer runs on the leader, the event may come from any replica.
 */
import type { Clock } from '../../core/clock.ts';
import type { Logger } from '../../core/logger.ts';
import type { OpsEvent, OpsEventStore, OpsEventsPort, StoredOpsEvent } from './types.ts';
import { TOPICS, type ChangeNotice } from '../changes/port.ts';

/** Announcers catch up from the store; a month is far longer than any outage they ride out. */
export const OPS_EVENT_RETENTION_MS = 30 * 24 * 3600 * 1000;

export class OpsEvents implements OpsEventsPort {
  private readonly subscribers = new Set<(event: StoredOpsEvent) => void>();

  constructor(
    private readonly store: OpsEventStore,
    private readonly clock: Clock,
    private readonly log: Logger,
    /** Tells the other replicas an event was stored (none: one process). */
    private readonly changes?: ChangeNotice,
  ) {}

  async emit(event: OpsEvent): Promise<number> {
    const { kind, ...data } = event;
    const at = this.clock.now();
    const id = await this.store.append(event, at, new Date(at.getTime() - OPS_EVENT_RETENTION_MS));
    const stored = { ...event, id, at } as StoredOpsEvent;
    this.log.info({ event: kind, id, ...data }, 'ops event');
    this.changes?.publish(TOPICS.opsEvents, { id });
    this.tell(stored);
    return id;
  }

  /**
   * Another replica stored event `id` (undefined: the feed reconnected and may have missed some): it is
   * read from the store and handed to the subscribers here, who catch up from the store by id.
   */
  async arrived(id: number | undefined): Promise<void> {
    if (!this.subscribers.size) return;
    const latest = id ?? (await this.store.latestId());
    if (!latest) return;
    const [event] = await this.store.since(latest - 1, 1);
    if (event) this.tell(event);
  }

  private tell(stored: StoredOpsEvent): void {
    const id = stored.id;
    for (const fn of this.subscribers) {
      // A subscriber's failure is its own: the event is stored and it catches up later.
      queueMicrotask(() => {
        try {
          fn(stored);
        } catch (err) {
          this.log.error({ err, event: id }, 'ops event subscriber failed');
        }
      });
    }
  }

  subscribe(fn: (event: StoredOpsEvent) => void): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  /** Events after `id`, oldest first. */
  since(id: number, limit = 500): Promise<StoredOpsEvent[]> {
    return this.store.since(id, limit);
  }

  /** The newest event's id (0: none yet). */
  latestId(): Promise<number> {
    return this.store.latestId();
  }
}
