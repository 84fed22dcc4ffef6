/**
 * Delivers the outbox in order through `PUT /rooms/{id}/send/{type}/{txnId}` with each row's fixed
 * transaction id, so a retry after a lost response never posts twice. matrix-bot-sdk neither
 * retries 429s nor keeps txn ids, hence this sender: it honours Retry-After / retry_after_ms and
 * backs off while the homeserver is down. Nothing is dropped except on a permanent refusal (4xx).
 */
import { backoffDelay, type BackoffPolicy } from '../core/backoff.ts';
import { systemClock, type Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { BotStore, OutboxRow } from './store.ts';

const REQUEST_TIMEOUT_MS = 30000;
/** Back-off of a message the homeserver did not take (network error, 5xx), when it gave no Retry-After. */
const BACKOFF: BackoffPolicy = { baseMs: 500, maxMs: 15000 };

export interface OutboxOptions {
  homeserverUrl: string;
  accessToken: string;
  store: BotStore;
  /** The clock the store stamps rows with (nextAttemptAt): when a row is due is read on the same one. */
  clock: Clock;
  log: Logger;
  /** Called (and awaited) when a row is delivered (the bot learns the event ids of its questions). */
  onSent?: (row: OutboxRow, eventId: string) => void | Promise<void>;
  /** How long to wait for rows when none is queued, unless kicked (default 60 s; rows other replicas queue do not kick). */
  idlePollMs?: number;
}

/** A relation to an earlier outbox row's event, whose id is only known once that row is delivered. */
export const TXN_REF = 'labd-txn:';
/** A reference as it appears in a row's JSON content (txn ids are base64url and dots). */
const TXN_REF_PATTERN = /labd-txn:([A-Za-z0-9._-]+)/g;

/**
 * Replaces `labd-txn:TXNID` in the content's relation (edit target, reply target) by the delivered
 * event's id. Rows go out in order, so the referenced row was handled before; undefined when it
 * was refused and the reference cannot be resolved.
 */
export function resolveRefs(content: string, eventIdOf: (txnId: string) => string | undefined): string | undefined {
  if (!content.includes(TXN_REF)) return content;
  const parsed = JSON.parse(content) as Record<string, unknown>;
  const relation = parsed['m.relates_to'] as { event_id?: string; 'm.in_reply_to'?: { event_id?: string } } | undefined;
  const resolve = (holder: { event_id?: string } | undefined): boolean => {
    if (!holder?.event_id?.startsWith(TXN_REF)) return true;
    const id = eventIdOf(holder.event_id.slice(TXN_REF.length));
    if (!id) return false;
    holder.event_id = id;
    return true;
  };
  if (!resolve(relation) || !resolve(relation?.['m.in_reply_to'])) return undefined;
  return JSON.stringify(parsed);
}

type Attempt = { ok: true; eventId: string } | { ok: false; retryInMs: number; error: string } | { ok: false; permanent: true; error: string };

export class OutboxSender {
  private stopped = false;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private readonly abort = new AbortController();
  /** The row being sent now: its content must not change any more. */
  inFlight: number | undefined;

  constructor(private readonly opts: OutboxOptions) {}

  start(): void {
    this.loop = this.run();
  }

  /** New rows are waiting. */
  kick(): void {
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    this.wake?.();
    await this.loop;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.wake = undefined;
        resolve();
      }
      this.wake = done;
    });
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.step();
      } catch (err) {
        // The store failed: wait a little, then carry on from what it holds.
        this.opts.log.error({ err }, 'matrix: the outbox could not read or record a message; retrying');
        await this.sleep(BACKOFF.maxMs);
      }
    }
  }

  private async step(): Promise<void> {
    const { store, log } = this.opts;
    const next = await store.nextOutgoing();
    if (!next) {
      await this.sleep(this.opts.idlePollMs ?? 60000);
      return;
    }
    const wait = next.nextAttemptAt.getTime() - this.opts.clock.now().getTime();
    if (wait > 0) {
      await this.sleep(wait);
      return;
    }
    this.inFlight = next.id;
    let attempt: Attempt;
    let row: OutboxRow | undefined;
    try {
      // Read again now that it is in flight: an alert edit may have rewritten it since it was listed.
      row = await store.outgoing(next.txnId);
      if (!row || row.state !== 'pending') return;
      attempt = await this.send(row);
    } finally {
      this.inFlight = undefined;
    }
    if (this.stopped && !attempt.ok) return;
    const attempts = row.attempts + 1;
    if (attempt.ok) {
      await store.markSent(row.id, attempt.eventId, this.opts.clock.now());
      log.debug({ txnId: row.txnId, eventId: attempt.eventId, attempts }, 'matrix: message delivered');
      await this.opts.onSent?.(row, attempt.eventId);
    } else if ('permanent' in attempt) {
      await store.markFailed(row.id, attempts, attempt.error);
      log.error({ txnId: row.txnId, room: row.roomId, error: attempt.error }, 'matrix: homeserver refused a message; dropped');
    } else {
      await store.markRetry(row.id, attempts, new Date(this.opts.clock.now().getTime() + attempt.retryInMs), attempt.error);
      log.warn({ txnId: row.txnId, error: attempt.error, retryInMs: attempt.retryInMs, attempts }, 'matrix: message not delivered yet; will retry');
    }
  }

  private async send(row: OutboxRow): Promise<Attempt> {
    const url = `${this.opts.homeserverUrl.replace(/\/+$/, '')}/_matrix/client/v3/rooms/${encodeURIComponent(row.roomId)}/send/${encodeURIComponent(row.eventType)}/${encodeURIComponent(row.txnId)}`;
    const backoff = backoffDelay(row.attempts, BACKOFF);
    const delivered = new Map<string, string | undefined>();
    for (const [, txnId] of row.content.matchAll(TXN_REF_PATTERN)) delivered.set(txnId!, (await this.opts.store.outgoing(txnId!))?.eventId ?? undefined);
    const content = resolveRefs(row.content, (txnId) => delivered.get(txnId));
    if (content === undefined) return { ok: false, permanent: true, error: 'refers to a message that was never delivered' };
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'PUT',
        headers: { authorization: `Bearer ${this.opts.accessToken}`, 'content-type': 'application/json' },
        body: content,
        signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      return { ok: false, retryInMs: backoff, error: `homeserver unreachable: ${cause ?? (err as Error).message}` };
    }
    const text = await res.text().catch(() => '');
    let body: { event_id?: unknown; errcode?: unknown; error?: unknown; retry_after_ms?: unknown } = {};
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      /* a proxy's HTML error page */
    }
    if (res.ok && typeof body.event_id === 'string') return { ok: true, eventId: body.event_id };
    const what = `${res.status} ${typeof body.errcode === 'string' ? body.errcode : ''} ${typeof body.error === 'string' ? body.error : ''}`.trim();
    if (res.status === 429)
      return { ok: false, retryInMs: retryAfter(res.headers.get('retry-after'), body.retry_after_ms, this.opts.clock.now()) ?? backoff, error: what };
    // Server errors, proxies without a backend, and a token that may come back (soft logout) are worth waiting for.
    if (res.status >= 500 || res.status === 401 || res.ok) return { ok: false, retryInMs: backoff, error: what };
    return { ok: false, permanent: true, error: what };
  }
}

/** Retry-After (seconds or an HTTP date) wins over the deprecated body field retry_after_ms. */
export function retryAfter(header: string | null, retryAfterMs: unknown, now: Date = systemClock.now()): number | undefined {
  if (header) {
    if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
    const at = Date.parse(header);
    if (!Number.isNaN(at)) return Math.max(0, at - now.getTime());
  }
  if (typeof retryAfterMs === 'number' && retryAfterMs >= 0) return retryAfterMs;
  return undefined;
}
