/**
 * The bot's durable state, as a port: the inbox of accepted events (processed ids), the outbox of
 * messages to send, confirmations of destructive commands, and small values (the sync token, the
 * announcer's cursor). Every method is one unit of work, or joins the caller's transaction (the
 * alerts room writes its outbox rows here, together with its own bookkeeping). The implementation on
 * SQLite or PostgreSQL is sql-store.ts.
 */
import { createHash } from 'node:crypto';

export interface RoomEvent {
  event_id: string;
  type: string;
  sender: string;
  room_id?: string;
  origin_server_ts: number;
  content: Record<string, unknown>;
  unsigned?: Record<string, unknown>;
}

/** An accepted event: the durable inbox, and the record that its command ran. */
export interface InboxRow {
  eventId: string;
  roomId: string;
  sender: string;
  /** The event as received (JSON). */
  event: string;
  originServerTs: number;
  /** pending: not handled yet; running: a command started (never re-run); done: handled. */
  state: 'pending' | 'running' | 'done';
  /** The command words run for this event, if any. */
  command: string | null;
  receivedAt: Date;
}

/** A message to send, with its fixed transaction id. */
export interface OutboxRow {
  id: number;
  txnId: string;
  roomId: string;
  eventType: string;
  /** The content (JSON). */
  content: string;
  state: 'pending' | 'sent' | 'failed';
  attempts: number;
  nextAttemptAt: Date;
  /** The homeserver's id for the sent event. */
  eventId: string | null;
  lastError: string | null;
  createdAt: Date;
  sentAt: Date | null;
}

/** A destructive command waiting for its sender to confirm it. */
export interface ConfirmationRow {
  id: number;
  roomId: string;
  sender: string;
  /** The argv to run once confirmed (JSON). */
  argv: string;
  requestEventId: string;
  promptTxnId: string;
  expiresAt: Date;
  state: 'pending' | 'confirmed' | 'expired';
  code: string | null;
}

/** A message for the outbox: its transaction id makes queueing it twice a no-op. */
export interface OutgoingMessage {
  roomId: string;
  txnId: string;
  content: Record<string, unknown>;
  eventType?: string;
}

export interface NewConfirmation {
  roomId: string;
  sender: string;
  argv: string[] | { path: string[]; args: Record<string, unknown>; json: boolean; text: string };
  requestEventId: string;
  promptTxnId: string;
  expiresAt: Date;
  code: string;
}

/** A transaction id that is the same every time the same reply is produced, so a re-send is idempotent. */
export function txnIdFor(sourceEventId: string, purpose: string): string {
  return `labd.${purpose}.${createHash('sha256').update(`${sourceEventId}\u0000${purpose}`).digest('base64url').slice(0, 32)}`;
}

export interface BotStore {
  getState(key: string): Promise<string | undefined>;
  /** Sets (null: removes) a small value. */
  setState(key: string, value: string | null): Promise<void>;

  /** Records an event once, as pending; false when it was seen before. Resolves once it is stored. */
  accept(roomId: string, event: RoomEvent): Promise<boolean>;
  /** Pending events, oldest first. */
  pending(): Promise<InboxRow[]>;
  /** Events whose command started but whose outcome was never recorded (labd stopped mid-run). */
  interrupted(): Promise<InboxRow[]>;
  event(eventId: string): Promise<InboxRow | undefined>;
  /** Marks that a command starts for this event: from now on it is never run again. */
  markRunning(eventId: string, command: string): Promise<void>;
  /** Marks the event handled and queues its reply, as one unit. */
  finish(eventId: string, reply?: OutgoingMessage): Promise<void>;

  /** The oldest message still to send. */
  nextOutgoing(): Promise<OutboxRow | undefined>;
  outgoing(txnId: string): Promise<OutboxRow | undefined>;
  outgoingByEventId(eventId: string): Promise<OutboxRow | undefined>;
  markSent(id: number, eventId: string, at: Date): Promise<void>;
  markRetry(id: number, attempts: number, nextAttemptAt: Date, error: string): Promise<void>;
  markFailed(id: number, attempts: number, error: string): Promise<void>;
  /**
   * Queues a message (a command's progress, a notice, an alert post or edit); a transaction id
   * already queued is left as it is. Joins the caller's transaction.
   */
  queue(message: OutgoingMessage): Promise<void>;
  /**
   * Changes the content of a message nobody has tried to send yet (pending, no attempt): no
   * homeserver has seen its transaction id. False when it was tried (or is gone) meanwhile.
   */
  rewriteUntried(id: number, content: Record<string, unknown>): Promise<boolean>;
  /** Queues messages and sets a small value, as one unit (the announcer's batch and its cursor). */
  queueWithState(messages: OutgoingMessage[], state: { key: string; value: string }): Promise<void>;
  /** Messages waiting, and how long the oldest has waited (for /metrics: a stuck outbox). */
  outboxBacklog(now: Date): Promise<{ depth: number; oldestAgeSeconds: number }>;

  addConfirmation(c: NewConfirmation): Promise<void>;
  /** The confirmation whose question is the event `promptEventId` (learnt when the outbox delivered it), in any state. */
  confirmationFor(promptEventId: string): Promise<ConfirmationRow | undefined>;
  /** The newest confirmation in a room with this code, in any state (so a reused code gets a clear answer). */
  confirmationByCode(roomId: string, code: string): Promise<ConfirmationRow | undefined>;
  /** Closes a pending confirmation; false when it was closed already (so it runs at most once). */
  closeConfirmation(id: number, state: 'confirmed' | 'expired'): Promise<boolean>;
}
