/**
 * The command front-end of the bot: turns accepted Matrix events into registry invocations and
 * queues the replies. Parse → map the user (unmapped: guest) → (confirm) → registry.execute →
 * render → outbox. An event's command is marked running before it starts, so it never runs a
 * second time; a long one answers with progress edits (progress.ts).
 */
import type { Clock } from '../core/clock.ts';
import type { Actor } from '../core/actor.ts';
import type { Logger } from '../core/logger.ts';
import type { MatrixConfig } from '../config/schema.ts';
import { PermissionDenied, UsageError } from '../core/errors.ts';
import { IdentityStore } from '../ops/identity/store.ts';
import { splitGlobalFlags, type Registry } from '../ops/registry.ts';
import { splitCommandLine } from '../core/cmdline.ts';
import { normaliseKey } from './reactions.ts';
import { CONFIRM_REACTION, confirmPrompt, newConfirmCode } from './confirm.ts';
import { parseRequest, type Request } from './parse.ts';
import { ProgressReply } from './progress.ts';
import { html, trustedHtml } from '../core/html.ts';
import { plain, renderError, renderMatrix, renderMatrixJson, valueText, type MatrixBody } from './render.ts';
import { txnIdFor, type BotStore, type ConfirmationRow, type InboxRow, type RoomEvent } from './store.ts';

export interface HandlerOptions {
  config: MatrixConfig;
  registry: Registry;
  store: BotStore;
  identities: IdentityStore;
  /** Matrix ids their owners linked (`!lab link`): they win over the configured user map, which is the seed. */
  links?: MatrixLinkLookup;
  /** The time confirmation windows are measured by. */
  clock: Clock;
  log: Logger;
  /** Nudges the outbox when messages were queued while a command still runs (progress). */
  kick?: () => void;
}

/** Which labd user a Matrix id was linked to by its owner. */
export interface MatrixLinkLookup {
  linkedUser(mxid: string): Promise<{ id: number; name: string; role: Actor['role'] } | undefined>;
  /** The Matrix id linked to a labd user most recently (where direct notices go). */
  linkedMatrixId(userName: string): Promise<string | undefined>;
}

type Mapped = { ok: true; actor: Actor } | { ok: false; body: MatrixBody };

/** A command kept for later with its validated arguments (a confirmation). */
interface TypedCall {
  path: string[];
  args: Record<string, unknown>;
  json: boolean;
  /** The words as the asker typed them (without --yes), for the progress reply and the inbox. */
  text: string;
}

/** Takes the events it recognises (alerts room replies and reactions) before the command parser. */
export interface EventInterceptor {
  roomId: string | undefined;
  handle(row: InboxRow, event: RoomEvent): Promise<boolean>;
}

interface Relation {
  rel_type?: string;
  event_id?: string;
  key?: string;
}

/**
 * Users not in the user map act as guests under their Matrix ID, which cannot be a labd user
 * name (it holds '@' and ':'), so it never borrows a labd user's identity or acknowledgements.
 */
export function guestActor(mxid: string): Actor {
  const name = mxid.replace(/[\x00-\x1f\x7f-\x9f\s]/g, '').slice(0, 255);
  return { userId: null, name, role: 'guest', via: 'matrix', credential: { kind: 'matrix', mxid } };
}

const isUnmappedGuest = (actor: Actor) => actor.userId === null && actor.role === 'guest' && actor.credential?.kind === 'matrix';

export class CommandHandler {
  /** Set once the alerts room exists. */
  alerts: EventInterceptor | undefined;
  private readonly confirmWindowMs: number;

  constructor(private readonly opts: HandlerOptions) {
    this.confirmWindowMs = opts.config.confirmWindow.ms;
  }

  /** The reply content: a notice (never notifies, never answered by bots) pointing at the request. */
  replyContent(body: MatrixBody, replyTo: string, threadRoot?: string): Record<string, unknown> {
    const relation: Record<string, unknown> = { 'm.in_reply_to': { event_id: replyTo } };
    if (threadRoot) Object.assign(relation, { rel_type: 'm.thread', event_id: threadRoot, is_falling_back: true });
    return { msgtype: 'm.notice', body: body.text, format: 'org.matrix.custom.html', formatted_body: body.html, 'm.relates_to': relation, 'm.mentions': {} };
  }

  private reply(row: InboxRow, body: MatrixBody, o: { replyTo?: string; threadRoot?: string; purpose?: string } = {}): Promise<void> {
    return this.opts.store.finish(row.eventId, {
      roomId: row.roomId,
      txnId: txnIdFor(row.eventId, o.purpose ?? 'reply'),
      content: this.replyContent(body, o.replyTo ?? row.eventId, o.threadRoot),
    });
  }

  async actorFor(mxid: string): Promise<Mapped> {
    const linked = await this.opts.links?.linkedUser(mxid);
    if (linked) return { ok: true, actor: { userId: linked.id, name: linked.name, role: linked.role, via: 'matrix', credential: { kind: 'matrix', mxid } } };
    const userMap = this.opts.config.userMap;
    const name = Object.hasOwn(userMap, mxid) ? userMap[mxid] : undefined;
    const prefix = this.opts.config.commandPrefix;
    if (!name) return { ok: true, actor: guestActor(mxid) };
    const user = await this.opts.identities.userByName(name);
    if (!user)
      return { ok: false, body: plain(`Sorry, ${mxid} is linked to the labd user '${name}', which does not exist. Ask an admin (${prefix} user add).`) };
    return { ok: true, actor: { userId: user.id, name: user.name, role: user.role, via: 'matrix', credential: { kind: 'matrix', mxid } } };
  }

  /** A failed or refused command; a guest who is refused learns why they are a guest. */
  private errorBody(err: unknown, actor: Actor): MatrixBody {
    const body = renderError(err, this.opts.config.commandPrefix);
    if (!(err instanceof PermissionDenied) || !isUnmappedGuest(actor)) return body;
    const mxid = (actor.credential as { mxid: string }).mxid;
    const hint = `Link it to your labd user with '${this.opts.config.commandPrefix} link', or ask an admin to add you to the bot's user map.`;
    return {
      text: `Sorry, ${mxid} is not linked to a labd user, so you have guest rights. ${body.text}. ${hint}`,
      html: html`Sorry, ${mxid} is not linked to a labd user, so you have guest rights. ${trustedHtml(body.html)}. ${hint}`.value,
    };
  }

  /** Handles one accepted event; every path ends with the event marked done. */
  async handle(row: InboxRow): Promise<void> {
    const event = JSON.parse(row.event) as RoomEvent;
    if (this.alerts && row.roomId === this.alerts.roomId && (await this.alerts.handle(row, event))) return;
    if (event.type === 'm.reaction') return this.reaction(row, event);
    const request = parseRequest(event, this.opts.config.commandPrefix);
    if (!request) return this.opts.store.finish(row.eventId);
    if (request.edits && (await this.opts.store.event(request.edits))?.command) {
      // The original message already ran; an edit must not run it again.
      return this.opts.store.finish(row.eventId);
    }
    if (request.kind === 'confirm') return this.confirmByCode(row, request);
    await this.command(row, request);
  }

  private async command(row: InboxRow, request: Extract<Request, { kind: 'command' }>): Promise<void> {
    const { registry, store, log, config } = this.opts;
    const prefix = config.commandPrefix;
    const mapped = await this.actorFor(row.sender);
    const threadRoot = request.threadRoot;
    if (!mapped.ok) return this.reply(row, mapped.body, { threadRoot });
    let argv: string[];
    try {
      argv = splitCommandLine(request.text);
    } catch (err) {
      return this.reply(row, renderError(err, prefix), { threadRoot });
    }
    if (!argv.length) argv = ['help'];
    const { flags, rest } = splitGlobalFlags(argv);
    const resolved = registry.resolve(rest);
    if (resolved?.command.needsIO && !flags.help) {
      const name = resolved.command.path.join(' ');
      return this.reply(
        row,
        {
          text: `'${name}' reads or writes a terminal stream, so it only works over SSH: ssh HOST ${name} …`,
          html: html`<code>${name}</code> reads or writes a terminal stream, so it only works over SSH: <code>ssh HOST ${name} …</code>`.value,
        },
        { threadRoot },
      );
    }
    if (resolved && !flags.help && !registry.offeredOn(resolved.command, 'matrix')) {
      return this.reply(row, renderError(new UsageError(registry.notOfferedText(resolved.command, 'matrix')), prefix), { threadRoot });
    }
    // `--yes` typed in chat does not skip the question: the confirmation is the ✅ or the code.
    if (resolved?.command.destructive && !flags.help && registry.allowed(mapped.actor, resolved.command)) {
      const promptTxnId = txnIdFor(row.eventId, 'confirm');
      const code = newConfirmCode();
      const text = argv.filter((w) => w !== '--yes' && w !== '-y').join(' ');
      let call: TypedCall;
      try {
        const parsed = registry.parse(argv);
        call = { path: [...parsed.command.path], args: parsed.args, json: parsed.flags.json, text };
      } catch {
        // Malformed: the registry refuses it (and audits the refusal) before any question is asked.
        return this.run(row, mapped.actor, argv, false, { replyTo: row.eventId, threadRoot });
      }
      const shown = valueText(text);
      // The confirmation keeps the typed call: what runs on ✅ is what was validated, not text parsed again.
      await store.addConfirmation({
        roomId: row.roomId,
        sender: row.sender,
        argv: call,
        requestEventId: row.eventId,
        promptTxnId,
        expiresAt: new Date(this.opts.clock.now().getTime() + this.confirmWindowMs),
        code,
      });
      log.info({ sender: row.sender, command: resolved.command.path.join(' ') }, 'matrix: asking for confirmation');
      return this.reply(row, confirmPrompt(shown, code, prefix, config.confirmWindow.text), { threadRoot, purpose: 'confirm' });
    }
    await this.run(row, mapped.actor, argv, false, { replyTo: row.eventId, threadRoot });
  }

  /** A ✅ on a confirmation question from its asker runs the command; anything else is ignored. */
  private async reaction(row: InboxRow, event: RoomEvent): Promise<void> {
    const relation = (event.content['m.relates_to'] ?? {}) as Relation;
    if (relation.rel_type !== 'm.annotation' || !relation.event_id || normaliseKey(relation.key ?? '') !== CONFIRM_REACTION)
      return this.opts.store.finish(row.eventId);
    const pending = await this.opts.store.confirmationFor(relation.event_id);
    // Someone else's ✅, a ✅ on another message, or a second ✅ after it ran: ordinary chat.
    if (!pending || pending.roomId !== row.roomId || pending.sender !== row.sender || pending.state === 'confirmed') return this.opts.store.finish(row.eventId);
    await this.confirmed(row, pending, { replyTo: pending.requestEventId });
  }

  private async confirmByCode(row: InboxRow, request: Extract<Request, { kind: 'confirm' }>): Promise<void> {
    const prefix = this.opts.config.commandPrefix;
    const threadRoot = request.threadRoot;
    if (!request.code) return this.reply(row, plain(`usage: ${prefix} confirm CODE (the code is in my question about the command)`), { threadRoot });
    const code = valueText(request.code).slice(0, 20);
    const pending = await this.opts.store.confirmationByCode(row.roomId, code);
    if (!pending) return this.reply(row, plain(`No command in this room is waiting for the confirmation code '${code}'.`), { threadRoot });
    if (pending.sender !== row.sender) return this.reply(row, plain(`Only ${pending.sender}, who asked for that command, can confirm it.`), { threadRoot });
    if (pending.state === 'confirmed')
      return this.reply(row, plain(`The code '${code}' was already used; send the command again to run it again.`), { threadRoot });
    await this.confirmed(row, pending, { replyTo: row.eventId, threadRoot });
  }

  private async confirmed(row: InboxRow, pending: ConfirmationRow, o: { replyTo: string; threadRoot?: string }): Promise<void> {
    const { store } = this.opts;
    if (pending.state === 'expired' || pending.expiresAt.getTime() < this.opts.clock.now().getTime()) {
      await store.closeConfirmation(pending.id, 'expired');
      return this.reply(row, plain(`That confirmation expired (after ${this.opts.config.confirmWindow.text}); nothing was run. Send the command again.`), o);
    }
    // Closed before it runs: a second ✅ or code racing this one finds it used.
    if (!(await store.closeConfirmation(pending.id, 'confirmed'))) return store.finish(row.eventId);
    const mapped = await this.actorFor(row.sender);
    if (!mapped.ok) return this.reply(row, mapped.body, o);
    const stored = JSON.parse(pending.argv) as string[] | TypedCall;
    // Rows asked before typed confirmations hold words.
    await this.run(row, mapped.actor, stored, true, o);
  }

  private async run(row: InboxRow, actor: Actor, call: string[] | TypedCall, confirmed: boolean, o: { replyTo: string; threadRoot?: string }): Promise<void> {
    const { registry, store, log } = this.opts;
    const json = Array.isArray(call) ? splitGlobalFlags(call).flags.json : call.json;
    const command = Array.isArray(call) ? call.join(' ') : call.text;
    await store.markRunning(row.eventId, command);
    const progress = new ProgressReply({
      store,
      row,
      replyTo: o.replyTo,
      threadRoot: o.threadRoot,
      command: valueText(command),
      replyContent: (b, to, root) => this.replyContent(b, to, root),
      kick: () => this.opts.kick?.(),
    });
    let body: MatrixBody;
    try {
      const onProgress = (message: string) => progress.report(message);
      const result = Array.isArray(call)
        ? (await registry.execute({ actor, argv: call, confirmed, onProgress })).result
        : await registry.invoke(actor, call.path, call.args, { confirmed, onProgress, json: call.json });
      body = json ? renderMatrixJson(result) : renderMatrix(result);
    } catch (err) {
      body = this.errorBody(err, actor);
    }
    log.info({ sender: row.sender, user: actor.name, argv: command.split(' ').slice(0, 3) }, 'matrix: command handled');
    await progress.finish(body);
  }

  /**
   * Runs a command with typed arguments for an event that is not a `!lab` line (an alert reply or
   * reaction) as its sender, answering in a reply to `replyTo`; `quiet`: only a refusal or failure is answered.
   */
  async runAction(
    row: InboxRow,
    path: readonly string[],
    args: Record<string, unknown>,
    o: { replyTo: string; threadRoot?: string; quiet?: boolean },
  ): Promise<void> {
    const { registry, store, log } = this.opts;
    const answer = (body: MatrixBody) =>
      store.finish(row.eventId, { roomId: row.roomId, txnId: txnIdFor(row.eventId, 'reply'), content: this.replyContent(body, o.replyTo, o.threadRoot) });
    const mapped = await this.actorFor(row.sender);
    if (!mapped.ok) return answer(mapped.body);
    // The inbox keeps what ran (a redacted reaction finds its `ack ID` here).
    const positionals = registry.get(path)?.positionals ?? [];
    const argv = [...path, ...positionals.map((name) => args[name]).filter((v): v is string => typeof v === 'string')];
    await store.markRunning(row.eventId, argv.join(' '));
    let body: MatrixBody | undefined;
    try {
      const result = await registry.invoke(mapped.actor, path, args);
      log.info({ sender: row.sender, user: mapped.actor.name, argv }, 'matrix: alert action handled');
      if (!o.quiet) body = renderMatrix(result);
    } catch (err) {
      log.info({ sender: row.sender, argv, error: (err as Error).message }, 'matrix: alert action refused or failed');
      body = this.errorBody(err, mapped.actor);
    }
    await (body ? answer(body) : store.finish(row.eventId));
  }

  /** Commands cut off by a stop or crash: say so once, never run them again. */
  reportInterrupted(row: InboxRow): Promise<void> {
    return this.reply(
      row,
      plain(
        `labd restarted while '${row.command ?? 'this command'}' was running; it was not run again. Check '${this.opts.config.commandPrefix} audit' for its outcome.`,
      ),
    );
  }
}
