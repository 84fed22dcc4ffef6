/**
 * The alerts room's bookkeeping, as a port: which message shows which alert group, what it last
 * showed, and which firing episode escalated. The outbox rows that post and edit the messages are
 * the bot store's (store.ts); AlertMessages (alert-messages.ts) writes both in one transaction.
 * The implementation on SQLite or PostgreSQL is sql-alert-store.ts.
 */
import { createHash } from 'node:crypto';

/** The alerts room's message for one alert group. */
export interface AlertMessageRow {
  groupId: number;
  roomId: string;
  /** The outbox transaction id of the post. */
  postTxnId: string;
  /** The homeserver's id for the post, once delivered. */
  eventId: string | null;
  /** Edits queued so far; each has its own fixed transaction id. */
  revision: number;
  /** The outbox row holding the newest content (the post or the last edit). */
  lastTxnId: string;
  /** Hash of the newest queued content. */
  renderedHash: string;
  /** The firingSince (ms) of the episode that escalated; null: not escalated. */
  escalatedFor: number | null;
  createdAt: Date;
}

/** A group's first message, as its post is queued. */
export interface NewAlertMessage {
  groupId: number;
  roomId: string;
  postTxnId: string;
  renderedHash: string;
}

export interface QueuedContent {
  /** The content of the first post. */
  post: Record<string, unknown>;
  /** The content of an edit of the post, given the reference to it. */
  edit: (target: string) => Record<string, unknown>;
}

export type QueueOutcome = 'posted' | 'edited' | 'rewritten' | 'unchanged';

export function contentHash(content: unknown): string {
  return createHash('sha256').update(JSON.stringify(content)).digest('base64url');
}

/** Every method is one statement; each write joins the caller's transaction. */
export interface AlertMessageStore {
  message(groupId: number): Promise<AlertMessageRow | undefined>;
  /** The alert message whose post is known to be the event `eventId`. */
  messageByEventId(eventId: string): Promise<AlertMessageRow | undefined>;
  /** The alert message whose post has this transaction id. */
  messageByPostTxnId(txnId: string): Promise<AlertMessageRow | undefined>;
  /** The outbox delivered a row: remember the event id if it was an alert post. */
  delivered(txnId: string, eventId: string): Promise<void>;
  /** Messages that were posted, for the escalation check. */
  all(): Promise<AlertMessageRow[]>;
  /** Records a group's first message (its post is queued at the same time). */
  add(message: NewAlertMessage): Promise<void>;
  /** The newest queued content changed in place (an untried row rewritten). */
  rendered(groupId: number, renderedHash: string): Promise<void>;
  /** A new edit was queued: revision `revision`, in the outbox row `lastTxnId`. */
  revised(groupId: number, revision: number, lastTxnId: string, renderedHash: string): Promise<void>;
  /** Marks the firing episode escalated; false when it was marked already (or the group has no message). */
  markEscalated(groupId: number, episode: number): Promise<boolean>;
  /**
   * Inside a transaction: other replicas' transactions that lock the same group wait until this one
   * ends, so two replicas queuing a group's message at once cannot both find none and both post.
   */
  lockGroup(groupId: number): Promise<void>;
}
