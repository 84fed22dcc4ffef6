/**
 * The reply of a command that takes a while: after LONG_COMMAND_MS (or at its first progress
 * line) the request gets a 👀 reaction and a "running" reply, which is then edited (m.replace) with
 * the progress lines, at most once per EDIT_INTERVAL_MS, and finally with the result. Everything
 * goes through the outbox with transaction ids derived from the request, so nothing is sent twice
 * and the command itself never runs again to show its output.
 */
import { TXN_REF } from './outbox.ts';
import { html } from '../core/html.ts';
import { valueText, type MatrixBody } from './render.ts';
import { txnIdFor, type BotStore, type InboxRow } from './store.ts';

/** A command still running after this long is acknowledged at once and answered with progress. */
export const LONG_COMMAND_MS = 1000;
/** Progress edits of one reply are at least this far apart (homeservers rate-limit edits like messages). */
export const EDIT_INTERVAL_MS = 2000;
/** The progress reply shows this many of the newest lines. */
const SHOWN_LINES = 15;
const LINE_MAX = 300;
export const WORKING_REACTION = '👀';

export interface ProgressReplyOptions {
  store: BotStore;
  /** The event being handled: its id seeds every transaction id. */
  row: InboxRow;
  /** The event the answer replies to and the 👀 goes on. */
  replyTo: string;
  threadRoot?: string;
  /** The command line, as shown while it runs. */
  command: string;
  replyContent: (body: MatrixBody, replyTo: string, threadRoot?: string) => Record<string, unknown>;
  kick: () => void;
}

export class ProgressReply {
  private readonly lines: string[] = [];
  private long = false;
  private done = false;
  private edits = 0;
  private lastEditAt = 0;
  private readonly startTimer: NodeJS.Timeout;
  private editTimer: NodeJS.Timeout | undefined;
  /** Rows are queued one after another, in the order they were produced (the outbox sends by insertion order). */
  private writes: Promise<void> = Promise.resolve();

  constructor(private readonly o: ProgressReplyOptions) {
    this.startTimer = setTimeout(() => this.goLong(), LONG_COMMAND_MS);
  }

  /** Queues after every earlier row; a failed progress row is skipped (the final answer still comes). */
  private write(fn: () => Promise<void>): void {
    this.writes = this.writes.then(fn).catch(() => undefined);
  }

  private txn(purpose: string): string {
    return txnIdFor(this.o.row.eventId, purpose);
  }

  /** A progress line from the command (ctx.progress). */
  report(message: string): void {
    if (this.done) return;
    this.lines.push(valueText(message).slice(0, LINE_MAX));
    if (!this.long) this.goLong();
    else this.scheduleEdit();
  }

  private statusBody(): MatrixBody {
    const shown = this.lines.slice(-SHOWN_LINES);
    const skipped = this.lines.length - shown.length;
    const head = `running '${this.o.command}'…`;
    const text = [head, ...(skipped ? [`(${skipped} earlier lines)`] : []), ...shown].join('\n');
    const list = shown.length ? html`<pre><code>${[...(skipped ? [`(${skipped} earlier lines)`] : []), ...shown].join('\n')}</code></pre>` : '';
    return { text, html: html`<em>running</em> <code>${this.o.command}</code>…${list}`.value };
  }

  private goLong(): void {
    if (this.long || this.done) return;
    this.long = true;
    clearTimeout(this.startTimer);
    const { store, row, replyTo, threadRoot } = this.o;
    const running = this.o.replyContent(this.statusBody(), replyTo, threadRoot);
    this.write(async () => {
      await store.queue({
        roomId: row.roomId,
        txnId: this.txn('working'),
        eventType: 'm.reaction',
        content: { 'm.relates_to': { rel_type: 'm.annotation', event_id: replyTo, key: WORKING_REACTION } },
      });
      await store.queue({ roomId: row.roomId, txnId: this.txn('running'), content: running });
      this.o.kick();
    });
    this.lastEditAt = performance.now();
  }

  private scheduleEdit(): void {
    if (this.editTimer) return;
    const wait = Math.max(0, this.lastEditAt + EDIT_INTERVAL_MS - performance.now());
    this.editTimer = setTimeout(() => {
      this.editTimer = undefined;
      if (this.done) return;
      const message = { roomId: this.o.row.roomId, txnId: this.txn(`progress.${++this.edits}`), content: this.editContent(this.statusBody()) };
      this.write(async () => {
        await this.o.store.queue(message);
        this.o.kick();
      });
      this.lastEditAt = performance.now();
    }, wait);
  }

  /** An edit of the "running" reply, whose event id the outbox fills in once that reply is delivered. */
  private editContent(body: MatrixBody): Record<string, unknown> {
    const replacement = { msgtype: 'm.notice', body: body.text, format: 'org.matrix.custom.html', formatted_body: body.html, 'm.mentions': {} };
    return {
      ...replacement,
      body: `* ${body.text}`,
      formatted_body: `* ${body.html}`,
      'm.new_content': replacement,
      'm.relates_to': { rel_type: 'm.replace', event_id: `${TXN_REF}${this.txn('running')}` },
    };
  }

  /** The command ended: marks the event done and queues the answer (a reply, or the last edit), after the progress rows. */
  async finish(body: MatrixBody): Promise<void> {
    this.done = true;
    clearTimeout(this.startTimer);
    clearTimeout(this.editTimer);
    await this.writes;
    const { store, row, replyTo, threadRoot } = this.o;
    if (!this.long) await store.finish(row.eventId, { roomId: row.roomId, txnId: this.txn('reply'), content: this.o.replyContent(body, replyTo, threadRoot) });
    else await store.finish(row.eventId, { roomId: row.roomId, txnId: this.txn('result'), content: this.editContent(body) });
  }
}
