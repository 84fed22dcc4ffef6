/**
 * The alerts room's bookkeeping: which message shows which alert group, and the outbox rows that
 * post and edit it, written in one transaction with the mapping. Every row has a fixed transaction
 * id (post: per group; edit: per group and revision; escalation: per group and firing episode), so
 * each goes out exactly once. An edit waiting unsent is rewritten in place rather than followed by
 * another edit, so a burst of changes costs one edit.
 */
import { createHash } from 'node:crypto';
import { and, eq, isNotNull } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { matrixAlertMessages, matrixOutbox } from '../db/schema.ts';
import { TXN_REF } from './outbox.ts';
import { txnIdFor } from './store.ts';

export type AlertMessageRow = typeof matrixAlertMessages.$inferSelect;

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

export class AlertMessageStore {
  constructor(private readonly db: Db) {}

  message(groupId: number): AlertMessageRow | undefined {
    return this.db.select().from(matrixAlertMessages).where(eq(matrixAlertMessages.groupId, groupId)).get();
  }

  /** The alert message whose post is the event `eventId` (learning its id from the outbox if needed). */
  messageByEventId(eventId: string): AlertMessageRow | undefined {
    const known = this.db.select().from(matrixAlertMessages).where(eq(matrixAlertMessages.eventId, eventId)).get();
    if (known) return known;
    const sent = this.db.select({ txnId: matrixOutbox.txnId }).from(matrixOutbox).where(eq(matrixOutbox.eventId, eventId)).get();
    if (!sent) return undefined;
    const row = this.db.select().from(matrixAlertMessages).where(eq(matrixAlertMessages.postTxnId, sent.txnId)).get();
    if (row) this.db.update(matrixAlertMessages).set({ eventId }).where(eq(matrixAlertMessages.groupId, row.groupId)).run();
    return row ? { ...row, eventId } : undefined;
  }

  /** The outbox delivered a row: remember the event id if it was an alert post. */
  delivered(txnId: string, eventId: string): void {
    this.db.update(matrixAlertMessages).set({ eventId }).where(eq(matrixAlertMessages.postTxnId, txnId)).run();
  }

  /** Messages that were posted, for the escalation check. */
  all(): AlertMessageRow[] {
    return this.db.select().from(matrixAlertMessages).where(isNotNull(matrixAlertMessages.postTxnId)).all();
  }

  /**
   * Queues the group's current content: a post the first time, otherwise an edit (or a rewrite of
   * an edit nobody has tried to send yet). `inFlight` is the outbox row being sent right now.
   */
  queue(groupId: number, roomId: string, content: QueuedContent, inFlight: number | undefined): QueueOutcome {
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
  escalate(groupId: number, episode: number, content: (target: string) => Record<string, unknown>): boolean {
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
