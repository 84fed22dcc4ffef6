/**
 * JSON Schemas (draft 2020-12) for the room events the bot sends, written for this fake from the
 * Matrix client-server specification's rules (spec.matrix.org, v1.16: "Room events", "m.room.message
 * msgtypes", "Forming relationships between events", "Rich replies", "Event replacements",
 * "Reactions", "Threading", "User and room mentions", "Redactions"). The npm package
 * @matrix-org/spec ships no event schemas (only sas-emoji.json), so they are stated here.
 */

const EVENT_ID = { type: 'string', pattern: '^\\$.+' } as const;
const USER_ID = { type: 'string', pattern: '^@[^:]+:.+$' } as const;
const ROOM_ID = { type: 'string', pattern: '^![^:]+:.+$' } as const;

/** What every room event carries, as a homeserver stores it. */
export const roomEvent = {
  $id: 'labd:room-event',
  type: 'object',
  required: ['event_id', 'type', 'sender', 'origin_server_ts', 'room_id', 'content'],
  properties: {
    event_id: EVENT_ID,
    type: { type: 'string', minLength: 1 },
    sender: USER_ID,
    origin_server_ts: { type: 'integer', minimum: 0 },
    room_id: ROOM_ID,
    content: { type: 'object' },
    unsigned: { type: 'object' },
  },
} as const;

/** `m.relates_to` as a relationship: both the type and the parent are required. */
export const relation = {
  $id: 'labd:relation',
  type: 'object',
  required: ['rel_type', 'event_id'],
  properties: {
    rel_type: { type: 'string', minLength: 1 },
    event_id: EVENT_ID,
    // Threads: whether the reply fallback is only there for clients without threads.
    is_falling_back: { type: 'boolean' },
    key: { type: 'string' },
    'm.in_reply_to': { $ref: 'labd:in-reply-to' },
  },
  allOf: [{ if: { properties: { rel_type: { const: 'm.annotation' } } }, then: { required: ['key'] } }],
} as const;

/** A rich reply names the event it answers. */
export const inReplyTo = {
  $id: 'labd:in-reply-to',
  type: 'object',
  required: ['event_id'],
  properties: { event_id: EVENT_ID },
} as const;

/** Intentional mentions: who is pinged, and whether the whole room is. */
export const mentions = {
  $id: 'labd:mentions',
  type: 'object',
  properties: {
    user_ids: { type: 'array', items: USER_ID, uniqueItems: true },
    room: { type: 'boolean' },
  },
} as const;

/** Text-like messages: a plain body, optionally an HTML rendering of it (both or neither). */
const textLike = (msgtype: string) => ({
  $id: `labd:m.room.message$${msgtype}`,
  type: 'object',
  required: ['content'],
  properties: {
    type: { const: 'm.room.message' },
    content: {
      type: 'object',
      required: ['msgtype', 'body'],
      properties: {
        msgtype: { const: msgtype },
        body: { type: 'string' },
        format: { const: 'org.matrix.custom.html' },
        formatted_body: { type: 'string' },
      },
      dependentRequired: { format: ['formatted_body'], formatted_body: ['format'] },
    },
  },
});

export const noticeMessage = textLike('m.notice');
export const textMessage = textLike('m.text');

/** Any m.room.message: a msgtype and a body. */
export const roomMessage = {
  $id: 'labd:m.room.message',
  type: 'object',
  properties: {
    content: { type: 'object', required: ['msgtype', 'body'], properties: { msgtype: { type: 'string', minLength: 1 }, body: { type: 'string' } } },
  },
} as const;

/** A reaction is an annotation of another event with a key (the emoji). */
export const reaction = {
  $id: 'labd:m.reaction',
  type: 'object',
  properties: {
    content: {
      type: 'object',
      required: ['m.relates_to'],
      properties: {
        'm.relates_to': {
          type: 'object',
          required: ['rel_type', 'event_id', 'key'],
          properties: { rel_type: { const: 'm.annotation' }, event_id: EVENT_ID, key: { type: 'string', minLength: 1 } },
        },
      },
    },
  },
} as const;

/** A redaction names its target (top level before room version 11, in content from 11) and may say why. */
export const redaction = {
  $id: 'labd:m.room.redaction',
  type: 'object',
  properties: {
    redacts: EVENT_ID,
    content: { type: 'object', properties: { reason: { type: 'string' }, redacts: EVENT_ID } },
  },
  anyOf: [{ required: ['redacts'] }, { properties: { content: { required: ['redacts'] } } }],
} as const;

/** The schemas, and which ones an event of a type (and msgtype) must satisfy. */
export const ALL_SCHEMAS = [roomEvent, relation, inReplyTo, mentions, noticeMessage, textMessage, roomMessage, reaction, redaction];

export function schemaIdsFor(type: string, msgtype: unknown): string[] {
  const ids = ['labd:room-event'];
  if (type === 'm.room.message') {
    ids.push('labd:m.room.message');
    if (msgtype === 'm.notice' || msgtype === 'm.text') ids.push(`labd:m.room.message$${msgtype}`);
  }
  if (type === 'm.reaction') ids.push('labd:m.reaction');
  if (type === 'm.room.redaction') ids.push('labd:m.room.redaction');
  return ids;
}
