/** matrix-bot-sdk's storage (sync token, filter, small values) kept in labd's SQLite. */
import type { IFilterInfo, IStorageProvider } from 'matrix-bot-sdk';
import type { BotStore } from './store.ts';

export class SqliteSyncStorage implements IStorageProvider {
  constructor(private readonly store: BotStore) {}

  setSyncToken(token: string | null): void {
    this.store.setState('syncToken', token);
  }

  getSyncToken(): string | null {
    return this.store.getState('syncToken') ?? null;
  }

  setFilter(filter: IFilterInfo): void {
    this.store.setState('filter', JSON.stringify(filter));
  }

  getFilter(): IFilterInfo {
    const raw = this.store.getState('filter');
    return (raw ? JSON.parse(raw) : null) as IFilterInfo;
  }

  storeValue(key: string, value: string): void {
    this.store.setState(`kv:${key}`, value);
  }

  readValue(key: string): string | undefined {
    return this.store.getState(`kv:${key}`);
  }
}
