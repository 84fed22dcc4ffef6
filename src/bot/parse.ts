/**
 * Reads what a Matrix message asks of the bot: a `!lab COMMAND …` line, or `!lab confirm CODE`
 * for a destructive command waiting for its asker. Replies may carry a quoted fallback (leading
 * `> ` lines, `<mx-reply>`), and edits carry a "* " fallback body with the real text in
 * `m.new_content`.
 */
import type { RoomEvent } from './store.ts';

export type Request =
  | { kind: 'command'; text: string; replyTo?: string; edits?: string; threadRoot?: string }
  | { kind: 'confirm'; code: string; edits?: string; threadRoot?: string };

interface Relation {
  rel_type?: string;
  event_id?: string;
  is_falling_back?: boolean;
  'm.in_reply_to'?: { event_id?: string };
}

/** Removes the quoted fallback of a reply: the leading `> ` lines and the blank line after them. */
export function stripReplyFallback(body: string): string {
  const lines = body.split('\n');
  let i = 0;
  while (i < lines.length && lines[i]!.startsWith('>')) i++;
  if (i > 0 && i < lines.length && lines[i]!.trim() === '') i++;
  return lines.slice(i).join('\n');
}

export function parseRequest(event: RoomEvent, prefix: string): Request | undefined {
  if (event.type !== 'm.room.message') return undefined;
  const relation = (event.content['m.relates_to'] ?? {}) as Relation;
  let content = event.content;
  let edits: string | undefined;
  if (relation.rel_type === 'm.replace') {
    const replacement = event.content['m.new_content'];
    if (!replacement || typeof replacement !== 'object') return undefined;
    content = replacement as Record<string, unknown>;
    edits = relation.event_id;
  }
  // A notice must never be answered automatically (spec: m.notice), so another bot cannot loop with us.
  if (content.msgtype !== 'm.text') return undefined;
  if (typeof content.body !== 'string') return undefined;
  const threadRoot = relation.rel_type === 'm.thread' ? relation.event_id : undefined;
  // In a thread, `m.in_reply_to` with is_falling_back is only for clients without threads.
  const replyTo = relation['m.in_reply_to']?.event_id && !(threadRoot && relation.is_falling_back) ? relation['m.in_reply_to'].event_id : undefined;
  const text = (replyTo ? stripReplyFallback(content.body) : content.body).trim();
  const words = text.split(/\s+/);
  if (words[0] !== prefix) return undefined;
  if (words[1]?.toLowerCase() === 'confirm' && words.length <= 3) return { kind: 'confirm', code: (words[2] ?? '').toUpperCase(), edits, threadRoot };
  return { kind: 'command', text: text.slice(prefix.length).trim(), replyTo, edits, threadRoot };
}
