/**
 * The events port: each emitted event is stored first (so an announcer that is down, or a bot that
 * restarts, catches up from the store by id), then handed to the subscribers.
 */
import type { Clock } from '../../core/clock.ts';
import type { Logger } from '../../core/logger.ts';
import type { OpsEvent, OpsEventStore, OpsEventsPort, StoredOpsEvent } from './types.ts';

/** Announcers catch up from the store; a month is far longer than any outage they ride out. */
export const OPS_EVENT_RETENTION_MS = 30 * 24 * 3600 * 1000;

export class OpsEvents implements OpsEventsPort {
  private readonly subscribers = new Set<(event: StoredOpsEvent) => void>();

  constructor(
    private readonly store: OpsEventStore,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  async emit(event: OpsEvent): Promise<number> {
    const { kind, ...data } = event;
    const at = this.clock.now();
    const id = await this.store.append(event, at, new Date(at.getTime() - OPS_EVENT_RETENTION_MS));
    const stored = { ...event, id, at } as StoredOpsEvent;
    this.log.info({ event: kind, id, ...data }, 'ops event');
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
    return id;
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
