/**
 * matrix-bot-sdk's storage (sync token, filter, small values) kept in the bot's store, and the
 * ordering that makes the inbox durable.
 *
 * matrix-bot-sdk emits a sync's events without awaiting the listeners, then (persistTokenAfterSync)
 * awaits `setSyncToken`, and only then fetches the next sync. Inbox writes are asynchronous, so the
 * listener registers each one here (synchronously, while the sync is being emitted) and
 * `setSyncToken` first waits until every registered write has finished. If one failed, the token
 * is not saved from then on: a restart fetches those events again (the inbox's event ids keep
 * the others from running twice).
 */
import type { IFilterInfo, IStorageProvider } from 'matrix-bot-sdk';
import type { BotStore } from './store.ts';

/** The inbox writes of the events emitted so far; the sync token waits for them. */
export class InboxWrites {
  private readonly pending = new Set<Promise<unknown>>();
  private failed: unknown;

  /** Registers a write; returns it (rejecting as it does). */
  track<T>(write: Promise<T>): Promise<T> {
    const settled = write.then(
      () => undefined,
      (err: unknown) => void (this.failed ??= err),
    );
    this.pending.add(settled);
    void settled.finally(() => this.pending.delete(settled));
    return write;
  }

  /** Resolves once every registered write has finished; rejects if any write ever failed. */
  async flushed(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
    if (this.failed !== undefined)
      throw new Error(`an event was not stored in the inbox (${(this.failed as Error)?.message ?? String(this.failed)}); the sync token stays where it was`);
  }

  /** Waits for the writes registered so far, whatever their outcome (shutdown). */
  async idle(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }
}

export class StoreSyncStorage implements IStorageProvider {
  constructor(
    private readonly store: BotStore,
    private readonly inbox: InboxWrites,
  ) {}

  /** Saved only after the inbox holds every event emitted before it (see above). */
  async setSyncToken(token: string | null): Promise<void> {
    await this.inbox.flushed();
    await this.store.setState('syncToken', token);
  }

  async getSyncToken(): Promise<string | null> {
    return (await this.store.getState('syncToken')) ?? null;
  }

  async setFilter(filter: IFilterInfo): Promise<void> {
    await this.store.setState('filter', JSON.stringify(filter));
  }

  async getFilter(): Promise<IFilterInfo> {
    const raw = await this.store.getState('filter');
    return (raw ? JSON.parse(raw) : null) as IFilterInfo;
  }

  async storeValue(key: string, value: string): Promise<void> {
    await this.store.setState(`kv:${key}`, value);
  }

  async readValue(key: string): Promise<string | undefined> {
    return this.store.getState(`kv:${key}`);
  }
}
