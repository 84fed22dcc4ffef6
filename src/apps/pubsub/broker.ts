import type { Readable, Writable } from 'node:stream';
import { systemClock, type Clock } from '../../core/clock.ts';
import { Failed, PermissionDenied, Unavailable } from '../../core/errors.ts';
import type { TopicRef } from './names.ts';
import { BufferBudget, TopicReader } from './reader.ts';
import { NO_REMOTE, Topic, TopicWriter, type RemoteSide, type TopicCounts, type TopicLinks } from './topic.ts';

export interface BrokerOptions {
  /** Bytes a subscriber may fall behind before it is dropped. */
  subscriberBuffer: number;
  /** Live topics one user may own at once (default: no cap). */
  maxTopicsPerUser?: number;
  /** Bytes all subscribers' queues may hold together (default: no cap). */
  maxBufferedBytes?: number;
  /** When topics are made (their `since`); default the system clock. */
  clock?: Clock;
}

/** Who may use a topic, as its owner declares it when attaching (-p, -a). */
export interface AccessGrant {
  public?: boolean;
  share?: readonly string[];
}

export interface TopicInfo extends TopicCounts {
  topic: string;
  owner: string;
  access: 'private' | 'public' | 'shared';
  /** Named users the topic is shared with; shown to its owner only. */
  sharedWith?: string[];
  messages: number;
  bytes: number;
  since: Date;
}

/**
 * One replica's side of one topic, as it tells the other replicas (labd over NATS): its clients and
 * the owner's grants made there. Zero readers and zero writers: the topic is gone from that replica.
 */
export interface TopicAnnouncement extends TopicCounts {
  topic: string;
  /** Open readers: subscribers and pipes. */
  readers: number;
  public: boolean;
  share: string[];
  /** When the topic appeared there (ms since the epoch). */
  since: number;
}

/** Where a broker sends what other replicas need to know (the NATS adapter; none in one process). */
export interface BrokerPeers {
  /** This replica's side of a topic changed. */
  announce(a: TopicAnnouncement): void;
  /** A local writer published a chunk while another replica has readers of the topic. */
  outbound(topic: string, chunk: Buffer): void;
  /** Tells `replica` that this replica's readers took `bytes` more of what it published to the topic. */
  ack(replica: string, topic: string, bytes: number): void;
}

/** Per topic, per replica: bytes (sent to it and not yet acknowledged, or received from it and not yet acknowledged). */
type Ledger = Map<string, Map<string, number>>;

function ledgerAdd(l: Ledger, key: string, replica: string, bytes: number): number {
  let m = l.get(key);
  if (!m) l.set(key, (m = new Map()));
  const v = Math.max(0, (m.get(replica) ?? 0) + bytes);
  m.set(replica, v);
  return v;
}

function ledgerDrop(l: Ledger, key: string, replica?: string): void {
  const m = l.get(key);
  if (!m) return;
  if (replica === undefined) m.clear();
  else m.delete(replica);
  if (!m.size) l.delete(key);
}

interface ClientBase {
  user: string;
  topic: TopicRef;
  grant?: AccessGrant;
  signal: AbortSignal;
}

/**
 * The in-memory topic broker behind `pub`, `sub` and `pipe`. It knows streams, not SSH:
 * data comes in on Readables and goes out on Writables, so any front-end can attach.
 * Topics and their access lists live only while someone is attached.
 */
export class TopicBroker {
  private readonly topics = new Map<string, Topic>();
  private readonly listeners = new Set<() => void>();
  private nextClientId = 1;
  /** Live topics per owner (a prototype-free count keyed by user name). */
  private readonly owned = new Map<string, number>();
  readonly budget: BufferBudget;
  /** Other replicas' sides of topics: topic key → replica id → its last announcement. */
  private readonly remote = new Map<string, Map<string, TopicAnnouncement>>();
  private peers: BrokerPeers | undefined;
  /**
   * Flow between replicas, by credit: a publisher here sends a replica with readers at most `window`
   * bytes it has not acknowledged; a replica acknowledges what it received while one of its readers
   * has room. So a publisher goes at the pace of the fastest reader on any replica (as in one
   * process), and a reader's queue never holds more than its pace mark plus a window or two.
   */
  private readonly window: number;
  private readonly ackEvery: number;
  /** Sent to each replica with readers, not yet acknowledged. */
  private readonly unacked: Ledger = new Map();
  /** Received from each replica, not yet acknowledged to it. */
  private readonly toAck: Ledger = new Map();
  /** Per replica, the topics it acknowledged something of since its last periodic announcement. */
  private readonly ackedSinceBeat = new Map<string, Set<string>>();
  private readonly links: TopicLinks = {
    changed: (t) => {
      this.announce(t);
      this.changed();
    },
    outbound: (t, chunk) => this.sendOut(t, chunk),
    readersMoved: (t, why) => this.flushAcks(t, why),
  };

  constructor(private readonly options: BrokerOptions) {
    this.budget = new BufferBudget(options.maxBufferedBytes ?? Number.MAX_SAFE_INTEGER);
    const paceAt = this.paceAt();
    // A reader's queue then holds at most its pace mark and two windows (one more after a reset), within its buffer.
    this.window = Math.max(16 * 1024, Math.min(1024 * 1024, Math.floor((options.subscriberBuffer - paceAt) / 3)));
    this.ackEvery = Math.floor(this.window / 4);
  }

  private paceAt(): number {
    return Math.min(128 * 1024, Math.floor(this.options.subscriberBuffer / 2));
  }

  /** Connects the broker to other replicas (the NATS adapter calls this once). */
  link(peers: BrokerPeers): void {
    this.peers = peers;
  }

  /** This replica's side of every live topic (for a replica that asks, and the periodic announcement). */
  announcements(): TopicAnnouncement[] {
    return [...this.topics.values()].map((t) => this.announcementOf(t));
  }

  /** Another replica's side of a topic changed (or is gone). */
  applyRemote(replica: string, a: TopicAnnouncement): void {
    let sides = this.remote.get(a.topic);
    if (a.readers === 0) ledgerDrop(this.unacked, a.topic, replica);
    if (a.publishers === 0 && a.pipes === 0) ledgerDrop(this.toAck, a.topic, replica);
    if (a.readers === 0 && a.publishers === 0 && a.pipes === 0) {
      if (!sides?.delete(replica)) return;
      if (!sides.size) this.remote.delete(a.topic);
    } else {
      if (!sides) this.remote.set(a.topic, (sides = new Map()));
      sides.set(replica, a);
    }
    this.remoteChanged(a.topic);
  }

  /** Everything another replica holds, at once (its periodic announcement): topics it no longer lists are gone there. */
  replaceRemote(replica: string, list: readonly TopicAnnouncement[]): void {
    const listed = new Set(list.map((a) => a.topic));
    // Credit lost on the way (a reconnect): a replica that acknowledged nothing for a whole period gets a fresh window.
    const acked = this.ackedSinceBeat.get(replica);
    this.ackedSinceBeat.delete(replica);
    for (const a of list) {
      if (!acked?.has(a.topic) && (this.unacked.get(a.topic)?.get(replica) ?? 0) >= this.window) {
        ledgerDrop(this.unacked, a.topic, replica);
        this.remoteChanged(a.topic);
      }
    }
    for (const [key, sides] of this.remote) {
      if (!listed.has(key) && sides.has(replica)) this.applyRemote(replica, { ...this.emptyAnnouncement(key) });
    }
    for (const a of list) this.applyRemote(replica, a);
  }

  /** A replica left or stopped answering: its side of every topic is gone. */
  forgetReplica(replica: string): void {
    this.replaceRemote(replica, []);
  }

  /** Data a writer on `from` published to the topic. */
  deliverRemote(key: string, chunk: Buffer, from: string): void {
    const topic = this.topics.get(key);
    if (!topic) return;
    ledgerAdd(this.toAck, key, from, chunk.length);
    topic.deliverRemote(chunk);
  }

  /** `from` acknowledged bytes this replica sent it. */
  ackFrom(from: string, key: string, bytes: number): void {
    if (!this.unacked.get(key)?.has(from)) return;
    ledgerAdd(this.unacked, key, from, -bytes);
    let acked = this.ackedSinceBeat.get(from);
    if (!acked) this.ackedSinceBeat.set(from, (acked = new Set()));
    acked.add(key);
    const topic = this.topics.get(key);
    if (topic && topic.remoteSide.room !== this.remoteRoom(key)) topic.setRemote(this.remoteSide(key));
  }

  private sendOut(topic: Topic, chunk: Buffer): void {
    if (!this.peers) return;
    const key = topic.ref.key;
    for (const [replica, a] of this.remote.get(key) ?? []) if (a.readers > 0) ledgerAdd(this.unacked, key, replica, chunk.length);
    this.peers.outbound(key, chunk);
    if (topic.remoteSide.room !== this.remoteRoom(key)) topic.setRemote(this.remoteSide(key));
  }

  /** Acknowledges what came from other replicas while a local reader has room: in batches as data comes, all of it as readers drain. */
  private flushAcks(topic: Topic, why: 'data' | 'drained'): void {
    const pending = this.toAck.get(topic.ref.key);
    if (!pending?.size || !this.peers || !topic.localRoom()) return;
    for (const [replica, bytes] of pending) {
      if (bytes === 0 || (why === 'data' && bytes < this.ackEvery)) continue;
      pending.set(replica, 0);
      this.peers.ack(replica, topic.ref.key, bytes);
    }
  }

  /** Whether some replica with readers of the topic has credit left. */
  private remoteRoom(key: string): boolean {
    const owed = this.unacked.get(key);
    for (const [replica, a] of this.remote.get(key) ?? []) if (a.readers > 0 && (owed?.get(replica) ?? 0) < this.window) return true;
    return false;
  }

  private remoteSide(key: string): RemoteSide {
    const sides = this.remote.get(key);
    if (!sides?.size) return NO_REMOTE;
    const side = { readers: 0, writers: 0, room: this.remoteRoom(key), isPublic: false, sharedWith: new Set<string>() };
    for (const a of sides.values()) {
      side.readers += a.readers;
      side.writers += a.publishers + a.pipes;
      if (a.public) side.isPublic = true;
      for (const u of a.share) side.sharedWith.add(u);
    }
    return side;
  }

  private remoteChanged(key: string): void {
    this.topics.get(key)?.setRemote(this.remoteSide(key));
    this.changed();
  }

  private announcementOf(t: Topic): TopicAnnouncement {
    return {
      topic: t.ref.key,
      readers: t.openReaders,
      ...t.counts(),
      public: t.isPublic,
      share: [...t.sharedWith],
      since: t.createdAt.getTime(),
    };
  }

  private emptyAnnouncement(key: string): TopicAnnouncement {
    return { topic: key, readers: 0, subscribers: 0, publishers: 0, pipes: 0, waiting: 0, public: false, share: [], since: 0 };
  }

  private announce(t: Topic): void {
    if (!this.peers) return;
    this.peers.announce(this.topics.get(t.ref.key) === t ? this.announcementOf(t) : this.emptyAnnouncement(t.ref.key));
  }

  /** Calls `fn` whenever a topic appears, disappears or its clients change; returns an unsubscribe. */
  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Topics the user may use, with their counts. */
  visibleTo(user: string): TopicInfo[] {
    const keys = new Set([...this.topics.keys(), ...this.remote.keys()]);
    const out: TopicInfo[] = [];
    for (const key of keys) {
      const t = this.topics.get(key);
      const sides = [...(this.remote.get(key)?.values() ?? [])];
      const owner = key.slice(0, key.indexOf('/'));
      const isPublic = (t?.isPublic ?? false) || sides.some((a) => a.public);
      const shared = new Set([...(t?.sharedWith ?? []), ...sides.flatMap((a) => a.share)]);
      if (!(user === owner || isPublic || shared.has(user))) continue;
      const counts = t?.counts() ?? { subscribers: 0, publishers: 0, pipes: 0, waiting: 0 };
      for (const a of sides) {
        counts.subscribers += a.subscribers;
        counts.publishers += a.publishers;
        counts.pipes += a.pipes;
        counts.waiting += a.waiting;
      }
      const since = Math.min(t?.createdAt.getTime() ?? Infinity, ...sides.map((a) => a.since));
      out.push({
        topic: key,
        owner,
        access: isPublic ? 'public' : shared.size ? 'shared' : 'private',
        ...(user === owner ? { sharedWith: [...shared].sort() } : {}),
        ...counts,
        ...(t?.stats ?? { bytes: 0, messages: 0 }),
        since: new Date(since),
      });
    }
    return out.sort((a, b) => a.topic.localeCompare(b.topic));
  }

  /** Streams the topic to `out` until the publishers leave (unless `keep`), the signal fires, or the reader falls too far behind. */
  async subscribe(o: ClientBase & { out: Writable; keep: boolean; slack?: () => number }): Promise<void> {
    const topic = this.attach(o.user, o.topic, o.grant);
    const reader = new TopicReader(this.nextClientId++, !o.keep, o.out, this.options.subscriberBuffer, topic, this.budget, o.slack);
    topic.addReader(reader);
    const stop = () => reader.close();
    o.signal.addEventListener('abort', stop, { once: true });
    if (o.signal.aborted) stop();
    const end = await reader.ended;
    o.signal.removeEventListener('abort', stop);
    topic.removeReader(reader);
    this.release(topic);
    if (end === 'dropped') throw this.droppedError(topic, reader);
  }

  /**
   * Feeds `input` to the topic until it ends. With `block`, waits for a subscriber first (and again
   * whenever none is left) so nothing is lost; otherwise data nobody takes is dropped.
   * Without `input` (pub -e) it only announces itself: it waits for a subscriber if blocking, then leaves.
   */
  publish(o: ClientBase & { input?: Readable; block: boolean; timeoutMs?: number; onWaiting?: () => void }): Promise<void> {
    const topic = this.attach(o.user, o.topic, o.grant);
    return new Promise<void>((resolve, reject) => {
      let done = false;
      let timer: NodeJS.Timeout | undefined;
      const finish = (err?: Error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        o.signal.removeEventListener('abort', onAbort);
        topic.removeWriter(writer);
        this.release(topic);
        if (err) reject(err);
        else resolve();
      };
      const onAbort = () => finish();
      let wasWaiting = false;
      const writer = new TopicWriter(this.nextClientId++, 'pub', topic, o.input, o.block, false, (state) => {
        clearTimeout(timer);
        if (state === 'ended') return finish();
        // Other replicas count waiting publishers too (`topics`); told when this one starts or stops waiting.
        if ((state === 'waiting') !== wasWaiting && topic.writers.has(writer)) this.announce(topic);
        wasWaiting = state === 'waiting';
        if (state === 'waiting') {
          o.onWaiting?.();
          if (o.timeoutMs)
            timer = setTimeout(() => finish(new Unavailable(`no subscriber joined ${topic.ref.key} within ${Math.round(o.timeoutMs! / 1000)}s`)), o.timeoutMs);
        } else if (state === 'flowing' && !o.input) queueMicrotask(() => finish());
      });
      o.signal.addEventListener('abort', onAbort, { once: true });
      topic.addWriter(writer);
      if (o.signal.aborted) finish();
    });
  }

  /** Reads and writes the topic: `input` goes to every other client, everything else comes out on `out`. Ends when `input` ends. */
  pipe(o: ClientBase & { input: Readable; out: Writable; replay: boolean }): Promise<void> {
    const topic = this.attach(o.user, o.topic, o.grant);
    const clientId = this.nextClientId++;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const reader = new TopicReader(clientId, false, o.out, this.options.subscriberBuffer, topic, this.budget);
      const writer = new TopicWriter(clientId, 'pipe', topic, o.input, false, o.replay, (state) => {
        if (state !== 'ended') return;
        // Input ended: deliver what is queued for this client, then leave.
        topic.removeReader(reader);
        reader.finish();
      });
      const onAbort = () => reader.close();
      o.signal.addEventListener('abort', onAbort, { once: true });
      void reader.ended.then((end) => {
        if (settled) return;
        settled = true;
        o.signal.removeEventListener('abort', onAbort);
        topic.removeWriter(writer);
        topic.removeReader(reader);
        this.release(topic);
        if (end === 'dropped') reject(this.droppedError(topic, reader));
        else resolve();
      });
      topic.addReader(reader);
      topic.addWriter(writer);
      if (o.signal.aborted) onAbort();
    });
  }

  /**
   * The topic rule (the pub/sub commands' `authorize`): a topic is its owner's unless shared or public,
   * and only the owner widens its access. Checked again on attach, as access can narrow meanwhile.
   */
  authorize(user: string, ref: TopicRef, grant: AccessGrant = {}): void {
    const isOwner = user === ref.owner;
    if (!isOwner && (grant.public || grant.share?.length)) {
      throw new PermissionDenied(`permission denied: only ${ref.owner} decides who may use ${ref.key} (-p and -a are for the owner)`);
    }
    const topic = this.topics.get(ref.key);
    const remote = topic ? undefined : this.remoteSide(ref.key);
    const allowed = topic ? topic.mayUse(user) : isOwner || (remote!.readers + remote!.writers > 0 && (remote!.isPublic || remote!.sharedWith.has(user)));
    if (!allowed) {
      // The same answer whether or not the topic exists, so its existence does not leak.
      throw new PermissionDenied(`permission denied: ${ref.key} is ${ref.owner}'s topic and is not shared with you`);
    }
  }

  /** Finds or creates the topic and checks that the user may use it; the owner's -p/-a widen its access. */
  private attach(user: string, ref: TopicRef, grant: AccessGrant = {}): Topic {
    this.authorize(user, ref, grant);
    const isOwner = user === ref.owner;
    let topic = this.topics.get(ref.key);
    if (!topic) {
      const mine = this.owned.get(ref.owner) ?? 0;
      const cap = this.options.maxTopicsPerUser;
      if (cap !== undefined && mine >= cap)
        throw new Unavailable(`you have ${mine} live topics, the most one user may hold open (pubsub.maxTopicsPerUser); end one first`);
      this.owned.set(ref.owner, mine + 1);
      const created = new Topic(ref, this.paceAt(), this.links, (this.options.clock ?? systemClock).now());
      this.topics.set(ref.key, created);
      created.setRemote(this.remoteSide(ref.key));
      topic = created;
    }
    if (isOwner) {
      if (grant.public) topic.isPublic = true;
      for (const name of grant.share ?? []) topic.sharedWith.add(name);
    }
    return topic;
  }

  private release(topic: Topic): void {
    if (topic.empty && this.topics.get(topic.ref.key) === topic) {
      this.topics.delete(topic.ref.key);
      const left = (this.owned.get(topic.ref.owner) ?? 1) - 1;
      if (left > 0) this.owned.set(topic.ref.owner, left);
      else this.owned.delete(topic.ref.owner);
      this.announce(topic);
      ledgerDrop(this.unacked, topic.ref.key);
      ledgerDrop(this.toAck, topic.ref.key);
      this.changed();
    }
  }

  private droppedError(topic: Topic, reader: TopicReader): Failed {
    if (reader.dropReason === 'memory')
      return new Failed(`dropped from ${topic.ref.key}: labd's pub/sub buffers are full (pubsub.maxBufferedBytes) and you were behind`);
    return new Failed(`dropped from ${topic.ref.key}: fell more than ${this.options.subscriberBuffer} bytes behind the publisher`);
  }

  private changed(): void {
    for (const fn of this.listeners) fn();
  }
}
