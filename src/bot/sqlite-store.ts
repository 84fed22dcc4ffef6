/** The bot's store on SQLite (drizzle): each port method is one statement or one transaction. */
import { and, asc, desc, eq, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { matrixConfirmations, matrixEvents, matrixOutbox, matrixState } from '../db/schema.ts';
import type { BotStore, ConfirmationRow, InboxRow, NewConfirmation, OutboxRow, OutgoingMessage, RoomEvent } from './store.ts';

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

function insertOutgoing(tx: Tx | Db, m: OutgoingMessage): void {
  tx.insert(matrixOutbox)
    .values({ txnId: m.txnId, roomId: m.roomId, eventType: m.eventType ?? 'm.room.message', content: JSON.stringify(m.content), nextAttemptAt: new Date() })
    .onConflictDoNothing()
    .run();
}

function upsertState(tx: Tx | Db, key: string, value: string): void {
  tx.insert(matrixState).values({ key, value }).onConflictDoUpdate({ target: matrixState.key, set: { value } }).run();
}

export class SqliteBotStore implements BotStore {
  constructor(private readonly db: Db) {}

  async getState(key: string): Promise<string | undefined> {
    return this.db.select().from(matrixState).where(eq(matrixState.key, key)).get()?.value;
  }

  async setState(key: string, value: string | null): Promise<void> {
    if (value === null) this.db.delete(matrixState).where(eq(matrixState.key, key)).run();
    else upsertState(this.db, key, value);
  }

  /** Records an event once; false when it was seen before. */
  async accept(roomId: string, event: RoomEvent): Promise<boolean> {
    const r = this.db
      .insert(matrixEvents)
      .values({ eventId: event.event_id, roomId, sender: event.sender, event: JSON.stringify(event), originServerTs: event.origin_server_ts, state: 'pending' })
      .onConflictDoNothing()
      .run();
    return r.changes === 1;
  }

  async pending(): Promise<InboxRow[]> {
    return this.db
      .select()
      .from(matrixEvents)
      .where(eq(matrixEvents.state, 'pending'))
      .orderBy(asc(matrixEvents.originServerTs), asc(matrixEvents.receivedAt))
      .all();
  }

  /** Events whose command started but whose outcome was never recorded (labd stopped mid-run). */
  async interrupted(): Promise<InboxRow[]> {
    return this.db.select().from(matrixEvents).where(eq(matrixEvents.state, 'running')).all();
  }

  async event(eventId: string): Promise<InboxRow | undefined> {
    return this.db.select().from(matrixEvents).where(eq(matrixEvents.eventId, eventId)).get();
  }

  /** Marks that a command starts for this event: from now on it is never run again. */
  async markRunning(eventId: string, command: string): Promise<void> {
    this.db.update(matrixEvents).set({ state: 'running', command }).where(eq(matrixEvents.eventId, eventId)).run();
  }

  /** Marks the event handled and queues its reply, in one transaction. */
  async finish(eventId: string, reply?: OutgoingMessage): Promise<void> {
    this.db.transaction((tx) => {
      if (reply) insertOutgoing(tx, reply);
      tx.update(matrixEvents).set({ state: 'done' }).where(eq(matrixEvents.eventId, eventId)).run();
    });
  }

  async nextOutgoing(): Promise<OutboxRow | undefined> {
    return this.db.select().from(matrixOutbox).where(eq(matrixOutbox.state, 'pending')).orderBy(asc(matrixOutbox.id)).limit(1).get();
  }

  async outgoing(txnId: string): Promise<OutboxRow | undefined> {
    return this.db.select().from(matrixOutbox).where(eq(matrixOutbox.txnId, txnId)).get();
  }

  async outgoingByEventId(eventId: string): Promise<OutboxRow | undefined> {
    return this.db.select().from(matrixOutbox).where(eq(matrixOutbox.eventId, eventId)).get();
  }

  async markSent(id: number, eventId: string, at: Date): Promise<void> {
    this.db.update(matrixOutbox).set({ state: 'sent', eventId, sentAt: at, lastError: null }).where(eq(matrixOutbox.id, id)).run();
  }

  async markRetry(id: number, attempts: number, nextAttemptAt: Date, error: string): Promise<void> {
    this.db
      .update(matrixOutbox)
      .set({ attempts, nextAttemptAt, lastError: error.slice(0, 500) })
      .where(eq(matrixOutbox.id, id))
      .run();
  }

  async markFailed(id: number, attempts: number, error: string): Promise<void> {
    this.db
      .update(matrixOutbox)
      .set({ state: 'failed', attempts, lastError: error.slice(0, 500) })
      .where(eq(matrixOutbox.id, id))
      .run();
  }

  /** Queues a message while its event is still being handled (a command's progress). */
  async queue(message: OutgoingMessage): Promise<void> {
    insertOutgoing(this.db, message);
  }

  async queueWithState(messages: OutgoingMessage[], state: { key: string; value: string }): Promise<void> {
    this.db.transaction((tx) => {
      for (const m of messages) insertOutgoing(tx, m);
      upsertState(tx, state.key, state.value);
    });
  }

  async outboxBacklog(now: Date): Promise<{ depth: number; oldestAgeSeconds: number }> {
    const row = this.db
      .select({ n: sql<number>`count(*)`, oldest: sql<number | null>`min(${matrixOutbox.createdAt})` })
      .from(matrixOutbox)
      .where(eq(matrixOutbox.state, 'pending'))
      .get();
    const oldest = row?.oldest ?? null;
    return { depth: row?.n ?? 0, oldestAgeSeconds: oldest === null ? 0 : Math.max(0, (now.getTime() - Number(oldest)) / 1000) };
  }

  async addConfirmation(c: NewConfirmation): Promise<void> {
    this.db
      .insert(matrixConfirmations)
      .values({ ...c, argv: JSON.stringify(c.argv) })
      .onConflictDoNothing()
      .run();
  }

  /** The confirmation whose question is the event `promptEventId` (learnt when the outbox delivered it), in any state. */
  async confirmationFor(promptEventId: string): Promise<ConfirmationRow | undefined> {
    const prompt = this.db.select().from(matrixOutbox).where(eq(matrixOutbox.eventId, promptEventId)).get();
    if (!prompt) return undefined;
    return this.db.select().from(matrixConfirmations).where(eq(matrixConfirmations.promptTxnId, prompt.txnId)).get();
  }

  /** The newest confirmation in a room with this code, in any state (so a reused code gets a clear answer). */
  async confirmationByCode(roomId: string, code: string): Promise<ConfirmationRow | undefined> {
    return this.db
      .select()
      .from(matrixConfirmations)
      .where(and(eq(matrixConfirmations.roomId, roomId), eq(matrixConfirmations.code, code)))
      .orderBy(desc(matrixConfirmations.id))
      .get();
  }

  /** Closes a pending confirmation; false when it was closed already (so it runs at most once). */
  async closeConfirmation(id: number, state: 'confirmed' | 'expired'): Promise<boolean> {
    return (
      this.db
        .update(matrixConfirmations)
        .set({ state })
        .where(and(eq(matrixConfirmations.id, id), eq(matrixConfirmations.state, 'pending')))
        .run().changes === 1
    );
  }
}
