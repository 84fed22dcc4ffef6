import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { NatsConnectionWatch, natsConnectionOptions, redactNatsUrl, type NatsSettings } from '../../ops/nats/connection.ts';
import type { Logger } from '../../core/logger.ts';
import type { BrokerPeers, TopicAnnouncement, TopicBroker } from './broker.ts';

export interface PubsubPeersOptions {
  /** Subject prefix (tests give each pair of replicas its own). */
  prefix?: string;
  /** How often each replica announces all its topics; a replica silent for three periods is forgotten. */
  beatMs?: number;
  /** The client's name on the server's monitoring pages. */
  name?: string;
}

export interface PubsubPeersStatus {
  ok: boolean;
  detail: string;
}

const DEFAULT_PREFIX = 'labd.pubsub';
const BEAT_MS = 5000;
/** Largest NATS message labd sends: a publisher's chunk is split above this (the server's max_payload is 1 MiB by default). */
const MAX_CHUNK = 256 * 1024;
const KEY = /^[a-z][a-z0-9_-]{0,31}\/[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * Connects a topic broker to the same broker on the other labd replicas over NATS.
 *
 * Subjects (under `labd.pubsub`):
 * - `state`: one replica's side of one topic, whenever it changes (clients come or go, a publisher
 *   starts or stops waiting, the owner's grants): the presence that lets a `pub` here wait for a
 *   `sub` on any replica, and a one-shot `sub` end when the last publisher anywhere leaves;
 * - `beat`: every replica's full list every 5 s; a replica not heard from for three beats (killed,
 *   partitioned) is forgotten, so its subscribers no longer hold publishers;
 * - `hello`: a replica that (re)connects asks the others for their lists at once; `bye`: one that stops;
 * - `d.<topic in hex>.<sender>`: a topic's data, subscribed to only by replicas with readers of that topic;
 * - `ack.<sender>`: how many bytes of a sender's data a replica's readers took (credit, see TopicBroker).
 *
 * Announcements rather than request/reply: presence is needed continuously by blocked publishers and
 * by pacing, not at one moment, and a change reaches every replica in one message; the beat bounds
 * how long a dead replica's state survives. NATS keeps one publisher's messages in order, so a
 * replica subscribes to a topic's data before it announces its readers, and the data a publisher
 * sent arrives before its "publishers: 0".
 *
 * Flow: data from NATS is handed at once to each local reader's bounded queue (the per-session
 * queue; a reader that overflows it is dropped, as in one process), never awaited on an SSH channel,
 * so the replica's one NATS connection is read at full speed and one slow SSH client cannot get it cut
 * off as a slow consumer.
 */
export class PubsubPeers implements BrokerPeers {
  readonly replica = randomBytes(8).toString('hex');
  private readonly dataSubs = new Map<string, Subscription>();
  private readonly seen = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private watch: NatsConnectionWatch | undefined;
  private closing = false;
  private readonly maxChunk: number;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly broker: TopicBroker,
    private readonly log: Logger,
    private readonly prefix: string,
    private readonly beatMs: number,
    private readonly where: string,
  ) {
    this.maxChunk = Math.min(MAX_CHUNK, nc.info?.max_payload ?? MAX_CHUNK);
  }

  /** Connects, links the broker, and asks the other replicas for their topics. Throws (one line) when NATS cannot be reached. */
  static async connect(broker: TopicBroker, settings: NatsSettings, log: Logger, o: PubsubPeersOptions = {}): Promise<PubsubPeers> {
    const where = redactNatsUrl(settings.url);
    let nc: NatsConnection;
    try {
      nc = await connect(natsConnectionOptions(settings, o.name ?? 'labd'));
    } catch (err) {
      throw new Error(`config: nats.url (LABD_NATS_URL): cannot connect to ${where}: ${(err as Error).message}`, { cause: err });
    }
    const peers = new PubsubPeers(nc, broker, log, o.prefix ?? DEFAULT_PREFIX, o.beatMs ?? BEAT_MS, where);
    peers.start();
    await nc.flush();
    log.info({ nats: where, replica: peers.replica }, 'pub/sub across replicas over NATS');
    return peers;
  }

  private start(): void {
    const p = this.prefix;
    const json = (fn: (m: Record<string, unknown>) => void) => ({
      callback: (err: Error | null, msg: { data: Uint8Array }) => {
        if (err) return;
        let m: Record<string, unknown>;
        try {
          m = JSON.parse(Buffer.from(msg.data).toString('utf8')) as Record<string, unknown>;
        } catch {
          return;
        }
        if (typeof m.r !== 'string' || m.r === this.replica) return;
        this.seen.set(m.r, performance.now());
        fn(m);
      },
    });
    this.nc.subscribe(
      `${p}.state`,
      json((m) => {
        const a = announcement(m.a);
        if (a) this.broker.applyRemote(m.r as string, a);
      }),
    );
    this.nc.subscribe(
      `${p}.beat`,
      json((m) => {
        if (!Array.isArray(m.topics)) return;
        this.broker.replaceRemote(
          m.r as string,
          m.topics.map(announcement).filter((a): a is TopicAnnouncement => a !== undefined),
        );
      }),
    );
    this.nc.subscribe(
      `${p}.ack.${this.replica}`,
      json((m) => {
        if (typeof m.topic === 'string' && typeof m.n === 'number' && Number.isInteger(m.n) && m.n > 0) this.broker.ackFrom(m.r as string, m.topic, m.n);
      }),
    );
    this.nc.subscribe(
      `${p}.hello`,
      json(() => this.beat()),
    );
    this.nc.subscribe(
      `${p}.bye`,
      json((m) => {
        this.seen.delete(m.r as string);
        this.broker.forgetReplica(m.r as string);
      }),
    );
    this.broker.link(this);
    this.send('hello', {});
    this.timer = setInterval(() => {
      this.beat();
      const deadline = performance.now() - 3 * this.beatMs;
      for (const [replica, at] of this.seen) {
        if (at >= deadline) continue;
        this.seen.delete(replica);
        this.log.warn({ replica }, 'pub/sub: a replica went silent; its topics are forgotten');
        this.broker.forgetReplica(replica);
      }
    }, this.beatMs);
    this.timer.unref();
    this.watch = new NatsConnectionWatch(this.nc, this.where, this.log, 'pub/sub', () => {
      // After a reconnect everyone's lists are exchanged again.
      this.send('hello', {});
      this.beat();
    });
  }

  status(): PubsubPeersStatus {
    return this.watch?.status(`connected to ${this.where}, ${this.seen.size} other replica(s) heard`) ?? { ok: false, detail: `not started (${this.where})` };
  }

  announce(a: TopicAnnouncement): void {
    if (this.closing) return;
    const sub = this.dataSubs.get(a.topic);
    if (a.readers > 0 && !sub) {
      // Before the announcement: by the time a publisher elsewhere hears of these readers, the data reaches them.
      const key = a.topic;
      this.dataSubs.set(
        key,
        this.nc.subscribe(`${this.dataSubject(key)}.*`, {
          callback: (err, msg) => {
            if (err) return;
            const from = msg.subject.slice(msg.subject.lastIndexOf('.') + 1);
            this.broker.deliverRemote(key, Buffer.from(msg.data), from);
          },
        }),
      );
    } else if (a.readers === 0 && sub) {
      sub.unsubscribe();
      this.dataSubs.delete(a.topic);
    }
    this.send('state', { a });
  }

  ack(replica: string, topic: string, bytes: number): void {
    if (this.closing || this.nc.isClosed()) return;
    this.nc.publish(`${this.prefix}.ack.${replica}`, JSON.stringify({ r: this.replica, topic, n: bytes }));
  }

  outbound(topic: string, chunk: Buffer): void {
    if (this.closing) return;
    const subject = `${this.dataSubject(topic)}.${this.replica}`;
    for (let at = 0; at < chunk.length; at += this.maxChunk) this.nc.publish(subject, chunk.subarray(at, at + this.maxChunk));
  }

  /** Tells the others this replica is gone and closes the connection. */
  async close(): Promise<void> {
    if (this.closing) return;
    clearInterval(this.timer);
    if (!this.nc.isClosed()) {
      this.send('bye', {});
      this.closing = true;
      await this.nc.drain().catch(() => this.nc.close());
    }
    this.closing = true;
  }

  private beat(): void {
    this.send('beat', { topics: this.broker.announcements() });
  }

  private send(what: string, body: Record<string, unknown>): void {
    if (this.closing || this.nc.isClosed()) return;
    try {
      this.nc.publish(`${this.prefix}.${what}`, JSON.stringify({ r: this.replica, ...body }));
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'pub/sub: cannot publish to NATS');
    }
  }

  private dataSubject(key: string): string {
    return `${this.prefix}.d.${Buffer.from(key).toString('hex')}`;
  }
}

/** A peer's announcement, checked field by field (anything else is ignored). */
function announcement(v: unknown): TopicAnnouncement | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const a = v as Record<string, unknown>;
  const n = (x: unknown) => (typeof x === 'number' && Number.isInteger(x) && x >= 0 ? x : undefined);
  if (typeof a.topic !== 'string' || !KEY.test(a.topic)) return undefined;
  const counts = [n(a.readers), n(a.subscribers), n(a.publishers), n(a.pipes), n(a.waiting), n(a.since)];
  if (counts.some((c) => c === undefined)) return undefined;
  if (!Array.isArray(a.share) || !a.share.every((u) => typeof u === 'string')) return undefined;
  const [readers, subscribers, publishers, pipes, waiting, since] = counts as number[];
  return {
    topic: a.topic,
    readers: readers!,
    subscribers: subscribers!,
    publishers: publishers!,
    pipes: pipes!,
    waiting: waiting!,
    since: since!,
    public: a.public === true,
    share: a.share as string[],
  };
}
