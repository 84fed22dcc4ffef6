import type { Readable, Writable } from 'node:stream';
import { systemClock, type Clock } from '../../core/clock.ts';
import { Failed, PermissionDenied, Unavailable } from '../../core/errors.ts';
import type { TopicRef } from './names.ts';
import { BufferBudget, TopicReader } from './reader.ts';
import { Topic, TopicWriter, type TopicCounts } from './topic.ts';

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

  constructor(private readonly options: BrokerOptions) {
    this.budget = new BufferBudget(options.maxBufferedBytes ?? Number.MAX_SAFE_INTEGER);
  }

  /** Calls `fn` whenever a topic appears, disappears or its clients change; returns an unsubscribe. */
  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Topics the user may use, with their counts. */
  visibleTo(user: string): TopicInfo[] {
    return [...this.topics.values()]
      .filter((t) => t.mayUse(user))
      .sort((a, b) => a.ref.key.localeCompare(b.ref.key))
      .map((t) => ({
        topic: t.ref.key,
        owner: t.ref.owner,
        access: t.isPublic ? 'public' : t.sharedWith.size ? 'shared' : 'private',
        ...(user === t.ref.owner ? { sharedWith: [...t.sharedWith].sort() } : {}),
        ...t.counts(),
        ...t.stats,
        since: t.createdAt,
      }));
  }

  /** Streams the topic to `out` until the publishers leave (unless `keep`), the signal fires, or the reader falls too far behind. */
  async subscribe(o: ClientBase & { out: Writable; keep: boolean }): Promise<void> {
    const topic = this.attach(o.user, o.topic, o.grant);
    const reader = new TopicReader(this.nextClientId++, !o.keep, o.out, this.options.subscriberBuffer, topic, this.budget);
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
      const writer = new TopicWriter(this.nextClientId++, 'pub', topic, o.input, o.block, false, (state) => {
        clearTimeout(timer);
        if (state === 'ended') return finish();
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
    if (!topic ? !isOwner : !topic.mayUse(user)) {
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
      const created = new Topic(
        ref,
        Math.min(128 * 1024, Math.floor(this.options.subscriberBuffer / 2)),
        () => this.changed(),
        (this.options.clock ?? systemClock).now(),
      );
      this.topics.set(ref.key, created);
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
