/**
 * The change feed (issue #21 item 2): each replica keeps state read from the shared database (the
 * access snapshot, its open connections and who they stand for, the ops-event announcer's cursor), and
 * a change made on one replica must reach that state on every replica within seconds. A change is
 * published under a topic once it is committed; every subscriber of the topic on every replica (this
 * one included) is then told, and reads what it needs from the database again. A message says only
 * *that* something changed (and a hint of what): the database stays the one source of truth, so a
 * message that is lost or doubled costs at most one reload.
 *
 * Three engines (./index.ts chooses): in-process (one process: SQLite), PostgreSQL LISTEN/NOTIFY on a
 * dedicated session (replicas on one database, no NATS), NATS (nats.url set). An engine that lost its
 * connection and got it back cannot know what it missed: it calls every subscriber once with
 * `resync: true`, and each reloads everything it keeps.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Logger } from '../../core/logger.ts';

export type ChangeEngine = 'local' | 'postgres' | 'nats';

/** A small JSON object: what changed, as a hint (never the state itself). */
export type ChangePayload = Record<string, string | number | boolean | null>;

export interface Change {
  topic: string;
  payload: ChangePayload;
  /** Published by this replica (false: by another one). */
  local: boolean;
  /** The engine reconnected and may have missed changes: reload everything, whatever the topic. */
  resync: boolean;
}

/** The publishing side, for the code that makes changes (AccessControl, the identity store's wrapper, OpsEvents). */
export interface ChangeNotice {
  /** Tells every replica that `topic` changed: at once, or inside `deferring` once it resolves (after the commit). */
  publish(topic: string, payload?: ChangePayload): void;
}

export interface ChangeFeedStatus {
  ok: boolean;
  detail: string;
}

export interface ChangeFeed extends ChangeNotice {
  readonly engine: ChangeEngine;
  /** Called for every change of `topic` on any replica, and once after a reconnect (resync). Returns the unsubscribe function. */
  subscribe(topic: string, fn: (change: Change) => void): () => void;
  /**
   * Runs `fn` (a database transaction); what is published while it runs is sent once it resolved (the
   * transaction committed), and dropped when it throws (rolled back). A replica told before the commit
   * would reload the old state and not be told again. Nested calls join the outermost one.
   */
  deferring<T>(fn: () => Promise<T>): Promise<T>;
  /** For /readyz: whether changes reach the other replicas now. */
  status(): ChangeFeedStatus;
  close(): Promise<void>;
}

/**
 * The wire topic a replica sends when changes it published may not have gone out (NATS drops what
 * was queued while it reconnected; a NOTIFY failed): every other replica reloads everything.
 */
export const EVERYTHING = '*';

/** Largest payload (JSON) a change may carry: PostgreSQL's NOTIFY takes under 8000 bytes. */
export const MAX_PAYLOAD_BYTES = 4000;

/** Topics labd publishes. */
export const TOPICS = {
  /** Roles, role changes, user grants and denials (AccessControl): reload the access snapshot. */
  access: 'access',
  /** A user removed, disabled or enabled, a role set, a key removed: check the open connections now. */
  accounts: 'accounts',
  /** The user CA keys step-ca publishes changed (a CA added or rotated out): every replica fetches them now. */
  trust: 'ca-keys',
  /** An ops event was stored (OpsEvents): its subscribers (the Matrix announcer) catch up. */
  opsEvents: 'ops-events',
} as const;

/**
 * What the engines share: the subscribers, local delivery, deferral to the end of a transaction and
 * the resync after a reconnect. An engine implements `transmit` (to the other replicas) and calls
 * `receive` for what another replica sent and `resyncAll` after a reconnect.
 */
export abstract class ChangeFeedBase implements ChangeFeed {
  abstract readonly engine: ChangeEngine;
  private readonly subscribers = new Map<string, Set<(change: Change) => void>>();
  private readonly pending = new AsyncLocalStorage<{ topic: string; payload: ChangePayload }[]>();

  constructor(protected readonly log: Logger) {}

  publish(topic: string, payload: ChangePayload = {}): void {
    const text = JSON.stringify(payload);
    if (Buffer.byteLength(text) > MAX_PAYLOAD_BYTES) throw new Error(`change feed: the payload of '${topic}' is over ${MAX_PAYLOAD_BYTES} bytes`);
    const queue = this.pending.getStore();
    if (queue) {
      queue.push({ topic, payload });
      return;
    }
    this.deliver({ topic, payload, local: true, resync: false });
    try {
      this.transmit(topic, payload);
    } catch (err) {
      this.log.error({ err, topic }, 'change feed: could not tell the other replicas of a change');
    }
  }

  subscribe(topic: string, fn: (change: Change) => void): () => void {
    let set = this.subscribers.get(topic);
    if (!set) this.subscribers.set(topic, (set = new Set()));
    set.add(fn);
    return () => set.delete(fn);
  }

  async deferring<T>(fn: () => Promise<T>): Promise<T> {
    if (this.pending.getStore()) return fn();
    const queue: { topic: string; payload: ChangePayload }[] = [];
    const result = await this.pending.run(queue, fn);
    // Outside the scope now: these go out.
    for (const { topic, payload } of queue) this.publish(topic, payload);
    return result;
  }

  abstract status(): ChangeFeedStatus;
  abstract close(): Promise<void>;

  /** Sends a change to the other replicas (never back to this one). */
  protected abstract transmit(topic: string, payload: ChangePayload): void;

  /** A change another replica published (`*`: it may have lost some of its own, everything reloads). */
  protected receive(topic: string, payload: ChangePayload): void {
    if (topic === EVERYTHING) return this.resyncAll();
    this.deliver({ topic, payload, local: false, resync: false });
  }

  /** After a reconnect: every subscriber once, to reload everything (a change may have been missed). */
  protected resyncAll(): void {
    for (const [topic] of this.subscribers) this.deliver({ topic, payload: {}, local: false, resync: true });
  }

  private deliver(change: Change): void {
    for (const fn of this.subscribers.get(change.topic) ?? []) {
      queueMicrotask(() => {
        try {
          fn(change);
        } catch (err) {
          this.log.error({ err, topic: change.topic }, 'change feed: a subscriber failed');
        }
      });
    }
  }
}

/** One process (SQLite): every subscriber is in it; nothing to send, nothing to lose. */
export class LocalChangeFeed extends ChangeFeedBase {
  readonly engine = 'local' as const;

  status(): ChangeFeedStatus {
    return { ok: true, detail: 'in process (one replica)' };
  }

  async close(): Promise<void> {}

  protected transmit(): void {}
}

/** A wire message: the sending replica, the topic and the payload. */
export interface WireChange {
  r: string;
  t: string;
  p: ChangePayload;
}

/** Parses a wire message; undefined for anything malformed. */
export function parseWire(text: string): WireChange | undefined {
  try {
    const m = JSON.parse(text) as Partial<WireChange>;
    if (typeof m.r !== 'string' || typeof m.t !== 'string' || typeof m.p !== 'object' || m.p === null || Array.isArray(m.p)) return undefined;
    return m as WireChange;
  } catch {
    return undefined;
  }
}
