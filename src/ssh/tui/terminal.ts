import { EventEmitter } from 'node:events';
import type { ServerChannel } from 'ssh2';

/** What the client told us about its terminal, made safe to hand to blessed. */
export interface TerminalProfile {
  /** A terminfo name; never a path (blessed reads any file named by a TERM containing '/'). */
  term: string;
  /** Draw Unicode lines and symbols (the default), or plain ASCII for a client that asked for another charset. */
  unicode: boolean;
  cols: number;
  rows: number;
}

const TERM_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/;
/**
 * Bounds on the screen size a client may ask for: blessed allocates two cell buffers of cols × rows
 * and a redraw walks every cell, so the cap bounds the cost of one redraw (36,000 cells; a 4K
 * screen at a small font is about 380 × 110, and the UI is drawn in its top-left part).
 */
const MAX_COLS = 300;
const MAX_ROWS = 120;
const MIN_COLS = 20;
const MIN_ROWS = 6;

export function terminalProfile(pty: { term: string; cols: number; rows: number }, env: Record<string, string>): TerminalProfile {
  return {
    term: TERM_NAME.test(pty.term) ? pty.term : 'xterm',
    unicode: isUtf8Locale(env),
    ...clampSize(pty.cols, pty.rows),
  };
}

/**
 * Draw Unicode unless the client asks for another character set. Every terminal in use speaks UTF-8
 * (soft-serve's and pico's TUIs assume it too), and many clients send no locale at all (an `ssh -F`
 * config without SendEnv, Windows' OpenSSH): reading no locale as ASCII turned every accented name
 * into `?`. POSIX precedence picks the locale (LC_ALL, then LC_CTYPE, then LANG); `C`/`POSIX` and a
 * locale naming a charset other than UTF-8 (`de_DE.ISO-8859-1`, `ja_JP.eucJP`) are ASCII.
 */
export function isUtf8Locale(env: Record<string, string>): boolean {
  const locale = (env.LC_ALL || env.LC_CTYPE || env.LANG || '').trim();
  if (!locale) return true;
  if (locale === 'C' || locale === 'POSIX') return false;
  const charset = /\.([^@]+)/.exec(locale)?.[1];
  return charset === undefined || /^utf-?8$/i.test(charset);
}

export function clampSize(cols: number, rows: number): { cols: number; rows: number } {
  const clamp = (n: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, Number.isFinite(n) ? Math.floor(n) : lo));
  return { cols: clamp(cols, MIN_COLS, MAX_COLS), rows: clamp(rows, MIN_ROWS, MAX_ROWS) };
}

/** Output a client has not read yet; past this the session is closed instead of buffering without end. */
const MAX_PENDING_OUTPUT = 8 * 1024 * 1024;

/**
 * Window changes redraw the whole screen. They are coalesced: at most one redraw per frame, the
 * latest size wins. A session that keeps resizing (more than RESIZE_BURST redraws within
 * RESIZE_WINDOW_MS) gets one redraw per RESIZE_SLOW_MS until it calms down, so a resize flood
 * costs a bounded share of the event loop however fast the requests come.
 */
export const RESIZE_FRAME_MS = 50;
export const RESIZE_BURST = 20;
export const RESIZE_WINDOW_MS = 10_000;
export const RESIZE_SLOW_MS = 1000;

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
  private pendingSize: { cols: number; rows: number } | undefined;
  private resizeTimer: NodeJS.Timeout | undefined;
  /** When the last redraws for a resize happened, newest last (at most RESIZE_BURST kept). */
  private readonly redraws: number[] = [];

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

  /** Takes a window change; the screen follows at most once per frame (see RESIZE_FRAME_MS). */
  resize(cols: number, rows: number): void {
    if (this.detached) return;
    this.pendingSize = clampSize(cols, rows);
    if (this.resizeTimer) return;
    this.resizeTimer = setTimeout(() => this.applyResize(), this.nextRedrawIn(performance.now()));
  }

  private nextRedrawIn(now: number): number {
    const last = this.redraws[this.redraws.length - 1] ?? -Infinity;
    const busy = this.redraws.length >= RESIZE_BURST && now - this.redraws[0]! < RESIZE_WINDOW_MS;
    return Math.max(0, last + (busy ? RESIZE_SLOW_MS : RESIZE_FRAME_MS) - now);
  }

  private applyResize(): void {
    this.resizeTimer = undefined;
    const size = this.pendingSize;
    this.pendingSize = undefined;
    if (!size || this.detached) return;
    if (size.cols === this.output.columns && size.rows === this.output.rows) return;
    this.redraws.push(performance.now());
    if (this.redraws.length > RESIZE_BURST) this.redraws.shift();
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
    clearTimeout(this.resizeTimer);
    this.resizeTimer = undefined;
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
