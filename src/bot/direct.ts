/**
 * Notices from labd to one person over Matrix (the CRM's daily reminder): a direct chat the bot
 * opens with them once (POST /createRoom, is_direct, trusted_private_chat) and reuses, or a room
 * they chose. The person's Matrix id is the one they linked (`!lab link`), else matrix.userMap:
 * only someone linked or mapped to the labd user is ever written to. The notice goes through the bot's durable outbox with a
 * transaction id derived from the caller's key, so sending the same reminder again is a no-op.
 */
import { stripControl } from '../core/terminal-text.ts';
import type { Logger } from '../core/logger.ts';
import { html } from '../core/html.ts';
import { readBodyLimited } from '../core/response-body.ts';
import { htmlLines } from './render.ts';
import { txnIdFor, type BotStore } from './store.ts';
import type { MatrixLinkLookup } from './handler.ts';

const REQUEST_TIMEOUT_MS = 15_000;
/** A homeserver answer we read at most (a room id fits many times over). */
const MAX_ANSWER_BYTES = 64 * 1024;

export interface DirectNoticeOptions {
  homeserverUrl: string;
  accessToken: string;
  store: BotStore;
  /** Matrix user id → labd user name (matrix.userMap). */
  userMap: Record<string, string>;
  /** Matrix ids their owners linked (`!lab link`): a link wins over the user map. */
  links?: MatrixLinkLookup;
  log: Logger;
}

export class DirectNotices {
  /** Wakes the outbox (set once the bot runs; before that, queued notices wait for its first pass). */
  kick: () => void = () => {};

  constructor(private readonly o: DirectNoticeOptions) {}

  /**
   * The Matrix id of a labd user: the one its owner linked last, else the first the lab mapped to
   * it in config (unless that id was since linked to someone else).
   */
  async matrixIdOf(user: string): Promise<string | undefined> {
    const linked = await this.o.links?.linkedMatrixId(user);
    if (linked) return linked;
    for (const [mxid, name] of Object.entries(this.o.userMap))
      if (name === user && ((await this.o.links?.linkedUser(mxid))?.name ?? name) === user) return mxid;
    return undefined;
  }

  /**
   * Queues `title` and `body` as an m.notice for `user`, in `room` (an id or alias the bot joins) or
   * their direct chat with the bot. False when the user has no Matrix id; throws when the homeserver
   * cannot be reached to open the chat (the caller tries again later).
   */
  async send(user: string, notice: { title: string; body: string }, o: { key: string; room: string | null }): Promise<boolean> {
    const mxid = await this.matrixIdOf(user);
    if (!mxid) return false;
    const roomId = o.room ? await this.joinedRoom(o.room) : await this.directRoom(mxid);
    const text = `${notice.title}\n${notice.body}`;
    await this.o.store.queue({
      roomId,
      // Per room: the same reminder again is a no-op, one to a room chosen since is a new message.
      txnId: txnIdFor(`${o.key}\u0000${roomId}`, 'direct-notice'),
      content: {
        msgtype: 'm.notice',
        body: stripControl(text),
        format: 'org.matrix.custom.html',
        formatted_body: html`<strong>${stripControl(notice.title)}</strong><br>${htmlLines(stripControl(notice.body))}`.value,
      },
    });
    this.kick();
    return true;
  }

  private async directRoom(mxid: string): Promise<string> {
    const key = `direct:${mxid}`;
    const known = await this.o.store.getState(key);
    if (known) return known;
    const answer = await this.request('POST', '/createRoom', { preset: 'trusted_private_chat', is_direct: true, invite: [mxid], name: 'labd' });
    await this.o.store.setState(key, answer.room_id);
    this.o.log.info({ mxid, roomId: answer.room_id }, 'matrix: opened a direct chat');
    return answer.room_id;
  }

  private async joinedRoom(room: string): Promise<string> {
    const key = `reminder-room:${room}`;
    const known = await this.o.store.getState(key);
    if (known) return known;
    const answer = await this.request('POST', `/join/${encodeURIComponent(room)}`, {});
    await this.o.store.setState(key, answer.room_id);
    return answer.room_id;
  }

  private async request(method: string, path: string, body: unknown): Promise<{ room_id: string }> {
    const url = `${this.o.homeserverUrl.replace(/\/+$/, '')}/_matrix/client/v3${path}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: { authorization: `Bearer ${this.o.accessToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      throw new Error(`homeserver unreachable: ${cause ?? (err as Error).message}`);
    }
    const text = (await readBodyLimited(res, MAX_ANSWER_BYTES, 'the homeserver answer').catch(() => Buffer.alloc(0))).toString('utf8');
    let answer: { room_id?: unknown; errcode?: unknown; error?: unknown } = {};
    try {
      answer = JSON.parse(text) as typeof answer;
    } catch {
      /* a proxy's error page */
    }
    if (res.ok && typeof answer.room_id === 'string' && /^![^\s]{1,255}$/.test(answer.room_id)) return { room_id: answer.room_id };
    throw new Error(
      `homeserver answered ${method} ${path.split('/')[1]} with ${res.status} ${typeof answer.errcode === 'string' ? answer.errcode : ''} ${typeof answer.error === 'string' ? stripControl(answer.error).slice(0, 200) : ''}`.trim(),
    );
  }
}
