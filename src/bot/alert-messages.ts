/**
 * The alerts room's messages and the outbox rows that post and edit them, written together: the
 * message bookkeeping is the alert-message store's, the outbox the bot store's, and each change to
 * both commits in one transaction (Transactions, src/ops/storage.ts), or neither does. Every row has
 * a fixed transaction id (post: per group; edit: per group and revision; escalation: per group and
 * firing episode), so each goes out exactly once. An edit waiting unsent is rewritten in place
 * rather than followed by another edit, so a burst of changes costs one edit.
 */
import type { Transactions } from '../ops/storage.ts';
import { contentHash, type AlertMessageRow, type AlertMessageStore, type QueuedContent, type QueueOutcome } from './alert-store.ts';
import { TXN_REF } from './outbox.ts';
import { txnIdFor, type BotStore } from './store.ts';

export interface AlertMessagesOptions {
  messages: AlertMessageStore;
  outbox: Pick<BotStore, 'queue' | 'outgoing' | 'outgoingByEventId' | 'rewriteUntried'>;
  transactions: Transactions;
}

export class AlertMessages {
  constructor(private readonly o: AlertMessagesOptions) {}

  message(groupId: number): Promise<AlertMessageRow | undefined> {
    return this.o.messages.message(groupId);
  }

  /** Messages that were posted, for the escalation check. */
  all(): Promise<AlertMessageRow[]> {
    return this.o.messages.all();
  }

  /** The outbox delivered a row: remember the event id if it was an alert post. */
  delivered(txnId: string, eventId: string): Promise<void> {
    return this.o.messages.delivered(txnId, eventId);
  }

  /** The alert message whose post is the event `eventId` (learning its id from the outbox if needed). */
  async messageByEventId(eventId: string): Promise<AlertMessageRow | undefined> {
    const { messages, outbox } = this.o;
    const known = await messages.messageByEventId(eventId);
    if (known) return known;
    const sent = await outbox.outgoingByEventId(eventId);
    const row = sent ? await messages.messageByPostTxnId(sent.txnId) : undefined;
    if (!row) return undefined;
    await messages.delivered(row.postTxnId, eventId);
    return { ...row, eventId };
  }

  /**
   * Queues the group's current content: a post the first time, otherwise an edit (or a rewrite of
   * an edit nobody has tried to send yet). `inFlight` tells the outbox row being sent right now; it
   * is asked inside the transaction, just before an untried row would be rewritten.
   */
  async queue(groupId: number, roomId: string, content: QueuedContent, inFlight: () => number | undefined): Promise<QueueOutcome> {
    const { messages, outbox, transactions } = this.o;
    const hash = contentHash(content.post);
    let rewrote: { id: number; txnId: string } | undefined;
    const outcome = await transactions.write(async (): Promise<QueueOutcome> => {
      // Another replica may be queuing this group's message now (the leader catching up, a follower
      // that took the webhook): one at a time, each reading what the other committed.
      await messages.lockGroup(groupId);
      const existing = await messages.message(groupId);
      if (!existing) {
        const postTxnId = txnIdFor(`alert-group:${groupId}`, 'alert-post');
        await outbox.queue({ txnId: postTxnId, roomId, content: content.post });
        await messages.add({ groupId, roomId, postTxnId, renderedHash: hash });
        return 'posted';
      }
      if (existing.renderedHash === hash) return 'unchanged';
      const last = await outbox.outgoing(existing.lastTxnId);
      if (last && last.state === 'pending' && last.attempts === 0 && last.id !== inFlight()) {
        // Never tried: no homeserver has seen this transaction id, so its content may still change.
        const replacement = last.txnId === existing.postTxnId ? content.post : content.edit(TXN_REF + existing.postTxnId);
        if (await outbox.rewriteUntried(last.id, replacement)) {
          await messages.rendered(groupId, hash);
          rewrote = { id: last.id, txnId: last.txnId };
          return 'rewritten';
        }
      }
      await this.edit(groupId, content, hash);
      return 'edited';
    });
    if (!rewrote) return outcome;
    // The sender reads a row without waiting for this transaction (PostgreSQL reads what is committed):
    // if it took the row before the rewrite committed, it may be sending the old content. Taken or
    // tried since: an edit follows, with the content just written (at worst, one edit too many).
    const after = await outbox.outgoing(rewrote.txnId);
    if (inFlight() !== rewrote.id && after?.state === 'pending' && after.attempts === 0) return outcome;
    await transactions.write(async () => {
      await messages.lockGroup(groupId);
      await this.edit(groupId, content, hash);
    });
    return 'edited';
  }

  /** Queues an edit of the group's message showing `content`, as its next revision (inside the caller's transaction). */
  private async edit(groupId: number, content: QueuedContent, hash: string): Promise<void> {
    const { messages, outbox } = this.o;
    const existing = await messages.message(groupId);
    if (!existing) return;
    const revision = existing.revision + 1;
    const txnId = txnIdFor(`alert-group:${groupId}:${revision}`, 'alert-edit');
    await outbox.queue({ txnId, roomId: existing.roomId, content: content.edit(TXN_REF + existing.postTxnId) });
    await messages.revised(groupId, revision, txnId, hash);
  }

  /** Queues the escalation of one firing episode, once. False when it was queued before (or the group has no message). */
  async escalate(groupId: number, episode: number, content: (target: string) => Record<string, unknown>): Promise<boolean> {
    const { messages, outbox, transactions } = this.o;
    return transactions.write(async () => {
      await messages.lockGroup(groupId);
      const row = await messages.message(groupId);
      if (!row || !(await messages.markEscalated(groupId, episode))) return false;
      const txnId = txnIdFor(`alert-group:${groupId}:${episode}`, 'alert-escalation');
      await outbox.queue({ txnId, roomId: row.roomId, content: content(TXN_REF + row.postTxnId) });
      return true;
    });
  }
}
