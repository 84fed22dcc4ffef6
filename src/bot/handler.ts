/**
 * The command front-end of the bot: turns accepted Matrix events into registry invocations and
 * queues the replies. Parse → map the user → (confirm) → registry.execute → render → outbox.
 * An event's command is marked running before it starts, so it never runs a second time.
 */
import type { Actor } from '../core/actor.ts';
import type { Logger } from '../core/logger.ts';
import type { MatrixConfig } from '../config/schema.ts';
import { IdentityStore } from '../ops/identity/store.ts';
import { splitGlobalFlags, type Registry } from '../ops/registry.ts';
import { splitCommandLine } from '../core/cmdline.ts';
import { parseRequest, type Request } from './parse.ts';
import { escapeHtml, plain, renderError, renderMatrix, renderMatrixJson, type MatrixBody } from './render.ts';
import { txnIdFor, type BotStore, type InboxRow, type RoomEvent } from './store.ts';

/** How long a destructive command waits for its `yes`. */
export const CONFIRM_WINDOW_MS = 60_000;

export interface HandlerOptions {
  config: MatrixConfig;
  registry: Registry;
  store: BotStore;
  identities: IdentityStore;
  log: Logger;
}

type Mapped = { ok: true; actor: Actor } | { ok: false; body: MatrixBody };

/** Takes the events it recognises (alerts room replies and reactions) before the command parser. */
export interface EventInterceptor {
  roomId: string | undefined;
  handle(row: InboxRow, event: RoomEvent): Promise<boolean>;
}

export class CommandHandler {
  /** Set once the alerts room exists. */
  alerts: EventInterceptor | undefined;

  constructor(private readonly opts: HandlerOptions) {}

  /** The reply content: a notice (never notifies, never answered by bots) pointing at the request. */
  replyContent(body: MatrixBody, replyTo: string, threadRoot?: string): Record<string, unknown> {
    const relation: Record<string, unknown> = { 'm.in_reply_to': { event_id: replyTo } };
    if (threadRoot) Object.assign(relation, { rel_type: 'm.thread', event_id: threadRoot, is_falling_back: true });
    return { msgtype: 'm.notice', body: body.text, format: 'org.matrix.custom.html', formatted_body: body.html, 'm.relates_to': relation, 'm.mentions': {} };
  }

  private reply(row: InboxRow, body: MatrixBody, threadRoot?: string, purpose = 'reply'): void {
    this.opts.store.finish(row.eventId, { roomId: row.roomId, txnId: txnIdFor(row.eventId, purpose), content: this.replyContent(body, row.eventId, threadRoot) });
  }

  actorFor(mxid: string): Mapped {
    const name = this.opts.config.userMap[mxid];
    const prefix = this.opts.config.commandPrefix;
    if (!name) return { ok: false, body: plain(`Sorry, ${mxid} is not linked to a labd user, so I cannot run commands for you. Ask an admin to add you to the bot's user map.`) };
    const user = this.opts.identities.userByName(name);
    if (!user) return { ok: false, body: plain(`Sorry, ${mxid} is linked to the labd user '${name}', which does not exist. Ask an admin (${prefix} user add).`) };
    return { ok: true, actor: { userId: user.id, name: user.name, role: user.role, via: 'matrix', credential: { kind: 'matrix', mxid } } };
  }

  /** Handles one accepted event; every path ends with the event marked done. */
  async handle(row: InboxRow): Promise<void> {
    const event = JSON.parse(row.event) as RoomEvent;
    if (this.alerts && row.roomId === this.alerts.roomId && (await this.alerts.handle(row, event))) return;
    const request = parseRequest(event, this.opts.config.commandPrefix);
    if (!request) return this.opts.store.finish(row.eventId);
    if (request.kind === 'yes') return this.confirm(row, request);
    if (request.edits && this.opts.store.event(request.edits)?.command) {
      // The original message already ran; an edit must not run it again.
      return this.opts.store.finish(row.eventId);
    }
    await this.command(row, request);
  }

  private async command(row: InboxRow, request: Extract<Request, { kind: 'command' }>): Promise<void> {
    const { registry, store, log } = this.opts;
    const prefix = this.opts.config.commandPrefix;
    const mapped = this.actorFor(row.sender);
    if (!mapped.ok) return this.reply(row, mapped.body, request.threadRoot);
    let argv: string[];
    try {
      argv = splitCommandLine(request.text);
    } catch (err) {
      return this.reply(row, renderError(err, prefix), request.threadRoot);
    }
    if (!argv.length) argv = ['help'];
    const { flags, rest } = splitGlobalFlags(argv);
    const resolved = registry.resolve(rest);
    if (resolved?.command.needsIO && !flags.help) {
      const name = resolved.command.path.join(' ');
      return this.reply(row, { text: `'${name}' reads or writes a terminal stream, so it only works over SSH: ssh HOST ${name} …`, html: `<code>${escapeHtml(name)}</code> reads or writes a terminal stream, so it only works over SSH: <code>ssh HOST ${escapeHtml(name)} …</code>` }, request.threadRoot);
    }
    if (resolved?.command.destructive && !flags.help && registry.allowed(mapped.actor, resolved.command)) {
      const promptTxnId = txnIdFor(row.eventId, 'confirm');
      const name = resolved.command.path.join(' ');
      store.addConfirmation({ roomId: row.roomId, sender: row.sender, argv, requestEventId: row.eventId, promptTxnId, expiresAt: new Date(Date.now() + CONFIRM_WINDOW_MS) });
      const text = `'${argv.join(' ')}' is destructive. Reply yes to this message within ${CONFIRM_WINDOW_MS / 1000} s to run it.`;
      const html = `<code>${escapeHtml(argv.join(' '))}</code> is destructive. Reply <code>yes</code> to this message within ${CONFIRM_WINDOW_MS / 1000} s to run it.`;
      log.info({ sender: row.sender, command: name }, 'matrix: asking for confirmation');
      return this.reply(row, { text, html }, request.threadRoot, 'confirm');
    }
    await this.run(row, mapped.actor, argv, false, request.threadRoot);
  }

  private async confirm(row: InboxRow, request: Extract<Request, { kind: 'yes' }>): Promise<void> {
    const { store } = this.opts;
    const pending = store.confirmationFor(request.replyTo);
    // A `yes` to anything else, or from someone other than who asked, is ordinary chat.
    if (!pending || pending.sender !== row.sender || pending.roomId !== row.roomId) return store.finish(row.eventId);
    if (pending.expiresAt.getTime() < Date.now()) {
      store.closeConfirmation(pending.id, 'expired');
      return this.reply(row, plain(`That confirmation expired; send the command again.`), request.threadRoot);
    }
    store.closeConfirmation(pending.id, 'confirmed');
    const mapped = this.actorFor(row.sender);
    if (!mapped.ok) return this.reply(row, mapped.body, request.threadRoot);
    await this.run(row, mapped.actor, JSON.parse(pending.argv) as string[], true, request.threadRoot);
  }

  private async run(row: InboxRow, actor: Actor, argv: string[], confirmed: boolean, threadRoot?: string): Promise<void> {
    const { registry, store, log } = this.opts;
    const json = splitGlobalFlags(argv).flags.json;
    store.markRunning(row.eventId, argv.join(' '));
    let body: MatrixBody;
    try {
      const { result } = await registry.execute({ actor, argv, confirmed });
      body = json ? renderMatrixJson(result) : renderMatrix(result);
    } catch (err) {
      body = renderError(err, this.opts.config.commandPrefix);
    }
    log.info({ sender: row.sender, user: actor.name, argv: argv.slice(0, 3) }, 'matrix: command handled');
    this.reply(row, body, threadRoot);
  }

  /**
   * Runs `argv` for an event that is not a `!lab` line (an alert reply or reaction) as its sender,
   * answering in a reply to `replyTo`; `quiet`: only a refusal or failure is answered.
   */
  async runAction(row: InboxRow, argv: string[], o: { replyTo: string; threadRoot?: string; quiet?: boolean }): Promise<void> {
    const { registry, store, log } = this.opts;
    const answer = (body: MatrixBody) => store.finish(row.eventId, { roomId: row.roomId, txnId: txnIdFor(row.eventId, 'reply'), content: this.replyContent(body, o.replyTo, o.threadRoot) });
    const mapped = this.actorFor(row.sender);
    if (!mapped.ok) return answer(mapped.body);
    store.markRunning(row.eventId, argv.join(' '));
    try {
      const { result } = await registry.execute({ actor: mapped.actor, argv, confirmed: false });
      log.info({ sender: row.sender, user: mapped.actor.name, argv }, 'matrix: alert action handled');
      if (o.quiet) return store.finish(row.eventId);
      answer(renderMatrix(result));
    } catch (err) {
      log.info({ sender: row.sender, argv, error: (err as Error).message }, 'matrix: alert action refused or failed');
      answer(renderError(err, this.opts.config.commandPrefix));
    }
  }

  /** Commands cut off by a stop or crash: say so once, never run them again. */
  reportInterrupted(row: InboxRow): void {
    this.reply(row, plain(`labd restarted while '${row.command ?? 'this command'}' was running; it was not run again. Check '${this.opts.config.commandPrefix} audit' for its outcome.`));
  }
}
