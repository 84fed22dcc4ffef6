import type { Writable } from 'node:stream';

/** Bytes handed to the output stream but not yet taken by it (for SSH: not yet inside the channel window). */
const IN_FLIGHT_MAX = 64 * 1024;
/** Queued chunks are joined up to this size (an SSH packet's payload) before writing. */
const COALESCE_MAX = 32 * 1024;

export type ReaderEnd = 'finished' | 'dropped' | 'closed';

/**
 * Bytes queued by all readers of all topics together, against one cap (pubsub.maxBufferedBytes). When a
 * push would pass it, the readers furthest behind are dropped first, whichever topic they read.
 */
export class BufferBudget {
  used = 0;
  readonly readers = new Set<TopicReader>();
  constructor(readonly limit: number) {}

  /** Makes room for `bytes` by dropping the readers with the largest backlog; false when `asker` is that reader. */
  makeRoom(bytes: number, asker: TopicReader): boolean {
    while (this.used + bytes > this.limit) {
      let worst: TopicReader | undefined;
      for (const r of this.readers) if (r.open && (!worst || r.backlog > worst.backlog)) worst = r;
      if (!worst || worst === asker) return false;
      worst.evict('memory');
    }
    return true;
  }
}

export interface ReaderEvents {
  /** The reader's backlog shrank (a paused publisher may go on). */
  progressed(reader: TopicReader): void;
  /** The reader fell more than its limit behind and was cut off. */
  dropped(reader: TopicReader): void;
}

/**
 * One subscriber's side of a topic: a bounded queue drained into an output stream at the
 * stream's own pace. A reader that falls more than `limit` bytes behind is dropped, so a
 * slow or stalled subscriber costs at most `limit` bytes and never holds up the others.
 */
export class TopicReader {
  private readonly queue: Buffer[] = [];
  private queued = 0;
  private inFlight = 0;
  private state: 'open' | 'finishing' | ReaderEnd = 'open';
  private settle!: (end: ReaderEnd) => void;
  private ending: ReaderEnd | undefined;
  /** How the reader ended, once everything it was given has reached the output (or could not). */
  readonly ended: Promise<ReaderEnd>;
  private readonly onOutputGone = () => this.close();
  /** Why it was dropped: its own limit, or labd's memory for all topics. */
  dropReason: 'behind' | 'memory' | undefined;

  constructor(
    readonly clientId: number,
    /** Ends when publishers leave (a plain `sub`); false for `sub -k`, pipes and tails. */
    readonly endsWithPublishers: boolean,
    private readonly out: Writable,
    readonly limit: number,
    private readonly events: ReaderEvents,
    private readonly budget: BufferBudget = new BufferBudget(Number.MAX_SAFE_INTEGER),
    /**
     * Bytes the output would still take at once that its front-end holds back (SessionIO.bulkOutput):
     * a reader may be that much more behind, as it could be when they sat in the client's window.
     */
    private readonly slack: () => number = () => 0,
  ) {
    this.ended = new Promise((resolve) => (this.settle = resolve));
    budget.readers.add(this);
    out.once('close', this.onOutputGone);
    out.once('error', this.onOutputGone);
  }

  get backlog(): number {
    return this.queued + this.inFlight;
  }

  get open(): boolean {
    return this.state === 'open';
  }

  push(chunk: Buffer): void {
    if (this.state !== 'open') return;
    if (this.backlog + chunk.length > this.limit + this.slack()) return this.evict('behind');
    if (!this.budget.makeRoom(chunk.length, this)) return this.evict('memory');
    this.queue.push(chunk);
    this.queued += chunk.length;
    this.budget.used += chunk.length;
    this.pump();
  }

  /** Drops the reader: it fell more than its limit behind, or labd's buffers for all topics are full and it is furthest behind. */
  evict(reason: 'behind' | 'memory'): void {
    if (this.state !== 'open') return;
    this.dropReason = reason;
    this.state = 'dropped';
    this.budget.used -= this.queued;
    this.queue.length = 0;
    this.queued = 0;
    this.events.dropped(this);
    this.settleWhenIdle('dropped');
  }

  /** No more data will come: end once the queue has been written. */
  finish(): void {
    if (this.state !== 'open') return;
    this.state = 'finishing';
    this.pump();
  }

  /** Stops at once (the session ended). */
  close(): void {
    if (this.state === 'closed' || this.ending) return;
    this.state = 'closed';
    this.budget.used -= this.queued;
    this.queue.length = 0;
    this.queued = 0;
    this.end('closed');
  }

  private pump(): void {
    while (this.queue.length && this.inFlight < IN_FLIGHT_MAX) {
      const chunk = this.nextChunk();
      this.queued -= chunk.length;
      this.inFlight += chunk.length;
      this.out.write(chunk, (err) => {
        this.inFlight -= chunk.length;
        this.budget.used -= chunk.length;
        if (err) return this.close();
        if (this.state === 'open' || this.state === 'finishing') {
          this.pump();
          this.events.progressed(this);
        } else if (this.state === 'dropped') this.settleWhenIdle('dropped');
      });
    }
    if (this.state === 'finishing') this.settleWhenIdle('finished');
  }

  /** The next queued chunk, joined with the small ones behind it: one SSH packet instead of many. */
  private nextChunk(): Buffer {
    let size = this.queue[0]!.length;
    let n = 1;
    while (n < this.queue.length && size + this.queue[n]!.length <= COALESCE_MAX) size += this.queue[n++]!.length;
    return n === 1 ? this.queue.shift()! : Buffer.concat(this.queue.splice(0, n), size);
  }

  private settleWhenIdle(end: ReaderEnd): void {
    if (this.inFlight === 0 && this.queue.length === 0) this.end(end);
  }

  private end(end: ReaderEnd): void {
    if (this.ending) return;
    this.ending = end;
    this.budget.readers.delete(this);
    this.out.off('close', this.onOutputGone);
    this.out.off('error', this.onOutputGone);
    this.settle(end);
  }
}
