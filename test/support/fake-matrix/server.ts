/**
 * A Matrix homeserver fake over plain HTTP, faithful to the parts of the client-server API that
 * matrix-bot-sdk and labd's bot use: versions, whoami, filters, `/sync` long-poll with `since`
 * tokens, joins, sends with transaction ids (idempotent per access token), state, events,
 * redactions and relations. Tests steer it: inject messages, read timelines, answer 429
 * `M_LIMIT_EXCEEDED`, go down (connection refused or 502), lose responses after committing.
 * Every event a client sends (PUT send, redact) is checked against the Matrix spec's schemas; a
 * violation is answered 400 M_BAD_JSON and kept in `schemaViolations`.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MatrixError, RoomStore, type MatrixEvent, type Room } from './rooms.ts';
import { SpecChecker, type SchemaViolation } from './spec-check.ts';
import { buildSync, parseSince, type SyncFilter } from './sync.ts';

export interface FakeMatrixOptions {
  host?: string;
  port?: number;
  serverName?: string;
}

export interface FakeUser {
  userId: string;
  accessToken: string;
  deviceId: string;
}

export interface RequestRecord {
  method: string;
  path: string;
  status: number;
  userId?: string;
}

export type DownMode = 'refused' | '502';

const MAX_BODY = 1024 * 1024;
const MAX_SYNC_TIMEOUT_MS = 30000;

export class FakeMatrix {
  readonly store: RoomStore;
  readonly serverName: string;
  /** Requests seen, oldest first, with the status answered. */
  readonly requests: RequestRecord[] = [];
  /** Sent events that broke the spec's schemas (answered 400 M_BAD_JSON), oldest first. */
  readonly schemaViolations: (SchemaViolation & { userId: string; path: string })[] = [];
  private readonly spec = new SpecChecker();
  url = '';
  private server: Server | undefined;
  private port = 0;
  private readonly users = new Map<string, FakeUser>();
  private readonly filters = new Map<string, SyncFilter>();
  private readonly accountData = new Map<string, unknown>();
  /** `${accessToken}\0${endpoint}\0${txnId}` → event id: a retried PUT answers the first event. */
  private readonly txns = new Map<string, string>();
  private rateLimited = { remaining: 0, retryAfterMs: 0, header: true };
  private lostResponses = 0;
  private down: DownMode | false = false;
  private readonly syncAborts = new Set<AbortController>();

  private constructor(private readonly opts: FakeMatrixOptions) {
    this.serverName = opts.serverName ?? 'fake.test';
    this.store = new RoomStore(this.serverName);
  }

  static async start(opts: FakeMatrixOptions = {}): Promise<FakeMatrix> {
    const fake = new FakeMatrix(opts);
    await fake.listen(opts.port ?? 0);
    return fake;
  }

  /** Registers a user and returns its access token. */
  addUser(localpart: string): FakeUser {
    const userId = `@${localpart}:${this.serverName}`;
    const user = {
      userId,
      accessToken: `syt_${Buffer.from(localpart).toString('base64url')}_${randomBytes(12).toString('hex')}`,
      deviceId: randomBytes(5).toString('hex').toUpperCase(),
    };
    this.users.set(user.accessToken, user);
    return user;
  }

  createRoom(creator: string, opts: { alias?: string; members?: string[]; invite?: string[] } = {}): Room {
    const room = this.store.createRoom(creator, { alias: opts.alias });
    for (const m of opts.members ?? []) this.store.append(room, { type: 'm.room.member', sender: m, state_key: m, content: { membership: 'join' } });
    for (const m of opts.invite ?? []) this.store.append(room, { type: 'm.room.member', sender: creator, state_key: m, content: { membership: 'invite' } });
    return room;
  }

  /** Puts an event from `sender` into a room as if their client had sent it. */
  inject(roomId: string, sender: string, content: Record<string, unknown>, type = 'm.room.message'): MatrixEvent {
    const room = this.store.room(roomId);
    if (type === 'm.room.redaction') return this.store.append(room, { type, sender, content, redacts: content.redacts as string });
    return this.store.append(room, { type, sender, content });
  }

  /** A text message, optionally as a reply (with the quoted fallback old clients send). */
  say(roomId: string, sender: string, body: string, o: { replyTo?: MatrixEvent; fallback?: boolean; msgtype?: string } = {}): MatrixEvent {
    const content: Record<string, unknown> = { msgtype: o.msgtype ?? 'm.text', body };
    if (o.replyTo) {
      content['m.relates_to'] = { 'm.in_reply_to': { event_id: o.replyTo.event_id } };
      if (o.fallback) {
        const quoted = String(o.replyTo.content.body ?? '')
          .split('\n')
          .map((l, i) => (i === 0 ? `> <${o.replyTo!.sender}> ${l}` : `> ${l}`));
        content.body = `${quoted.join('\n')}\n\n${body}`;
        content.format = 'org.matrix.custom.html';
        content.formatted_body = `<mx-reply><blockquote><a href="https://matrix.to/#/${o.replyTo.room_id}/${o.replyTo.event_id}">In reply to</a> <a href="https://matrix.to/#/${o.replyTo.sender}">${o.replyTo.sender}</a><br>${String(o.replyTo.content.body ?? '')}</blockquote></mx-reply>${body}`;
      }
    }
    return this.inject(roomId, sender, content);
  }

  /** An edit (m.replace) of `original` to `body`, with the "* " fallback body clients send. */
  edit(original: MatrixEvent, body: string): MatrixEvent {
    return this.inject(original.room_id, original.sender, {
      msgtype: 'm.text',
      body: `* ${body}`,
      'm.new_content': { msgtype: 'm.text', body },
      'm.relates_to': { rel_type: 'm.replace', event_id: original.event_id },
    });
  }

  react(target: MatrixEvent, sender: string, key: string): MatrixEvent {
    return this.inject(target.room_id, sender, { 'm.relates_to': { rel_type: 'm.annotation', event_id: target.event_id, key } }, 'm.reaction');
  }

  timeline(roomId: string): MatrixEvent[] {
    return this.store.room(roomId).timeline.map((s) => s.event);
  }

  /** The next `count` rate-limited requests (sends, redactions, state) get 429 M_LIMIT_EXCEEDED. */
  rateLimit(count: number, retryAfterMs: number, o: { header?: boolean } = {}): void {
    this.rateLimited = { remaining: count, retryAfterMs, header: o.header ?? true };
  }

  /** The next `count` sends are stored but answered 502, as when a proxy loses the response. */
  loseResponses(count: number): void {
    this.lostResponses = count;
  }

  /** Goes down: the port refuses connections, or every request gets 502 from a "proxy". */
  async setDown(mode: DownMode | false): Promise<void> {
    if (mode === this.down) return;
    const was = this.down;
    this.down = mode;
    if (mode === 'refused') await this.close();
    else if (was === 'refused') await this.listen(this.port);
    if (mode) for (const a of this.syncAborts) a.abort();
  }

  async stop(): Promise<void> {
    for (const a of this.syncAborts) a.abort();
    await this.close();
  }

  private close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private listen(port: number): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.keepAliveTimeout = 1000;
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.opts.host ?? '127.0.0.1', () => {
        const a = server.address() as AddressInfo;
        this.port = a.port;
        this.url = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
        resolve();
      });
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const record: RequestRecord = { method: req.method ?? 'GET', path: url.pathname, status: 0 };
    this.requests.push(record);
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      record.status = status;
      if (res.writableEnded) return;
      res.writeHead(status, { 'content-type': 'application/json', 'access-control-allow-origin': '*', ...headers });
      res.end(JSON.stringify(body));
    };
    if (this.down === '502') {
      record.status = 502;
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html><body><h1>502 Bad Gateway</h1></body></html>');
      return;
    }
    try {
      const body = await readJson(req);
      const out = await this.route(req, url, body, record);
      send(out.status ?? 200, out.body, out.headers);
    } catch (err) {
      if (err instanceof MatrixError) {
        const headers: Record<string, string> = {};
        if (err.errcode === 'M_LIMIT_EXCEEDED' && err.extra.header) headers['retry-after'] = String(Math.ceil(Number(err.extra.retry_after_ms) / 1000));
        const { header: _h, ...extra } = err.extra;
        send(err.status, { errcode: err.errcode, error: err.message, ...extra }, headers);
      } else if ((err as Error).message === 'lost response') {
        record.status = 502;
        res.writeHead(502, { 'content-type': 'text/html' });
        res.end('<html><body><h1>502 Bad Gateway</h1></body></html>');
      } else {
        send(500, { errcode: 'M_UNKNOWN', error: String((err as Error).message) });
      }
    }
  }

  private auth(req: IncomingMessage, url: URL): FakeUser {
    const header = req.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice(7) : url.searchParams.get('access_token');
    if (!token) throw new MatrixError(401, 'M_MISSING_TOKEN', 'Missing access token');
    const user = this.users.get(token);
    if (!user) throw new MatrixError(401, 'M_UNKNOWN_TOKEN', 'Unknown access token', { soft_logout: false });
    return user;
  }

  private checkRateLimit(): void {
    if (this.rateLimited.remaining <= 0) return;
    this.rateLimited.remaining--;
    throw new MatrixError(429, 'M_LIMIT_EXCEEDED', 'Too Many Requests', { retry_after_ms: this.rateLimited.retryAfterMs, header: this.rateLimited.header });
  }

  private requireJoined(room: Room, user: FakeUser): void {
    if (this.store.membership(room, user.userId) !== 'join') throw new MatrixError(403, 'M_FORBIDDEN', `User ${user.userId} not in room ${room.roomId}`);
  }

  /** Refuses an event that breaks the spec's schemas, as a homeserver refuses malformed JSON. */
  private checkSpec(user: FakeUser, record: RequestRecord, event: Parameters<SpecChecker['check']>[0]): void {
    const found = this.spec.check(event);
    if (!found.length) return;
    for (const v of found) this.schemaViolations.push({ ...v, userId: user.userId, path: record.path });
    throw new MatrixError(
      400,
      'M_BAD_JSON',
      `event does not match the spec: ${found.map((v) => `${v.what}: ${v.errors.join('; ')}`).join(' | ')}`.slice(0, 2000),
    );
  }

  /** Runs a PUT with a transaction id once per access token; a repeat answers the first event id. */
  private once(user: FakeUser, endpoint: string, txnId: string, make: () => MatrixEvent): { body: { event_id: string } } {
    const key = `${user.accessToken}\u0000${endpoint}\u0000${txnId}`;
    const seen = this.txns.get(key);
    if (seen) return { body: { event_id: seen } };
    this.checkRateLimit();
    const event = make();
    event.unsigned = { ...event.unsigned, transaction_id: txnId };
    this.txns.set(key, event.event_id);
    if (this.lostResponses > 0) {
      this.lostResponses--;
      throw new Error('lost response');
    }
    return { body: { event_id: event.event_id } };
  }

  private async route(
    req: IncomingMessage,
    url: URL,
    body: Record<string, unknown> | undefined,
    record: RequestRecord,
  ): Promise<{ status?: number; body: unknown; headers?: Record<string, string> }> {
    const method = req.method ?? 'GET';
    if (url.pathname === '/_matrix/client/versions')
      return {
        body: { versions: ['r0.6.1', 'v1.1', 'v1.2', 'v1.3', 'v1.4', 'v1.5', 'v1.6', 'v1.7', 'v1.8', 'v1.9', 'v1.10', 'v1.11'], unstable_features: {} },
      };
    const m = /^\/_matrix\/client\/(v1|v3|r0)\/(.*)$/.exec(url.pathname);
    if (!m) throw new MatrixError(404, 'M_UNRECOGNIZED', 'Unrecognized request');
    const parts = m[2]!.split('/').map((p) => decodeURIComponent(p));
    const user = this.auth(req, url);
    record.userId = user.userId;
    const [a, b, c, d, e, f] = parts;

    if (a === 'account' && b === 'whoami' && method === 'GET') return { body: { user_id: user.userId, device_id: user.deviceId, is_guest: false } };
    if (a === 'joined_rooms' && method === 'GET') return { body: { joined_rooms: this.store.joinedRooms(user.userId).map((r) => r.roomId) } };
    if (a === 'sync' && method === 'GET') return { body: await this.sync(user, url) };
    if (a === 'user' && c === 'filter') {
      if (b !== user.userId) throw new MatrixError(403, 'M_FORBIDDEN', 'Cannot create filters for other users');
      if (method === 'POST' && parts.length === 3) {
        const id = String(this.filters.size + 1);
        this.filters.set(id, (body ?? {}) as SyncFilter);
        return { body: { filter_id: id } };
      }
      if (method === 'GET' && d) {
        const filter = this.filters.get(d);
        if (!filter) throw new MatrixError(404, 'M_NOT_FOUND', 'No such filter');
        return { body: filter };
      }
    }
    if (a === 'user' && c === 'account_data' && d) {
      if (b !== user.userId) throw new MatrixError(403, 'M_FORBIDDEN', 'Cannot access account data of other users');
      const key = `${user.userId}\u0000${d}`;
      if (method === 'PUT') {
        this.accountData.set(key, body ?? {});
        return { body: {} };
      }
      if (method === 'GET') {
        if (!this.accountData.has(key)) throw new MatrixError(404, 'M_NOT_FOUND', 'Account data not found');
        return { body: this.accountData.get(key) };
      }
    }
    if (a === 'createRoom' && !b && method === 'POST') return { body: { room_id: this.createRoomFor(user, body ?? {}).roomId } };
    if (a === 'join' && b && method === 'POST') return { body: { room_id: this.join(user, b).roomId } };
    if (a === 'directory' && b === 'room' && c && method === 'GET') {
      const room = this.store.resolve(c);
      return { body: { room_id: room.roomId, servers: [this.serverName] } };
    }
    if (a === 'rooms' && b) {
      const room = this.store.room(b);
      if (c === 'join' && method === 'POST') return { body: { room_id: this.join(user, room.roomId).roomId } };
      if (c === 'leave' && method === 'POST') {
        this.requireJoined(room, user);
        this.store.append(room, { type: 'm.room.member', sender: user.userId, state_key: user.userId, content: { membership: 'leave' } });
        return { body: {} };
      }
      if (c === 'send' && d && e && method === 'PUT') {
        this.requireJoined(room, user);
        const content = body ?? {};
        this.checkSpec(user, record, { type: d, content, sender: user.userId, room_id: room.roomId });
        return this.once(user, 'send', e, () => this.store.append(room, { type: d, sender: user.userId, content }));
      }
      if (c === 'redact' && d && e && method === 'PUT') {
        this.requireJoined(room, user);
        if (!this.store.findEvent(room, d)) throw new MatrixError(404, 'M_NOT_FOUND', 'Event not found');
        const content = { redacts: d, ...(body?.reason !== undefined ? { reason: body.reason } : {}) };
        this.checkSpec(user, record, { type: 'm.room.redaction', content, redacts: d, sender: user.userId, room_id: room.roomId });
        return this.once(user, 'redact', e, () => this.store.append(room, { type: 'm.room.redaction', sender: user.userId, redacts: d, content }));
      }
      if (c === 'state' && method === 'GET') {
        this.requireJoined(room, user);
        if (!d) return { body: [...room.state.values()] };
        const event = room.state.get(`${d}\u0000${e ?? ''}`);
        if (!event) throw new MatrixError(404, 'M_NOT_FOUND', 'Event not found.');
        return { body: event.content };
      }
      if (c === 'state' && d && method === 'PUT') {
        this.requireJoined(room, user);
        this.checkRateLimit();
        const event = this.store.append(room, { type: d, sender: user.userId, state_key: e ?? '', content: body ?? {} });
        return { body: { event_id: event.event_id } };
      }
      if (c === 'event' && d && method === 'GET') {
        this.requireJoined(room, user);
        const event = this.store.findEvent(room, d);
        if (!event) throw new MatrixError(404, 'M_NOT_FOUND', 'Event not found');
        return { body: event };
      }
      if ((c === 'joined_members' || c === 'members') && method === 'GET') {
        this.requireJoined(room, user);
        const joined = [...room.state.values()].filter((s) => s.type === 'm.room.member' && s.content.membership === 'join');
        if (c === 'members') return { body: { chunk: joined } };
        return { body: { joined: Object.fromEntries(joined.map((s) => [s.state_key, { display_name: null, avatar_url: null }])) } };
      }
      if (c === 'relations' && d && method === 'GET') {
        this.requireJoined(room, user);
        const chunk = room.timeline
          .map((s) => s.event)
          .filter((ev) => {
            const rel = ev.content['m.relates_to'] as { event_id?: string; rel_type?: string } | undefined;
            return rel?.event_id === d && (!e || rel.rel_type === e) && (!f || ev.type === f);
          })
          .reverse();
        return { body: { chunk } };
      }
    }
    throw new MatrixError(404, 'M_UNRECOGNIZED', 'Unrecognized request');
  }

  /**
   * POST /createRoom as the spec has it: the creator joins, `invite` users are invited, `preset`
   * sets the join rule (private_chat / trusted_private_chat: invite; public_chat: public), and
   * `is_direct` marks the invites as a direct chat.
   */
  private createRoomFor(user: FakeUser, body: Record<string, unknown>): Room {
    const invite = body.invite ?? [];
    if (!Array.isArray(invite) || invite.some((u) => typeof u !== 'string' || !/^@[^:]+:.+$/.test(u)))
      throw new MatrixError(400, 'M_INVALID_PARAM', 'invite must be a list of user ids');
    const preset = body.preset ?? (body.visibility === 'public' ? 'public_chat' : 'private_chat');
    if (!['private_chat', 'trusted_private_chat', 'public_chat'].includes(String(preset)))
      throw new MatrixError(400, 'M_INVALID_PARAM', `unknown preset ${String(preset)}`);
    const room = this.store.createRoom(user.userId, { alias: typeof body.room_alias_name === 'string' ? body.room_alias_name : undefined });
    if (preset !== 'public_chat') this.store.append(room, { type: 'm.room.join_rules', sender: user.userId, state_key: '', content: { join_rule: 'invite' } });
    if (typeof body.name === 'string') this.store.append(room, { type: 'm.room.name', sender: user.userId, state_key: '', content: { name: body.name } });
    for (const m of invite as string[])
      this.store.append(room, {
        type: 'm.room.member',
        sender: user.userId,
        state_key: m,
        content: { membership: 'invite', ...(body.is_direct ? { is_direct: true } : {}) },
      });
    return room;
  }

  private join(user: FakeUser, idOrAlias: string): Room {
    const room = this.store.resolve(idOrAlias);
    const membership = this.store.membership(room, user.userId);
    if (membership === 'ban') throw new MatrixError(403, 'M_FORBIDDEN', 'You are banned from the room');
    const rule = room.state.get('m.room.join_rules\u0000')?.content.join_rule;
    if (membership !== 'join' && membership !== 'invite' && rule !== 'public') throw new MatrixError(403, 'M_FORBIDDEN', 'You are not invited to this room.');
    if (membership !== 'join') this.store.append(room, { type: 'm.room.member', sender: user.userId, state_key: user.userId, content: { membership: 'join' } });
    return room;
  }

  private async sync(user: FakeUser, url: URL): Promise<unknown> {
    const since = parseSince(url.searchParams.get('since') ?? undefined);
    if (Number.isNaN(since)) throw new MatrixError(400, 'M_INVALID_PARAM', 'Invalid since token');
    const filterParam = url.searchParams.get('filter');
    let filter: SyncFilter = {};
    if (filterParam?.startsWith('{')) {
      try {
        filter = JSON.parse(filterParam) as SyncFilter;
      } catch {
        throw new MatrixError(400, 'M_NOT_JSON', 'filter is not valid JSON');
      }
    } else if (filterParam) {
      const stored = this.filters.get(filterParam);
      if (!stored) throw new MatrixError(400, 'M_INVALID_PARAM', 'Invalid filter ID');
      filter = stored;
    }
    const timeout = Math.min(Math.max(0, Number(url.searchParams.get('timeout') ?? 0) || 0), MAX_SYNC_TIMEOUT_MS);
    const deadline = Date.now() + timeout;
    const abort = new AbortController();
    this.syncAborts.add(abort);
    try {
      for (;;) {
        const { response, empty } = buildSync(this.store, user.userId, since, filter);
        const left = deadline - Date.now();
        if (!empty || since === undefined || left <= 0 || abort.signal.aborted) return response;
        await this.store.waitForEvents(left, abort.signal);
        if (this.down) throw new Error('homeserver went down');
      }
    } finally {
      this.syncAborts.delete(abort);
    }
  }
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new MatrixError(413, 'M_TOO_LARGE', 'Request body too large');
    chunks.push(chunk as Buffer);
  }
  if (!size) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    return parsed as Record<string, unknown>;
  } catch {
    throw new MatrixError(400, 'M_NOT_JSON', 'Content not JSON.');
  }
}
