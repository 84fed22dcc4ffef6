/** The alerts room's bookkeeping on SQLite (drizzle): the mapping and its outbox rows change in one transaction. */
import { and, eq, isNotNull } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { matrixAlertMessages, matrixOutbox } from '../db/schema.ts';
import { contentHash, type AlertMessageRow, type AlertMessageStore, type QueuedContent, type QueueOutcome } from './alert-store.ts';
import { TXN_REF } from './outbox.ts';
import { txnIdFor } from './store.ts';

export class SqliteAlertMessageStore implements AlertMessageStore {
  constructor(private readonly db: Db) {}

  async message(groupId: number): Promise<AlertMessageRow | undefined> {
    return this.db.select().from(matrixAlertMessages).where(eq(matrixAlertMessages.groupId, groupId)).get();
  }

  /** The alert message whose post is the event `eventId` (learning its id from the outbox if needed). */
  async messageByEventId(eventId: string): Promise<AlertMessageRow | undefined> {
    const known = this.db.select().from(matrixAlertMessages).where(eq(matrixAlertMessages.eventId, eventId)).get();
    if (known) return known;
    const sent = this.db.select({ txnId: matrixOutbox.txnId }).from(matrixOutbox).where(eq(matrixOutbox.eventId, eventId)).get();
    if (!sent) return undefined;
    const row = this.db.select().from(matrixAlertMessages).where(eq(matrixAlertMessages.postTxnId, sent.txnId)).get();
    if (row) this.db.update(matrixAlertMessages).set({ eventId }).where(eq(matrixAlertMessages.groupId, row.groupId)).run();
    return row ? { ...row, eventId } : undefined;
  }

  /** The outbox delivered a row: remember the event id if it was an alert post. */
  async delivered(txnId: string, eventId: string): Promise<void> {
    this.db.update(matrixAlertMessages).set({ eventId }).where(eq(matrixAlertMessages.postTxnId, txnId)).run();
  }

  /** Messages that were posted, for the escalation check. */
  async all(): Promise<AlertMessageRow[]> {
    return this.db.select().from(matrixAlertMessages).where(isNotNull(matrixAlertMessages.postTxnId)).all();
  }

  /**
   * Queues the group's current content: a post the first time, otherwise an edit (or a rewrite of
   * an edit nobody has tried to send yet). `inFlight` is the outbox row being sent right now.
   */
  async queue(groupId: number, roomId: string, content: QueuedContent, inFlight: number | undefined): Promise<QueueOutcome> {
    const hash = contentHash(content.post);
    return this.db.transaction((tx) => {
      const existing = tx.select().from(matrixAlertMessages).where(eq(matrixAlertMessages.groupId, groupId)).get();
      if (!existing) {
        const postTxnId = txnIdFor(`alert-group:${groupId}`, 'alert-post');
        tx.insert(matrixOutbox)
          .values({ txnId: postTxnId, roomId, eventType: 'm.room.message', content: JSON.stringify(content.post), nextAttemptAt: new Date() })
          .onConflictDoNothing()
          .run();
        tx.insert(matrixAlertMessages).values({ groupId, roomId: roomId, postTxnId, lastTxnId: postTxnId, renderedHash: hash }).run();
        return 'posted';
      }
      if (existing.renderedHash === hash) return 'unchanged';
      const last = tx.select().from(matrixOutbox).where(eq(matrixOutbox.txnId, existing.lastTxnId)).get();
      if (last && last.state === 'pending' && last.attempts === 0 && last.id !== inFlight) {
        // Never tried: no homeserver has seen this transaction id, so its content may still change.
        const replacement = last.txnId === existing.postTxnId ? content.post : content.edit(TXN_REF + existing.postTxnId);
        tx.update(matrixOutbox)
          .set({ content: JSON.stringify(replacement) })
          .where(eq(matrixOutbox.id, last.id))
          .run();
        tx.update(matrixAlertMessages).set({ renderedHash: hash }).where(eq(matrixAlertMessages.groupId, groupId)).run();
        return 'rewritten';
      }
      const revision = existing.revision + 1;
      const txnId = txnIdFor(`alert-group:${groupId}:${revision}`, 'alert-edit');
      tx.insert(matrixOutbox)
        .values({
          txnId,
          roomId: existing.roomId,
          eventType: 'm.room.message',
          content: JSON.stringify(content.edit(TXN_REF + existing.postTxnId)),
          nextAttemptAt: new Date(),
        })
        .onConflictDoNothing()
        .run();
      tx.update(matrixAlertMessages).set({ revision, lastTxnId: txnId, renderedHash: hash }).where(eq(matrixAlertMessages.groupId, groupId)).run();
      return 'edited';
    });
  }

  /** Queues the escalation of one firing episode, once. False when it was queued before. */
  async escalate(groupId: number, episode: number, content: (target: string) => Record<string, unknown>): Promise<boolean> {
    return this.db.transaction((tx) => {
      const row = tx.select().from(matrixAlertMessages).where(eq(matrixAlertMessages.groupId, groupId)).get();
      if (!row || row.escalatedFor === episode) return false;
      const txnId = txnIdFor(`alert-group:${groupId}:${episode}`, 'alert-escalation');
      tx.insert(matrixOutbox)
        .values({
          txnId,
          roomId: row.roomId,
          eventType: 'm.room.message',
          content: JSON.stringify(content(TXN_REF + row.postTxnId)),
          nextAttemptAt: new Date(),
        })
        .onConflictDoNothing()
        .run();
      tx.update(matrixAlertMessages)
        .set({ escalatedFor: episode })
        .where(and(eq(matrixAlertMessages.groupId, groupId)))
        .run();
      return true;
    });
  }
}
