/** The bot's store on SQLite or PostgreSQL (drizzle, one query set for both): each port method is one statement or one transaction. */
import { and, asc, count, desc, eq, min } from 'drizzle-orm';
import type { Clock } from '../core/clock.ts';
import type { SqlDb, SqlHandle } from '../db/sql.ts';
import type { BotStore, ConfirmationRow, InboxRow, NewConfirmation, OutboxRow, OutgoingMessage, RoomEvent } from './store.ts';

export class SqlBotStore implements BotStore {
  constructor(
    private readonly h: SqlHandle,
    private readonly clock: Clock,
  ) {}

  private async insertOutgoing(db: SqlDb, m: OutgoingMessage): Promise<void> {
    const { matrixOutbox } = this.h.t;
    await db
      .insert(matrixOutbox)
      .values({
        txnId: m.txnId,
        roomId: m.roomId,
        eventType: m.eventType ?? 'm.room.message',
        content: JSON.stringify(m.content),
        nextAttemptAt: this.clock.now(),
      })
      .onConflictDoNothing({ target: matrixOutbox.txnId });
  }

  private async upsertState(db: SqlDb, key: string, value: string): Promise<void> {
    const { matrixState } = this.h.t;
    await db.insert(matrixState).values({ key, value }).onConflictDoUpdate({ target: matrixState.key, set: { value } });
  }

  async getState(key: string): Promise<string | undefined> {
    const { matrixState } = this.h.t;
    return (await this.h.run((db) => db.select().from(matrixState).where(eq(matrixState.key, key)).limit(1)))[0]?.value;
  }

  async setState(key: string, value: string | null): Promise<void> {
    const { matrixState } = this.h.t;
    await this.h.run(async (db) => {
      if (value === null) await db.delete(matrixState).where(eq(matrixState.key, key));
      else await this.upsertState(db, key, value);
    });
  }

  /** Records an event once; false when it was seen before. */
  async accept(roomId: string, event: RoomEvent): Promise<boolean> {
    const { matrixEvents } = this.h.t;
    const inserted = await this.h.run((db) =>
      db
        .insert(matrixEvents)
        .values({
          eventId: event.event_id,
          roomId,
          sender: event.sender,
          event: JSON.stringify(event),
          originServerTs: event.origin_server_ts,
          state: 'pending',
        })
        .onConflictDoNothing({ target: matrixEvents.eventId })
        .returning({ eventId: matrixEvents.eventId }),
    );
    return inserted.length === 1;
  }

  async pending(): Promise<InboxRow[]> {
    const { matrixEvents } = this.h.t;
    return this.h.run((db) =>
      db
        .select()
        .from(matrixEvents)
        .where(eq(matrixEvents.state, 'pending'))
        .orderBy(asc(matrixEvents.originServerTs), asc(matrixEvents.receivedAt), asc(matrixEvents.eventId)),
    );
  }

  /** Events whose command started but whose outcome was never recorded (labd stopped mid-run). */
  async interrupted(): Promise<InboxRow[]> {
    const { matrixEvents } = this.h.t;
    return this.h.run((db) =>
      db.select().from(matrixEvents).where(eq(matrixEvents.state, 'running')).orderBy(asc(matrixEvents.originServerTs), asc(matrixEvents.eventId)),
    );
  }

  async event(eventId: string): Promise<InboxRow | undefined> {
    const { matrixEvents } = this.h.t;
    return (await this.h.run((db) => db.select().from(matrixEvents).where(eq(matrixEvents.eventId, eventId)).limit(1)))[0];
  }

  /** Marks that a command starts for this event: from now on it is never run again. */
  async markRunning(eventId: string, command: string): Promise<void> {
    const { matrixEvents } = this.h.t;
    await this.h.run((db) => db.update(matrixEvents).set({ state: 'running', command }).where(eq(matrixEvents.eventId, eventId)));
  }

  /** Marks the event handled and queues its reply, in one transaction. */
  async finish(eventId: string, reply?: OutgoingMessage): Promise<void> {
    const { matrixEvents } = this.h.t;
    await this.h.transaction(async (db) => {
      if (reply) await this.insertOutgoing(db, reply);
      await db.update(matrixEvents).set({ state: 'done' }).where(eq(matrixEvents.eventId, eventId));
    });
  }

  async nextOutgoing(): Promise<OutboxRow | undefined> {
    const { matrixOutbox } = this.h.t;
    return (await this.h.run((db) => db.select().from(matrixOutbox).where(eq(matrixOutbox.state, 'pending')).orderBy(asc(matrixOutbox.id)).limit(1)))[0];
  }

  async outgoing(txnId: string): Promise<OutboxRow | undefined> {
    const { matrixOutbox } = this.h.t;
    return (await this.h.run((db) => db.select().from(matrixOutbox).where(eq(matrixOutbox.txnId, txnId)).limit(1)))[0];
  }

  async outgoingByEventId(eventId: string): Promise<OutboxRow | undefined> {
    const { matrixOutbox } = this.h.t;
    return (await this.h.run((db) => db.select().from(matrixOutbox).where(eq(matrixOutbox.eventId, eventId)).limit(1)))[0];
  }

  async markSent(id: number, eventId: string, at: Date): Promise<void> {
    const { matrixOutbox } = this.h.t;
    await this.h.run((db) => db.update(matrixOutbox).set({ state: 'sent', eventId, sentAt: at, lastError: null }).where(eq(matrixOutbox.id, id)));
  }

  async markRetry(id: number, attempts: number, nextAttemptAt: Date, error: string): Promise<void> {
    const { matrixOutbox } = this.h.t;
    await this.h.run((db) =>
      db
        .update(matrixOutbox)
        .set({ attempts, nextAttemptAt, lastError: error.slice(0, 500) })
        .where(eq(matrixOutbox.id, id)),
    );
  }

  async markFailed(id: number, attempts: number, error: string): Promise<void> {
    const { matrixOutbox } = this.h.t;
    await this.h.run((db) =>
      db
        .update(matrixOutbox)
        .set({ state: 'failed', attempts, lastError: error.slice(0, 500) })
        .where(eq(matrixOutbox.id, id)),
    );
  }

  /** Queues a message (a command's progress, a notice, an alert post or edit); joins the caller's transaction. */
  async queue(message: OutgoingMessage): Promise<void> {
    await this.h.run((db) => this.insertOutgoing(db, message));
  }

  /** Changes the content of a message nobody has tried to send yet; false when it was tried (or is gone) meanwhile. */
  async rewriteUntried(id: number, content: Record<string, unknown>): Promise<boolean> {
    const { matrixOutbox } = this.h.t;
    const changed = await this.h.run((db) =>
      db
        .update(matrixOutbox)
        .set({ content: JSON.stringify(content) })
        .where(and(eq(matrixOutbox.id, id), eq(matrixOutbox.state, 'pending'), eq(matrixOutbox.attempts, 0)))
        .returning({ id: matrixOutbox.id }),
    );
    return changed.length === 1;
  }

  async queueWithState(messages: OutgoingMessage[], state: { key: string; value: string }): Promise<void> {
    await this.h.transaction(async (db) => {
      for (const m of messages) await this.insertOutgoing(db, m);
      await this.upsertState(db, state.key, state.value);
    });
  }

  async outboxBacklog(now: Date): Promise<{ depth: number; oldestAgeSeconds: number }> {
    const { matrixOutbox } = this.h.t;
    const row = (
      await this.h.run((db) =>
        db
          .select({ n: count(), oldest: min(matrixOutbox.createdAt) })
          .from(matrixOutbox)
          .where(eq(matrixOutbox.state, 'pending')),
      )
    )[0];
    const oldest = row?.oldest ?? null;
    return { depth: row?.n ?? 0, oldestAgeSeconds: oldest === null ? 0 : Math.max(0, (now.getTime() - oldest.getTime()) / 1000) };
  }

  async addConfirmation(c: NewConfirmation): Promise<void> {
    const { matrixConfirmations } = this.h.t;
    await this.h.run((db) =>
      db
        .insert(matrixConfirmations)
        .values({ ...c, argv: JSON.stringify(c.argv) })
        .onConflictDoNothing({ target: matrixConfirmations.promptTxnId }),
    );
  }

  /** The confirmation whose question is the event `promptEventId` (learnt when the outbox delivered it), in any state. */
  async confirmationFor(promptEventId: string): Promise<ConfirmationRow | undefined> {
    const { matrixConfirmations, matrixOutbox } = this.h.t;
    return this.h.run(async (db) => {
      const prompt = (await db.select().from(matrixOutbox).where(eq(matrixOutbox.eventId, promptEventId)).limit(1))[0];
      if (!prompt) return undefined;
      return (await db.select().from(matrixConfirmations).where(eq(matrixConfirmations.promptTxnId, prompt.txnId)).limit(1))[0];
    });
  }

  /** The newest confirmation in a room with this code, in any state (so a reused code gets a clear answer). */
  async confirmationByCode(roomId: string, code: string): Promise<ConfirmationRow | undefined> {
    const { matrixConfirmations } = this.h.t;
    return (
      await this.h.run((db) =>
        db
          .select()
          .from(matrixConfirmations)
          .where(and(eq(matrixConfirmations.roomId, roomId), eq(matrixConfirmations.code, code)))
          .orderBy(desc(matrixConfirmations.id))
          .limit(1),
      )
    )[0];
  }

  /** Closes a pending confirmation; false when it was closed already (so it runs at most once). */
  async closeConfirmation(id: number, state: 'confirmed' | 'expired'): Promise<boolean> {
    const { matrixConfirmations } = this.h.t;
    const closed = await this.h.run((db) =>
      db
        .update(matrixConfirmations)
        .set({ state })
        .where(and(eq(matrixConfirmations.id, id), eq(matrixConfirmations.state, 'pending')))
        .returning({ id: matrixConfirmations.id }),
    );
    return closed.length === 1;
  }
}
