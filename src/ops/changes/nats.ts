/**
 * The change feed over NATS (nats.url set): a change is one message on `labd.changes.<topic>`, and
 * each replica subscribes to `labd.changes.>` on a connection of its own (the pub/sub bridge's
 * connection carries subscribers' data; a change never waits behind it). The client reconnects by
 * itself; NATS keeps no messages for a replica that was away, and the client drops what it queued
 * while it was away: so after a reconnect every subscriber here reloads everything (resync), and the
 * replica tells the others to do the same (`labd.changes.all`).
 */
import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../../core/logger.ts';
import { NatsConnectionWatch, natsConnectionOptions, redactNatsUrl, type NatsSettings } from '../nats/connection.ts';
import { ChangeFeedBase, EVERYTHING, parseWire, type ChangeFeedStatus, type ChangePayload, type WireChange } from './port.ts';

const DEFAULT_PREFIX = 'labd.changes';

export interface NatsChangeFeedOptions {
  /** Subject prefix (tests give each pair of replicas its own). */
  prefix?: string;
}

export class NatsChangeFeed extends ChangeFeedBase {
  readonly engine = 'nats' as const;
  readonly replica = randomBytes(8).toString('hex');
  private watch: NatsConnectionWatch | undefined;
  private closing = false;

  private constructor(
    private readonly nc: NatsConnection,
    log: Logger,
    private readonly prefix: string,
    private readonly where: string,
  ) {
    super(log.child({ component: 'changes', engine: 'nats' }));
  }

  /** Connects and subscribes before it returns; throws (one line) when NATS cannot be reached. */
  static async connect(settings: NatsSettings, log: Logger, o: NatsChangeFeedOptions = {}): Promise<NatsChangeFeed> {
    const where = redactNatsUrl(settings.url);
    let nc: NatsConnection;
    try {
      nc = await connect(natsConnectionOptions(settings, 'labd-changes'));
    } catch (err) {
      throw new Error(`config: nats.url (LABD_NATS_URL): cannot connect to ${where}: ${(err as Error).message}`, { cause: err });
    }
    const feed = new NatsChangeFeed(nc, log, o.prefix ?? DEFAULT_PREFIX, where);
    feed.start();
    await nc.flush();
    feed.log.info({ nats: where, replica: feed.replica }, 'changes reach the other replicas over NATS');
    return feed;
  }

  private start(): void {
    this.nc.subscribe(`${this.prefix}.>`, {
      callback: (err, msg) => {
        if (err) return;
        const m = parseWire(Buffer.from(msg.data).toString('utf8'));
        if (!m || m.r === this.replica || msg.subject !== `${this.prefix}.${m.t === EVERYTHING ? 'all' : m.t}`) return;
        this.receive(m.t, m.p);
      },
    });
    // After a reconnect, every replica-local state reloads (changes may have been missed), both ways:
    // this replica missed the others' changes, and the client dropped what it queued while away.
    this.watch = new NatsConnectionWatch(this.nc, this.where, this.log, 'change feed', () => {
      this.resyncAll();
      this.transmit(EVERYTHING, {});
    });
  }

  status(): ChangeFeedStatus {
    return this.watch?.status(`connected to ${this.where}`) ?? { ok: false, detail: `not started (${this.where})` };
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await this.nc.drain().catch(() => this.nc.close());
  }

  protected transmit(topic: string, payload: ChangePayload): void {
    if (this.closing) return;
    const wire: WireChange = { r: this.replica, t: topic, p: payload };
    // While disconnected the client buffers it and sends it on reconnect.
    this.nc.publish(`${this.prefix}.${topic === EVERYTHING ? 'all' : topic}`, JSON.stringify(wire));
  }
}
