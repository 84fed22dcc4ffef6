import { EventEmitter } from 'node:events';
import type { ServerChannel } from 'ssh2';

/** What the client told us about its terminal, made safe to hand to blessed. */
export interface TerminalProfile {
  /** A terminfo name; never a path (blessed reads any file named by a TERM containing '/'). */
  term: string;
  /** The client's locale is UTF-8: draw Unicode lines and symbols, else plain ASCII. */
  unicode: boolean;
  cols: number;
  rows: number;
}

const TERM_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/;
/** Bounds on the screen size a client may ask for: blessed allocates two cell buffers of cols × rows. */
const MAX_COLS = 400;
const MAX_ROWS = 200;
const MIN_COLS = 20;
const MIN_ROWS = 6;

export function terminalProfile(pty: { term: string; cols: number; rows: number }, env: Record<string, string>): TerminalProfile {
  return {
    term: TERM_NAME.test(pty.term) ? pty.term : 'xterm',
    unicode: isUtf8Locale(env),
    ...clampSize(pty.cols, pty.rows),
  };
}

/** POSIX precedence: LC_ALL, then LC_CTYPE, then LANG decide the character set. */
export function isUtf8Locale(env: Record<string, string>): boolean {
  const locale = env.LC_ALL || env.LC_CTYPE || env.LANG || '';
  return /utf-?8/i.test(locale);
}

export function clampSize(cols: number, rows: number): { cols: number; rows: number } {
  const clamp = (n: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, Number.isFinite(n) ? Math.floor(n) : lo));
  return { cols: clamp(cols, MIN_COLS, MAX_COLS), rows: clamp(rows, MIN_ROWS, MAX_ROWS) };
}

/** Output a client has not read yet; past this the session is closed instead of buffering without end. */
const MAX_PENDING_OUTPUT = 8 * 1024 * 1024;

/**
 * Stands between an SSH channel and blessed. blessed gets tty-like input and output objects of its
 * own, so the channel is never patched, and every key and resize it handles runs inside a try:
 * an exception in one session's handlers reaches `onFault` instead of the SSH connection's parser.
 */
export class TerminalPort {
  readonly input: EventEmitter & { isTTY: boolean; pause(): void; resume(): void };
  readonly output: EventEmitter & { isTTY: boolean; writable: boolean; columns: number; rows: number; write(data: string | Buffer): boolean };
  private readonly onData = (data: Buffer) => this.guard(() => this.input.emit('data', data));
  private detached = false;

  constructor(
    private readonly channel: ServerChannel,
    size: { cols: number; rows: number },
    private readonly onFault: (err: unknown) => void,
    private readonly onStall: () => void,
  ) {
    this.input = Object.assign(new EventEmitter(), { isTTY: true, pause() {}, resume() {} });
    const port = this;
    this.output = Object.assign(new EventEmitter(), {
      isTTY: true,
      writable: true,
      columns: size.cols,
      rows: size.rows,
      write(data: string | Buffer): boolean {
        return port.write(data);
      },
    });
    channel.on('data', this.onData);
  }

  resize(cols: number, rows: number): void {
    if (this.detached) return;
    const size = clampSize(cols, rows);
    this.output.columns = size.cols;
    this.output.rows = size.rows;
    this.guard(() => this.output.emit('resize'));
  }

  /** Stops feeding keys to blessed; output still flows until `close`. */
  detachInput(): void {
    this.channel.off('data', this.onData);
  }

  /** Stops everything: later writes from blessed (late renders, teardown) are dropped. */
  close(): void {
    this.detachInput();
    this.detached = true;
    this.output.writable = false;
  }

  private write(data: string | Buffer): boolean {
    if (this.detached || this.channel.destroyed || !this.channel.writable) return true;
    if (this.channel.writableLength > MAX_PENDING_OUTPUT) {
      this.detached = true;
      queueMicrotask(this.onStall);
      return true;
    }
    return this.channel.write(data);
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.onFault(err);
    }
  }
}
