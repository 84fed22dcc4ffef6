/**
 * The bot's durable state, as a port: the inbox of accepted events (processed ids), the outbox of
 * messages to send, confirmations of destructive commands, and small values (the sync token, the
 * announcer's cursor). Every method is one unit of work; the SQLite implementation is
 * sqlite-store.ts.
 */
import { createHash } from 'node:crypto';
import type { matrixConfirmations, matrixEvents, matrixOutbox } from '../db/schema.ts';

export interface RoomEvent {
  event_id: string;
  type: string;
  sender: string;
  room_id?: string;
  origin_server_ts: number;
  content: Record<string, unknown>;
  unsigned?: Record<string, unknown>;
}

export type InboxRow = typeof matrixEvents.$inferSelect;
export type OutboxRow = typeof matrixOutbox.$inferSelect;
export type ConfirmationRow = typeof matrixConfirmations.$inferSelect;

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
  /** Queues a message while its event is still being handled (a command's progress). */
  queue(message: OutgoingMessage): Promise<void>;
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
