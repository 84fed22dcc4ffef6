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

/**
 * The same topic on the other replicas (labd over NATS), summed: how many readers and writers they
 * hold, whether a publisher here may send them more (some replica with readers has acknowledged
 * enough of what it was sent), and the owner's grants made there. All zero in a single process.
 */
export interface RemoteSide {
  readers: number;
  writers: number;
  room: boolean;
  isPublic: boolean;
  sharedWith: ReadonlySet<string>;
}

export const NO_REMOTE: RemoteSide = { readers: 0, writers: 0, room: false, isPublic: false, sharedWith: new Set() };

/** What a topic tells its broker besides its changes: data other replicas' readers want, and its readers' progress. */
export interface TopicLinks {
  /** A reader or writer came or went (and so the counts or grants changed). */
  changed(topic: Topic): void;
  /** A local writer published `chunk` while readers on other replicas exist. */
  outbound?(topic: Topic, chunk: Buffer): void;
  /** While writers on other replicas exist: data from them was queued ('data'), or a local reader took some ('drained'). */
  readersMoved?(topic: Topic, why: 'data' | 'drained'): void;
}

/** A live topic: its readers, its writers and who may use it. It exists while anyone is attached. */
export class Topic implements ReaderEvents {
  readonly readers = new Set<TopicReader>();
  readonly writers = new Set<TopicWriter>();
  isPublic = false;
  readonly sharedWith = new Set<string>();
  private bytes = 0;
  private messages = 0;
  /** The other replicas' side of this topic (set by the broker from their announcements). */
  private remote: RemoteSide = NO_REMOTE;

  constructor(
    readonly ref: TopicRef,
    /** A publisher pauses while every reader it feeds has at least this much queued. */
    private readonly paceAt: number,
    private readonly links: TopicLinks,
    /** When it came to be (the broker's clock). */
    readonly createdAt: Date,
  ) {}

  private onChange(topic: Topic): void {
    this.links.changed(topic);
  }

  get empty(): boolean {
    return this.readers.size === 0 && this.writers.size === 0;
  }

  get stats(): { bytes: number; messages: number } {
    return { bytes: this.bytes, messages: this.messages };
  }

  mayUse(user: string): boolean {
    return user === this.ref.owner || this.isPublic || this.sharedWith.has(user) || this.remote.isPublic || this.remote.sharedWith.has(user);
  }

  /**
   * Whether another replica's publisher may be given more credit: some local reader is within its
   * pace mark (the same rule that lets a local publisher go on).
   */
  localRoom(): boolean {
    for (const r of this.readers) if (r.open && r.backlog < this.paceAt) return true;
    return false;
  }

  get remoteSide(): RemoteSide {
    return this.remote;
  }

  /** Open local readers (subscribers and pipes). */
  get openReaders(): number {
    let n = 0;
    for (const r of this.readers) if (r.open) n++;
    return n;
  }

  /** The other replicas' side changed: pace the writers again; a plain `sub` ends when the last publisher anywhere leaves. */
  setRemote(remote: RemoteSide): void {
    const hadWriters = this.remote.writers > 0;
    this.remote = remote;
    if (hadWriters && remote.writers === 0 && this.writers.size === 0) this.endOneShotReaders();
    this.pace();
  }

  /** Data a writer on another replica published: to every local reader. */
  deliverRemote(chunk: Buffer): void {
    this.bytes += chunk.length;
    this.messages++;
    for (const r of this.readers) r.push(chunk);
    this.moved('data');
  }

  private moved(why: 'data' | 'drained'): void {
    if (this.remote.writers > 0) this.links.readersMoved?.(this, why);
  }

  private endOneShotReaders(): void {
    // pico's one-shot semantics: a plain `sub` ends when the last publisher leaves.
    for (const r of [...this.readers]) {
      if (r.endsWithPublishers) {
        this.readers.delete(r);
        r.finish();
      }
    }
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
    if (this.writers.size === 0 && this.remote.writers === 0) this.endOneShotReaders();
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
    if (this.remote.readers > 0) this.links.outbound?.(this, chunk);
    this.paceWriter(from);
  }

  progressed(reader: TopicReader): void {
    this.moved('drained');
    if (reader.backlog >= this.paceAt) return;
    for (const w of this.writers) if (w.state === 'paced') this.paceWriter(w);
  }

  dropped(reader: TopicReader): void {
    this.removeReader(reader);
    this.moved('drained');
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
    // Readers on other replicas: one more reader, with room while one of them has credit left.
    if (this.remote.readers > 0) {
      readers++;
      if (this.remote.room) room = true;
    }
    if (!readers) w.setState(w.blocks ? 'waiting' : 'flowing');
    else w.setState(room ? 'flowing' : 'paced');
  }

  private isPipeClient(clientId: number): boolean {
    for (const w of this.writers) if (w.clientId === clientId && w.kind === 'pipe') return true;
    return false;
  }
}
