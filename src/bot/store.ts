/**
 * The bot's durable state in SQLite: the inbox of accepted events (processed ids), the outbox of
 * messages to send, confirmations of destructive commands, and the sync token.
 */
import { createHash } from 'node:crypto';
import { and, asc, desc, eq, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { matrixConfirmations, matrixEvents, matrixOutbox, matrixState } from '../db/schema.ts';

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

/** A transaction id that is the same every time the same reply is produced, so a re-send is idempotent. */
export function txnIdFor(sourceEventId: string, purpose: string): string {
  return `labd.${purpose}.${createHash('sha256').update(`${sourceEventId}\u0000${purpose}`).digest('base64url').slice(0, 32)}`;
}

export class BotStore {
  constructor(private readonly db: Db) {}

  getState(key: string): string | undefined {
    return this.db.select().from(matrixState).where(eq(matrixState.key, key)).get()?.value;
  }

  setState(key: string, value: string | null): void {
    if (value === null) this.db.delete(matrixState).where(eq(matrixState.key, key)).run();
    else this.db.insert(matrixState).values({ key, value }).onConflictDoUpdate({ target: matrixState.key, set: { value } }).run();
  }

  /** Records an event once; false when it was seen before. */
  accept(roomId: string, event: RoomEvent): boolean {
    const r = this.db
      .insert(matrixEvents)
      .values({ eventId: event.event_id, roomId, sender: event.sender, event: JSON.stringify(event), originServerTs: event.origin_server_ts, state: 'pending' })
      .onConflictDoNothing()
      .run();
    return r.changes === 1;
  }

  pending(): InboxRow[] {
    return this.db
      .select()
      .from(matrixEvents)
      .where(eq(matrixEvents.state, 'pending'))
      .orderBy(asc(matrixEvents.originServerTs), asc(matrixEvents.receivedAt))
      .all();
  }

  /** Events whose command started but whose outcome was never recorded (labd stopped mid-run). */
  interrupted(): InboxRow[] {
    return this.db.select().from(matrixEvents).where(eq(matrixEvents.state, 'running')).all();
  }

  event(eventId: string): InboxRow | undefined {
    return this.db.select().from(matrixEvents).where(eq(matrixEvents.eventId, eventId)).get();
  }

  /** Marks that a command starts for this event: from now on it is never run again. */
  markRunning(eventId: string, command: string): void {
    this.db.update(matrixEvents).set({ state: 'running', command }).where(eq(matrixEvents.eventId, eventId)).run();
  }

  /** Marks the event handled and queues its reply, in one transaction. */
  finish(eventId: string, reply?: { roomId: string; txnId: string; content: Record<string, unknown>; eventType?: string }): void {
    this.db.transaction((tx) => {
      if (reply) {
        tx.insert(matrixOutbox)
          .values({
            txnId: reply.txnId,
            roomId: reply.roomId,
            eventType: reply.eventType ?? 'm.room.message',
            content: JSON.stringify(reply.content),
            nextAttemptAt: new Date(),
          })
          .onConflictDoNothing()
          .run();
      }
      tx.update(matrixEvents).set({ state: 'done' }).where(eq(matrixEvents.eventId, eventId)).run();
    });
  }

  nextOutgoing(): OutboxRow | undefined {
    return this.db.select().from(matrixOutbox).where(eq(matrixOutbox.state, 'pending')).orderBy(asc(matrixOutbox.id)).limit(1).get();
  }

  outgoing(txnId: string): OutboxRow | undefined {
    return this.db.select().from(matrixOutbox).where(eq(matrixOutbox.txnId, txnId)).get();
  }

  outgoingByEventId(eventId: string): OutboxRow | undefined {
    return this.db.select().from(matrixOutbox).where(eq(matrixOutbox.eventId, eventId)).get();
  }

  markSent(id: number, eventId: string, at: Date): void {
    this.db.update(matrixOutbox).set({ state: 'sent', eventId, sentAt: at, lastError: null }).where(eq(matrixOutbox.id, id)).run();
  }

  markRetry(id: number, attempts: number, nextAttemptAt: Date, error: string): void {
    this.db
      .update(matrixOutbox)
      .set({ attempts, nextAttemptAt, lastError: error.slice(0, 500) })
      .where(eq(matrixOutbox.id, id))
      .run();
  }

  markFailed(id: number, attempts: number, error: string): void {
    this.db
      .update(matrixOutbox)
      .set({ state: 'failed', attempts, lastError: error.slice(0, 500) })
      .where(eq(matrixOutbox.id, id))
      .run();
  }

  /** Queues a message while its event is still being handled (a command's progress). */
  queue(reply: { roomId: string; txnId: string; content: Record<string, unknown>; eventType?: string }): void {
    this.db
      .insert(matrixOutbox)
      .values({
        txnId: reply.txnId,
        roomId: reply.roomId,
        eventType: reply.eventType ?? 'm.room.message',
        content: JSON.stringify(reply.content),
        nextAttemptAt: new Date(),
      })
      .onConflictDoNothing()
      .run();
  }

  addConfirmation(c: {
    roomId: string;
    sender: string;
    argv: string[] | { path: string[]; args: Record<string, unknown>; json: boolean; text: string };
    requestEventId: string;
    promptTxnId: string;
    expiresAt: Date;
    code: string;
  }): void {
    this.db
      .insert(matrixConfirmations)
      .values({ ...c, argv: JSON.stringify(c.argv) })
      .onConflictDoNothing()
      .run();
  }

  /** The confirmation whose question is the event `promptEventId` (learnt when the outbox delivered it), in any state. */
  confirmationFor(promptEventId: string): ConfirmationRow | undefined {
    const prompt = this.outgoingByEventId(promptEventId);
    if (!prompt) return undefined;
    return this.db.select().from(matrixConfirmations).where(eq(matrixConfirmations.promptTxnId, prompt.txnId)).get();
  }

  /** The newest confirmation in a room with this code, in any state (so a reused code gets a clear answer). */
  confirmationByCode(roomId: string, code: string): ConfirmationRow | undefined {
    return this.db
      .select()
      .from(matrixConfirmations)
      .where(and(eq(matrixConfirmations.roomId, roomId), eq(matrixConfirmations.code, code)))
      .orderBy(desc(matrixConfirmations.id))
      .get();
  }

  /** Closes a pending confirmation; false when it was closed already (so it runs at most once). */
  closeConfirmation(id: number, state: 'confirmed' | 'expired'): boolean {
    return (
      this.db
        .update(matrixConfirmations)
        .set({ state })
        .where(and(eq(matrixConfirmations.id, id), eq(matrixConfirmations.state, 'pending')))
        .run().changes === 1
    );
  }
}

/** Messages waiting in the Matrix outbox, and how long the oldest has waited (for /metrics: a stuck outbox). */
export function outboxBacklog(db: Db, now: Date): { depth: number; oldestAgeSeconds: number } {
  const row = db
    .select({ n: sql<number>`count(*)`, oldest: sql<number | null>`min(${matrixOutbox.createdAt})` })
    .from(matrixOutbox)
    .where(eq(matrixOutbox.state, 'pending'))
    .get();
  const oldest = row?.oldest ?? null;
  return { depth: row?.n ?? 0, oldestAgeSeconds: oldest === null ? 0 : Math.max(0, (now.getTime() - Number(oldest)) / 1000) };
}
