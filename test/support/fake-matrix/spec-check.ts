/**
 * Checks the events a client sends against JSON Schemas of the Matrix spec's rules
 * (./event-schemas.ts). The fake wraps a sent content in the event the homeserver would make and
 * validates that, so the envelope and the content are both checked.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { ALL_SCHEMAS, schemaIdsFor } from './event-schemas.ts';

export interface SchemaViolation {
  /** The event type and where in it, e.g. `m.room.message content.m.new_content`. */
  what: string;
  errors: string[];
  content: unknown;
}

export class SpecChecker {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private readonly cache = new Map<string, ValidateFunction | null>();

  constructor() {
    for (const schema of ALL_SCHEMAS) this.ajv.addSchema(schema);
  }

  private validator(id: string): ValidateFunction | null {
    if (!this.cache.has(id)) this.cache.set(id, this.ajv.getSchema(id) ?? null);
    return this.cache.get(id)!;
  }

  /**
   * Every problem with an event the homeserver is about to store; empty when it is valid or of a
   * type without a schema here (custom types are legal in Matrix).
   */
  check(event: { type: string; content: Record<string, unknown>; sender: string; room_id: string; redacts?: string }): SchemaViolation[] {
    const out: SchemaViolation[] = [];
    const envelope = { event_id: '$fake-check', origin_server_ts: Date.now(), ...event };
    const run = (what: string, id: string, data: unknown) => {
      const validate = this.validator(id);
      if (validate && !validate(data))
        out.push({ what, errors: (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'} (${id})`), content: event.content });
    };
    for (const id of schemaIdsFor(event.type, event.content.msgtype)) run(event.type, id, envelope);
    const relation = event.content['m.relates_to'] as Record<string, unknown> | undefined;
    if (relation !== undefined) {
      if (typeof relation !== 'object' || relation === null || Array.isArray(relation))
        out.push({ what: `${event.type} content.m.relates_to`, errors: ['m.relates_to is not an object'], content: event.content });
      else {
        if ('rel_type' in relation) run(`${event.type} content.m.relates_to`, 'labd:relation', relation);
        if ('m.in_reply_to' in relation) run(`${event.type} content.m.relates_to.m.in_reply_to`, 'labd:in-reply-to', relation['m.in_reply_to']);
      }
    }
    if ('m.mentions' in event.content) run(`${event.type} content.m.mentions`, 'labd:mentions', event.content['m.mentions']);
    // An edit's m.new_content is the replacement content of an event of the same type.
    if (relation?.rel_type === 'm.replace') {
      const replacement = event.content['m.new_content'];
      if (!replacement || typeof replacement !== 'object' || Array.isArray(replacement))
        out.push({ what: `${event.type} content.m.new_content`, errors: ['an edit (m.replace) needs m.new_content, an object'], content: event.content });
      else for (const v of this.check({ ...event, content: replacement as Record<string, unknown> })) out.push({ ...v, what: `${v.what} (in m.new_content)` });
    }
    return out;
  }
}
