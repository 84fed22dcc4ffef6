/**
 * The alerts room's bookkeeping, as a port: which message shows which alert group, and the outbox
 * rows that post and edit it, written as one unit with the mapping. Every row has a fixed
 * transaction id (post: per group; edit: per group and revision; escalation: per group and firing
 * episode), so each goes out exactly once. An edit waiting unsent is rewritten in place rather
 * than followed by another edit, so a burst of changes costs one edit. The SQLite implementation
 * is sqlite-alert-store.ts.
 */
import { createHash } from 'node:crypto';
import type { matrixAlertMessages } from '../db/schema.ts';

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

export interface AlertMessageStore {
  message(groupId: number): Promise<AlertMessageRow | undefined>;
  /** The alert message whose post is the event `eventId` (learning its id from the outbox if needed). */
  messageByEventId(eventId: string): Promise<AlertMessageRow | undefined>;
  /** The outbox delivered a row: remember the event id if it was an alert post. */
  delivered(txnId: string, eventId: string): Promise<void>;
  /** Messages that were posted, for the escalation check. */
  all(): Promise<AlertMessageRow[]>;
  /**
   * Queues the group's current content: a post the first time, otherwise an edit (or a rewrite of
   * an edit nobody has tried to send yet). `inFlight` is the outbox row being sent right now.
   */
  queue(groupId: number, roomId: string, content: QueuedContent, inFlight: number | undefined): Promise<QueueOutcome>;
  /** Queues the escalation of one firing episode, once. False when it was queued before. */
  escalate(groupId: number, episode: number, content: (target: string) => Record<string, unknown>): Promise<boolean>;
}
