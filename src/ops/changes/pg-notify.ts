/**
 * The change feed over PostgreSQL LISTEN/NOTIFY, for replicas that share one database and no NATS:
 * a change is `pg_notify('labd_changes', …)` through the pool (its own short transaction, so it is
 * sent at once), and each replica LISTENs on one dedicated session taken from its pool and kept.
 *
 * PostgreSQL delivers a notification to the sessions listening when it is committed; a session that
 * was not listening then never gets it. So a lost session (an error, its end, or a keep-alive query
 * that fails) is thrown away, a new one is taken after a pause (backing off to 5 s), and once it
 * listens again every subscriber is told to reload everything (resync). A NOTIFY that fails (the
 * database away) is followed, once the database takes it, by one that tells the others to reload
 * everything.
 *
 * Written against anything shaped like node-postgres' Pool (this file imports no driver: src/db owns it).
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../../core/logger.ts';
import { ChangeFeedBase, EVERYTHING, parseWire, type ChangeFeedStatus, type ChangePayload, type WireChange } from './port.ts';

export const CHANNEL = 'labd_changes';
/** How often the listening session is asked `select 1`: a session that died silently is noticed. */
const KEEPALIVE_MS = 10_000;
const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 5000;

/** What this engine needs of node-postgres: Pool.connect()/query() and the client connect() gives. */
export interface PgNotifyPool {
  connect(): Promise<PgListenClient>;
  query(text: string, values?: unknown[]): Promise<unknown>;
}

export interface PgListenClient {
  query(text: string, values?: unknown[]): Promise<unknown>;
  release(err?: Error | boolean): void;
  on(event: 'notification', listener: (msg: { channel: string; payload?: string }) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
}

export interface PgNotifyOptions {
  /** The channel (tests give each pair of replicas its own). */
  channel?: string;
  keepaliveMs?: number;
}

export class PgNotifyChangeFeed extends ChangeFeedBase {
  readonly engine = 'postgres' as const;
  readonly replica = randomBytes(8).toString('hex');
  private client: PgListenClient | undefined;
  private retryMs = RETRY_MIN_MS;
  private timer: NodeJS.Timeout | undefined;
  private keepalive: NodeJS.Timeout | undefined;
  private owing: NodeJS.Timeout | undefined;
  private lastError: string | undefined;
  private closed = false;
  private readonly channel: string;

  private constructor(
    private readonly pool: PgNotifyPool,
    log: Logger,
    private readonly o: PgNotifyOptions,
  ) {
    super(log.child({ component: 'changes', engine: 'postgres' }));
    this.channel = o.channel ?? CHANNEL;
  }

  /** Listens before it returns (labd then misses no change made after it started); throws when the database cannot be reached. */
  static async start(pool: PgNotifyPool, log: Logger, o: PgNotifyOptions = {}): Promise<PgNotifyChangeFeed> {
    const feed = new PgNotifyChangeFeed(pool, log, o);
    await feed.listen();
    feed.log.info({ channel: feed.channel, replica: feed.replica }, 'changes reach the other replicas through PostgreSQL LISTEN/NOTIFY');
    return feed;
  }

  status(): ChangeFeedStatus {
    if (this.client) return { ok: true, detail: `listening on ${this.channel}` };
    return { ok: false, detail: `not listening on ${this.channel}${this.lastError ? `: ${this.lastError}` : ''}; reconnecting` };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    clearTimeout(this.owing);
    clearInterval(this.keepalive);
    const c = this.client;
    this.client = undefined;
    if (!c) return;
    try {
      await c.query(`unlisten ${this.channel}`);
      c.release();
    } catch (err) {
      c.release(err as Error);
    }
  }

  protected transmit(topic: string, payload: ChangePayload): void {
    const wire: WireChange = { r: this.replica, t: topic, p: payload };
    this.pool.query('select pg_notify($1, $2)', [this.channel, JSON.stringify(wire)]).catch((err: Error) => {
      this.log.error({ err: err.message, topic }, 'change feed: could not notify the other replicas of a change; they will reload everything');
      this.oweEverything();
    });
  }

  /** A notification failed: the others are told to reload everything, as soon as the database takes it. */
  private oweEverything(): void {
    if (this.owing || this.closed) return;
    this.owing = setTimeout(() => {
      this.owing = undefined;
      this.transmit(EVERYTHING, {});
    }, RETRY_MAX_MS);
    this.owing.unref();
  }

  /** Takes a session from the pool and LISTENs on it. */
  private async listen(): Promise<void> {
    const c = await this.pool.connect();
    c.on('notification', (msg) => {
      if (c !== this.client || msg.channel !== this.channel || !msg.payload) return;
      const m = parseWire(msg.payload);
      if (!m || m.r === this.replica) return;
      this.receive(m.t, m.p);
    });
    c.on('error', (err: Error) => this.lost(c, err));
    c.on('end', () => this.lost(c, new Error('the connection ended')));
    try {
      await c.query(`listen ${this.channel}`);
    } catch (err) {
      c.release(err as Error);
      throw err;
    }
    if (this.closed) {
      c.release();
      return;
    }
    this.client = c;
    this.retryMs = RETRY_MIN_MS;
    clearInterval(this.keepalive);
    this.keepalive = setInterval(() => {
      c.query('select 1').catch((err: Error) => this.lost(c, err));
    }, this.o.keepaliveMs ?? KEEPALIVE_MS);
    this.keepalive.unref();
  }

  private lost(c: PgListenClient, err: Error): void {
    if (c !== this.client) return;
    this.client = undefined;
    clearInterval(this.keepalive);
    c.release(err);
    this.lastError = err.message;
    if (this.closed) return;
    this.log.warn({ err: err.message }, 'change feed: the LISTEN session was lost; reconnecting');
    this.retry();
  }

  private retry(): void {
    this.timer = setTimeout(() => {
      this.listen().then(
        () => {
          if (this.closed) return;
          this.lastError = undefined;
          this.log.info('change feed: listening again; every replica-local state reloads (changes may have been missed)');
          this.resyncAll();
        },
        (err: Error) => {
          this.lastError = err.message;
          this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
          if (!this.closed) this.retry();
        },
      );
    }, this.retryMs);
    this.timer.unref();
  }
}
