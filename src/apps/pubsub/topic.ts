import type { Readable } from 'node:stream';
import type { TopicRef } from './names.ts';
import { TopicReader, type ReaderEvents } from './reader.ts';

export type ClientKind = 'pub' | 'sub' | 'pipe';

/** Why a writer is not reading its input right now. */
export type WriterState = 'flowing' | 'waiting' | 'paced' | 'ended';

export interface TopicCounts {
  subscribers: number;
  publishers: number;
  pipes: number;
  /** Publishers blocked until a subscriber comes. */
  waiting: number;
}

/**
 * One publisher's side of a topic: reads its input while someone can take the data.
 * The input is paused (and so, over SSH, the client's window closes) while the topic has no
 * reader and the writer blocks, or while every reader it feeds is behind.
 */
export class TopicWriter {
  state: WriterState | 'new' = 'new';
  private readonly onData = (chunk: Buffer | string) => this.topic.publish(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk), this);
  private readonly onEnd = () => this.topic.removeWriter(this);

  constructor(
    readonly clientId: number,
    readonly kind: 'pub' | 'pipe',
    private readonly topic: Topic,
    private readonly input: Readable | undefined,
    /** Wait for a reader rather than drop data nobody takes (pub's -b). */
    readonly blocks: boolean,
    /** Also deliver to this client's own reader (pipe's -r). */
    readonly replay: boolean,
    private readonly onState: (state: WriterState) => void,
  ) {}

  start(): void {
    if (!this.input) return;
    this.input.pause();
    this.input.on('data', this.onData);
    this.input.once('end', this.onEnd);
    this.input.once('error', this.onEnd);
  }

  setState(state: WriterState): void {
    if (this.state === state || this.state === 'ended') return;
    this.state = state;
    if (this.input) {
      if (state === 'flowing') this.input.resume();
      else this.input.pause();
    }
    this.onState(state);
  }

  detach(): void {
    this.input?.off('data', this.onData);
    this.input?.off('end', this.onEnd);
    this.input?.off('error', this.onEnd);
    this.input?.pause();
    this.setState('ended');
  }
}

/** A live topic: its readers, its writers and who may use it. It exists while anyone is attached. */
export class Topic implements ReaderEvents {
  readonly readers = new Set<TopicReader>();
  readonly writers = new Set<TopicWriter>();
  isPublic = false;
  readonly sharedWith = new Set<string>();
  private bytes = 0;
  private messages = 0;

  constructor(
    readonly ref: TopicRef,
    /** A publisher pauses while every reader it feeds has at least this much queued. */
    private readonly paceAt: number,
    private readonly onChange: (topic: Topic) => void,
    /** When it came to be (the broker's clock). */
    readonly createdAt: Date,
  ) {}

  get empty(): boolean {
    return this.readers.size === 0 && this.writers.size === 0;
  }

  get stats(): { bytes: number; messages: number } {
    return { bytes: this.bytes, messages: this.messages };
  }

  mayUse(user: string): boolean {
    return user === this.ref.owner || this.isPublic || this.sharedWith.has(user);
  }

  counts(): TopicCounts {
    const subscribers = [...this.readers].filter((r) => !this.isPipeClient(r.clientId)).length;
    const writers = [...this.writers];
    return {
      subscribers,
      publishers: writers.filter((w) => w.kind === 'pub').length,
      pipes: writers.filter((w) => w.kind === 'pipe').length,
      waiting: writers.filter((w) => w.state === 'waiting').length,
    };
  }

  addReader(reader: TopicReader): void {
    this.readers.add(reader);
    this.pace();
    this.onChange(this);
  }

  removeReader(reader: TopicReader): void {
    if (!this.readers.delete(reader)) return;
    this.pace();
    this.onChange(this);
  }

  addWriter(writer: TopicWriter): void {
    this.writers.add(writer);
    writer.start();
    this.paceWriter(writer);
    this.onChange(this);
  }

  removeWriter(writer: TopicWriter): void {
    if (!this.writers.delete(writer)) return;
    writer.detach();
    if (this.writers.size === 0) {
      // pico's one-shot semantics: a plain `sub` ends when the last publisher leaves.
      for (const r of [...this.readers]) {
        if (r.endsWithPublishers) {
          this.readers.delete(r);
          r.finish();
        }
      }
    }
    this.pace();
    this.onChange(this);
  }

  publish(chunk: Buffer, from: TopicWriter): void {
    this.bytes += chunk.length;
    this.messages++;
    for (const r of this.readers) {
      if (r.clientId === from.clientId && !from.replay) continue;
      r.push(chunk);
    }
    this.paceWriter(from);
  }

  progressed(reader: TopicReader): void {
    if (reader.backlog >= this.paceAt) return;
    for (const w of this.writers) if (w.state === 'paced') this.paceWriter(w);
  }

  dropped(reader: TopicReader): void {
    this.removeReader(reader);
  }

  private pace(): void {
    for (const w of this.writers) this.paceWriter(w);
  }

  /**
   * A writer goes at the pace of its fastest reader: it reads on while any reader it feeds has
   * room. Slower readers fall behind into their own bounded queue and are dropped when it
   * overflows, so a slow or stalled subscriber never holds up the others (issue #3).
   */
  private paceWriter(w: TopicWriter): void {
    let readers = 0;
    let room = false;
    for (const r of this.readers) {
      if ((r.clientId === w.clientId && !w.replay) || !r.open) continue;
      readers++;
      if (r.backlog < this.paceAt) room = true;
    }
    if (!readers) w.setState(w.blocks ? 'waiting' : 'flowing');
    else w.setState(room ? 'flowing' : 'paced');
  }

  private isPipeClient(clientId: number): boolean {
    for (const w of this.writers) if (w.clientId === clientId && w.kind === 'pipe') return true;
    return false;
  }
}
