/**
 * The change feed for the composition root: NATS when nats.url is set, PostgreSQL LISTEN/NOTIFY when
 * labd runs on PostgreSQL without NATS, in process otherwise (one SQLite process). The NATS client
 * loads only when it is used.
 */
import type { Config } from '../../config/schema.ts';
import type { Logger } from '../../core/logger.ts';
import { LocalChangeFeed, type ChangeEngine, type ChangeFeed } from './port.ts';
import { PgNotifyChangeFeed, type PgNotifyPool } from './pg-notify.ts';

export { LocalChangeFeed, TOPICS, type Change, type ChangeEngine, type ChangeFeed, type ChangeNotice, type ChangePayload } from './port.ts';

export function changeEngineFor(o: { nats: boolean; postgres: boolean }): ChangeEngine {
  return o.nats ? 'nats' : o.postgres ? 'postgres' : 'local';
}

export async function createChangeFeed(config: Pick<Config, 'nats'>, database: { dialect: string; pool?: PgNotifyPool }, log: Logger): Promise<ChangeFeed> {
  const engine = changeEngineFor({ nats: config.nats.url !== undefined, postgres: database.dialect === 'postgres' });
  if (engine === 'nats') return (await import('./nats.ts')).NatsChangeFeed.connect({ ...config.nats, url: config.nats.url! }, log);
  if (engine === 'postgres') {
    if (!database.pool) throw new Error('change feed: the PostgreSQL engine gave no connection pool to LISTEN on');
    return PgNotifyChangeFeed.start(database.pool, log);
  }
  return new LocalChangeFeed(log);
}
