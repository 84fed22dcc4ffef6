/**
 * The alerts room (design §2.2): one message per alert group, posted as m.text with mentions (so
 * it notifies), edited (m.replace, full content) when the group changes, is acknowledged or
 * resolves; a reply `ack [DURATION] [COMMENT]`, or a ✅ / 👀 reaction, runs the registry's `ack` as
 * the Matrix user, and redacting that reaction runs `unack`. A firing group nobody acknowledged
 * in time gets one follow-up mentioning the escalation targets, from a timer that reads the stored
 * state, so it survives restarts.
 */
import { formatDuration } from '../core/duration.ts';
import type { Logger } from '../core/logger.ts';
import type { MatrixConfig } from '../config/schema.ts';
import type { AlertGroupView, AlertNotifier, AlertService } from '../ops/alerts/index.ts';
import { reactionMayAck, withdrawalMayUnack } from '../ops/alerts/rules.ts';
import { renderAlertGroup, renderEscalation } from './alert-render.ts';
import type { AlertMessages } from './alert-messages.ts';
import type { CommandHandler } from './handler.ts';
import { stripReplyFallback } from './parse.ts';
import type { BotStore, InboxRow, RoomEvent } from './store.ts';

import { ACK_REACTIONS, normaliseKey } from './reactions.ts';

export { ACK_REACTIONS, normaliseKey } from './reactions.ts';

const ESCALATION_CHECK_MAX_MS = 5000;

interface Relation {
  rel_type?: string;
  event_id?: string;
  key?: string;
  is_falling_back?: boolean;
  'm.in_reply_to'?: { event_id?: string };
}

export interface AlertRoomOptions {
  config: MatrixConfig;
  alerts: AlertService;
  /** The alert messages and their outbox rows, written together. */
  messages: AlertMessages;
  store: BotStore;
  /** Runs the room's ack/unack replies and reactions; absent where only messages are queued (a replica not running the bot). */
  handler?: CommandHandler;
  log: Logger;
  /** The outbox row being sent now, and a nudge when rows were queued. */
  inFlight: () => number | undefined;
  kick: () => void;
}

export class AlertRoom implements AlertNotifier {
  /** The alerts room's id, once known (config, stored from an earlier join, or joined now). */
  roomId: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private escalating = false;
  /** Messages are queued one group state at a time, in order: a later re-read never loses to an earlier one. */
  private showing: Promise<void> = Promise.resolve();

  constructor(private readonly o: AlertRoomOptions) {}

  /** The room is known: bring every message up to date (changes stored while the bot was away). */
  setRoom(roomId: string): Promise<void> {
    this.roomId = roomId;
    return this.serially(async () => {
      for (const g of await this.o.alerts.store.list(true)) await this.show(g);
    });
  }

  groupChanged(group: AlertGroupView): Promise<void> {
    // Re-read: notifications are delivered later than the change and may arrive out of order.
    return this.serially(async () => {
      const current = await this.o.alerts.store.get(group.id);
      if (current) await this.show(current);
    });
  }

  /** Runs `fn` after every earlier show has finished; its failure is logged (never rejects) and does not stop later ones. */
  private serially(fn: () => Promise<void>): Promise<void> {
    this.showing = this.showing.then(fn).catch((err: unknown) => this.o.log.warn({ err }, 'matrix: could not queue an alert message'));
    return this.showing;
  }

  private async show(g: AlertGroupView): Promise<void> {
    if (!this.roomId) return;
    const { messages, config } = this.o;
    // A group that fired and resolved before it was ever shown has nothing left to say.
    if (g.status === 'resolved' && !(await messages.message(g.id))) return;
    const body = renderAlertGroup(g, config.oncall);
    const post = {
      msgtype: 'm.text',
      body: body.text,
      format: 'org.matrix.custom.html',
      formatted_body: body.html,
      'm.mentions': body.mentions.length ? { user_ids: body.mentions } : {},
    };
    // Edits do not notify (push rules), and the top-level mentions of an edit name only new ones: none.
    const edit = (target: string) => ({
      msgtype: 'm.text',
      body: `* ${body.text}`,
      'm.new_content': post,
      'm.relates_to': { rel_type: 'm.replace', event_id: target },
      'm.mentions': {},
    });
    const outcome = await messages.queue(g.id, this.roomId, { post, edit }, this.o.inFlight);
    if (outcome !== 'unchanged') {
      this.o.log.debug({ group: g.id, outcome }, 'matrix: alert message queued');
      this.o.kick();
    }
  }

  startEscalation(): void {
    const afterMs = this.o.alerts.escalateAfterSeconds * 1000;
    if (!this.o.config.escalateTo.length || !afterMs) return;
    const every = Math.max(500, Math.min(ESCALATION_CHECK_MAX_MS, afterMs / 3));
    this.timer = setInterval(() => {
      if (this.escalating) return;
      this.escalating = true;
      this.escalate()
        .catch((err: unknown) => this.o.log.warn({ err }, 'matrix: escalation check failed; retrying'))
        .finally(() => (this.escalating = false));
    }, every);
    this.timer.unref();
  }

  /** Stops the escalation timer and waits for messages being queued. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.showing;
  }

  /** One follow-up per firing episode of a group due for escalation (alertmanager.escalateAfter). */
  async escalate(): Promise<void> {
    const { alerts, messages, config } = this.o;
    let queued = false;
    for (const g of await alerts.dueForEscalation()) {
      if (!g.firingSince) continue;
      const message = await messages.message(g.id);
      if (!message || message.escalatedFor === g.firingSince.getTime()) continue;
      const body = renderEscalation(g, config.escalateTo, formatDuration(alerts.escalateAfterSeconds));
      const content = (target: string) => ({
        msgtype: 'm.text',
        body: body.text,
        format: 'org.matrix.custom.html',
        formatted_body: body.html,
        'm.mentions': { user_ids: config.escalateTo },
        'm.relates_to': { 'm.in_reply_to': { event_id: target } },
      });
      if (await messages.escalate(g.id, g.firingSince.getTime(), content)) {
        this.o.log.info({ group: g.id, to: config.escalateTo }, 'matrix: alert escalated');
        queued = true;
      }
    }
    if (queued) this.o.kick();
  }

  /**
   * An event in the alerts room: a reply, reaction or redaction aimed at an alert message runs
   * `ack` / `unack` through the registry and returns true; anything else is left to the caller.
   */
  async handle(row: InboxRow, event: RoomEvent): Promise<boolean> {
    if (event.type === 'm.reaction') return this.reaction(row, event);
    if (event.type === 'm.room.redaction') return this.redaction(row, event);
    if (event.type === 'm.room.message') return this.reply(row, event);
    return false;
  }

  private async groupFor(eventId: string | undefined): Promise<AlertGroupView | undefined> {
    const message = eventId ? await this.o.messages.messageByEventId(eventId) : undefined;
    return message ? this.o.alerts.store.get(message.groupId) : undefined;
  }

  private async reply(row: InboxRow, event: RoomEvent): Promise<boolean> {
    const relation = (event.content['m.relates_to'] ?? {}) as Relation;
    if (relation.rel_type === 'm.replace' || event.content.msgtype !== 'm.text' || typeof event.content.body !== 'string') return false;
    const target = relation.rel_type === 'm.thread' ? relation.event_id : relation['m.in_reply_to']?.event_id;
    const match = /^(ack|unack)(?:\s+([\s\S]*))?$/i.exec(stripReplyFallback(event.content.body).trim());
    if (!match) return false;
    const group = await this.groupFor(target);
    if (!group) return false;
    const threadRoot = relation.rel_type === 'm.thread' ? relation.event_id : undefined;
    if (match[1]!.toLowerCase() === 'unack') {
      await this.o.handler!.runAction(row, ['unack'], { alert: String(group.id) }, { replyTo: row.eventId, threadRoot });
      return true;
    }
    const words = (match[2] ?? '').trim().split(/\s+/).filter(Boolean);
    const args: Record<string, unknown> = { alert: String(group.id) };
    if (words[0] && /^(\d+[smhdw])+$/i.test(words[0])) args.for = words.shift()!.toLowerCase();
    if (words.length) args.comment = words;
    await this.o.handler!.runAction(row, ['ack'], args, { replyTo: row.eventId, threadRoot });
    return true;
  }

  private async reaction(row: InboxRow, event: RoomEvent): Promise<boolean> {
    const relation = (event.content['m.relates_to'] ?? {}) as Relation;
    if (relation.rel_type !== 'm.annotation' || !ACK_REACTIONS.has(normaliseKey(relation.key ?? ''))) return false;
    const group = await this.groupFor(relation.event_id);
    if (!group) return false;
    if (!reactionMayAck(group)) return false;
    // Success shows in the edited message; only a refusal is answered, under the alert.
    await this.o.handler!.runAction(row, ['ack'], { alert: String(group.id) }, { replyTo: relation.event_id!, quiet: true });
    return true;
  }

  private async redaction(row: InboxRow, event: RoomEvent): Promise<boolean> {
    const redacts = (event as RoomEvent & { redacts?: string }).redacts ?? (event.content.redacts as string | undefined);
    // The redacted reaction's content is gone from the homeserver; the inbox kept it.
    const original = redacts ? await this.o.store.event(redacts) : undefined;
    if (!original || original.sender !== event.sender || !original.command?.startsWith('ack ')) return false;
    const reaction = JSON.parse(original.event) as RoomEvent;
    if (reaction.type !== 'm.reaction') return false;
    const target = ((reaction.content['m.relates_to'] ?? {}) as Relation).event_id;
    const group = await this.groupFor(target);
    const mapped = await this.o.handler!.actorFor(event.sender);
    if (!group || !mapped.ok || !withdrawalMayUnack(group, mapped.actor.name)) return false;
    await this.o.handler!.runAction(row, ['unack'], { alert: String(group.id) }, { replyTo: target!, quiet: true });
    return true;
  }
}
