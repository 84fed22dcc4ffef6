/**
 * Ops events in the room: each stored event (node joined, deploy finished or failed) becomes one
 * m.notice through the outbox, with a transaction id derived from the event's id, and a cursor
 * advanced in the same transaction; so nothing is posted twice, and events emitted while the
 * homeserver or the bot was down are posted when it is back. The room is matrix.eventsRoom (joined
 * here) or else the alerts room.
 */
import { retry, type BackoffPolicy } from '../core/backoff.ts';
import { eq } from 'drizzle-orm';
import type { Logger } from '../core/logger.ts';
import type { Db } from '../db/client.ts';
import { matrixOutbox, matrixState } from '../db/schema.ts';
import type { OpsEvents, StoredOpsEvent } from '../ops/events/index.ts';
import { html } from '../core/html.ts';
import { valueText } from './render.ts';
import { txnIdFor } from './store.ts';

const CURSOR_KEY = 'opsEvents:cursor';
const CHECK_MS = 2000;
const JOIN_RETRY: BackoffPolicy = { baseMs: 1000, maxMs: 30000 };

export function renderOpsEvent(e: StoredOpsEvent): { text: string; html: string } {
  const t = (s: string) => valueText(s);
  switch (e.kind) {
    case 'node.joined': {
      const extra = [e.role ? `role ${e.role}` : '', e.location ? `location ${e.location}` : ''].filter(Boolean).join(', ');
      return {
        text: `Node ${t(e.node)} joined the cluster${extra ? ` (${t(extra)})` : ''}.`,
        html: html`Node <code>${t(e.node)}</code> joined the cluster${extra ? ` (${t(extra)})` : ''}.`.value,
      };
    }
    case 'deploy.finished':
      return {
        text: `Deploy finished: ${t(e.deployment)} (${t(e.action)} by ${t(e.by)}): ${t(e.detail)}`,
        html: html`✅ Deploy finished: <code>${t(e.deployment)}</code> (${t(e.action)} by ${t(e.by)}): ${t(e.detail)}`.value,
      };
    case 'deploy.failed':
      return {
        text: `Deploy FAILED: ${t(e.deployment)} (${t(e.action)} by ${t(e.by)}): ${t(e.error)}`,
        html: html`❌ <strong>Deploy failed</strong>: <code>${t(e.deployment)}</code> (${t(e.action)} by ${t(e.by)}): ${t(e.error)}`.value,
      };
    case 'git.pushed': {
      const what = e.commits === 1 ? '1 commit' : `${e.commits} commits`;
      return {
        text: `${t(e.by)} pushed ${what} to ${t(e.repo)} ${t(e.ref)}`,
        html: html`${t(e.by)} pushed ${what} to <code>${t(e.repo)}</code> <code>${t(e.ref)}</code>`.value,
      };
    }
  }
}

export interface AnnouncerOptions {
  db: Db;
  events: OpsEvents;
  log: Logger;
  /** The room to announce in, once known (for the alerts room: the alert room's id). */
  fallbackRoomId: () => string | undefined;
  /** matrix.eventsRoom, joined by the announcer itself. */
  eventsRoom?: string;
  joinRoom: (room: string) => Promise<string>;
  kick: () => void;
}

export class EventAnnouncer {
  private roomId: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private stopped = false;
  private stopJoin: () => void = () => {};

  constructor(private readonly o: AnnouncerOptions) {}

  start(): void {
    // From the first start on: events from before the bot served any room are history, not news.
    if (this.cursor() === undefined) this.setCursor(this.o.events.latestId());
    if (this.o.eventsRoom) {
      this.roomId = this.o.eventsRoom.startsWith('!') ? this.o.eventsRoom : this.stored(`eventsRoom:${this.o.eventsRoom}`);
      void this.join();
    }
    this.unsubscribe = this.o.events.subscribe(() => this.catchUp());
    this.timer = setInterval(() => this.catchUp(), CHECK_MS);
    this.timer.unref();
    this.catchUp();
  }

  stop(): void {
    this.stopped = true;
    this.stopJoin();
    this.unsubscribe?.();
    clearInterval(this.timer);
  }

  /** Queues every event after the cursor; a no-op until the room is known. */
  catchUp(): void {
    const roomId = this.o.eventsRoom ? this.roomId : this.o.fallbackRoomId();
    if (!roomId || this.stopped) return;
    try {
      let queued = 0;
      for (;;) {
        const batch = this.o.events.since(this.cursor() ?? 0, 100);
        if (!batch.length) break;
        this.o.db.transaction((tx) => {
          for (const e of batch) {
            const { text, html } = renderOpsEvent(e);
            const content = { msgtype: 'm.notice', body: text, format: 'org.matrix.custom.html', formatted_body: html, 'm.mentions': {} };
            tx.insert(matrixOutbox)
              .values({
                txnId: txnIdFor(`ops-event:${e.id}`, 'ops-event'),
                roomId,
                eventType: 'm.room.message',
                content: JSON.stringify(content),
                nextAttemptAt: new Date(),
              })
              .onConflictDoNothing()
              .run();
          }
          const last = String(batch[batch.length - 1]!.id);
          tx.insert(matrixState)
            .values({ key: CURSOR_KEY, value: last })
            .onConflictDoUpdate({ target: matrixState.key, set: { value: last } })
            .run();
        });
        queued += batch.length;
      }
      if (queued) {
        this.o.log.debug({ queued, roomId }, 'matrix: ops events queued');
        this.o.kick();
      }
    } catch (err) {
      this.o.log.warn({ err }, 'matrix: could not queue ops events; retrying');
    }
  }

  private async join(): Promise<void> {
    const stop = new AbortController();
    this.stopJoin = () => stop.abort();
    await retry(
      async () => {
        if (this.stopped) return;
        const id = await this.o.joinRoom(this.o.eventsRoom!);
        this.roomId = id;
        this.o.db
          .insert(matrixState)
          .values({ key: `eventsRoom:${this.o.eventsRoom}`, value: id })
          .onConflictDoUpdate({ target: matrixState.key, set: { value: id } })
          .run();
        this.catchUp();
      },
      {
        policy: JOIN_RETRY,
        signal: stop.signal,
        onRetry: (err, _n, retryInMs) =>
          this.o.log.warn({ room: this.o.eventsRoom, error: (err as Error).message, retryInMs }, 'matrix: cannot join the events room yet'),
      },
    ).catch(() => undefined /* stopped */);
  }

  private stored(key: string): string | undefined {
    return this.o.db.select().from(matrixState).where(eq(matrixState.key, key)).get()?.value;
  }

  private cursor(): number | undefined {
    const v = this.stored(CURSOR_KEY);
    return v === undefined ? undefined : Number(v);
  }

  private setCursor(id: number): void {
    this.o.db
      .insert(matrixState)
      .values({ key: CURSOR_KEY, value: String(id) })
      .onConflictDoUpdate({ target: matrixState.key, set: { value: String(id) } })
      .run();
  }
}
