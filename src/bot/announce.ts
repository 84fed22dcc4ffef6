/**
 * Ops events in the room: each stored event (node joined, deploy finished or failed) becomes one
 * m.notice through the outbox, with a transaction id derived from the event's id, and a cursor
 * advanced in the same transaction; so nothing is posted twice, and events emitted while the
 * homeserver or the bot was down are posted when it is back. The room is matrix.eventsRoom (joined
 * here) or else the alerts room.
 */
import { retry, type BackoffPolicy } from '../core/backoff.ts';
import type { Logger } from '../core/logger.ts';
import type { OpsEvents, PushedRefs, StoredOpsEvent } from '../ops/events/index.ts';
import { html } from '../core/html.ts';
import { valueText } from './render.ts';
import { txnIdFor, type BotStore, type OutgoingMessage } from './store.ts';

const CURSOR_KEY = 'opsEvents:cursor';
const CHECK_MS = 2000;
const JOIN_RETRY: BackoffPolicy = { baseMs: 1000, maxMs: 30000 };

/** "20000 tags created, 1 branch updated" (the kinds a push touched). */
export function describeRefChanges(refs: PushedRefs): string {
  const parts: string[] = [];
  const add = (n: number, one: string, many: string, what: string) => {
    if (n) parts.push(`${n} ${n === 1 ? one : many} ${what}`);
  };
  for (const [changes, one, many] of [
    [refs.branches, 'branch', 'branches'],
    [refs.tags, 'tag', 'tags'],
  ] as const) {
    add(changes.created, one, many, 'created');
    add(changes.updated, one, many, 'updated');
    add(changes.deleted, one, many, 'deleted');
  }
  add(refs.other, 'other ref', 'other refs', 'changed');
  return parts.join(', ');
}

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
      if (e.refs && e.refs.total > 1) {
        const more = e.refs.total > e.refs.names.length ? ` and ${e.refs.total - e.refs.names.length} more` : '';
        const names = e.refs.names.map(t).join(', ') + more;
        const changes = describeRefChanges(e.refs);
        return {
          text: `${t(e.by)} pushed ${what} to ${t(e.repo)}: ${changes} (${names})`,
          html: html`${t(e.by)} pushed ${what} to <code>${t(e.repo)}</code>: ${changes} (${names})`.value,
        };
      }
      return {
        text: `${t(e.by)} pushed ${what} to ${t(e.repo)} ${t(e.ref)}`,
        html: html`${t(e.by)} pushed ${what} to <code>${t(e.repo)}</code> <code>${t(e.ref)}</code>`.value,
      };
    }
  }
}

export interface AnnouncerOptions {
  store: BotStore;
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
  private catchingUp: Promise<void> | undefined;
  private catchUpAgain = false;

  constructor(private readonly o: AnnouncerOptions) {}

  async start(): Promise<void> {
    // From the first start on: events from before the bot served any room are history, not news.
    if ((await this.cursor()) === undefined) await this.o.store.setState(CURSOR_KEY, String(await this.o.events.latestId()));
    if (this.stopped) return;
    if (this.o.eventsRoom) {
      this.roomId = this.o.eventsRoom.startsWith('!') ? this.o.eventsRoom : await this.o.store.getState(`eventsRoom:${this.o.eventsRoom}`);
      if (this.stopped) return;
      void this.join();
    }
    this.unsubscribe = this.o.events.subscribe(() => this.catchUp());
    this.timer = setInterval(() => this.catchUp(), CHECK_MS);
    this.timer.unref();
    this.catchUp();
  }

  /** Stops, and waits for a pass in progress (it writes to the store). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopJoin();
    this.unsubscribe?.();
    clearInterval(this.timer);
    await this.catchingUp;
  }

  /** Queues every event after the cursor; a no-op until the room is known. One pass at a time (a call during a pass runs another). */
  catchUp(): void {
    this.catchUpAgain = true;
    if (this.catchingUp) return;
    this.catchingUp = (async () => {
      try {
        while (this.catchUpAgain && !this.stopped) {
          this.catchUpAgain = false;
          await this.catchUpOnce();
        }
      } finally {
        // In the same step as the last check of the flag: a call from now on starts a new pass.
        this.catchingUp = undefined;
      }
    })();
  }

  private async catchUpOnce(): Promise<void> {
    const roomId = this.o.eventsRoom ? this.roomId : this.o.fallbackRoomId();
    if (!roomId || this.stopped) return;
    try {
      let queued = 0;
      for (;;) {
        const batch = await this.o.events.since((await this.cursor()) ?? 0, 100);
        if (!batch.length) break;
        const messages: OutgoingMessage[] = batch.map((e) => {
          const { text, html } = renderOpsEvent(e);
          const content = { msgtype: 'm.notice', body: text, format: 'org.matrix.custom.html', formatted_body: html, 'm.mentions': {} };
          return { txnId: txnIdFor(`ops-event:${e.id}`, 'ops-event'), roomId, content };
        });
        // The messages and the cursor past them, as one unit.
        await this.o.store.queueWithState(messages, { key: CURSOR_KEY, value: String(batch[batch.length - 1]!.id) });
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
        await this.o.store.setState(`eventsRoom:${this.o.eventsRoom}`, id);
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

  private async cursor(): Promise<number | undefined> {
    const v = await this.o.store.getState(CURSOR_KEY);
    return v === undefined ? undefined : Number(v);
  }
}
