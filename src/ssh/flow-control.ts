import type { Socket } from 'node:net';
import type { Connection, ServerChannel } from 'ssh2';

/**
 * Output of one connection that may wait in labd's memory (the socket's own buffer plus packets
 * ssh2 holds back during a key re-exchange) before every channel of it stops being drained.
 */
export const PENDING_OUTPUT_MAX = 1024 * 1024;

/**
 * The least output left unacknowledged on a channel to a nearby OpenSSH client (see unackedLimit):
 * glibc's malloc maps buffers over 128 KiB of their own (M_MMAP_THRESHOLD).
 */
export const UNACKED_FLOOR = 128 * 1024;
/** The link rate the limit leaves room for: 1 Gbit/s, in bytes per millisecond. */
const LINK_BYTES_PER_MS = 125_000;
/**
 * Of a ping's answer time, what both sides' processing takes rather than the network: on loopback,
 * where the network's part is a few µs, labd measured 1.1-1.4 ms once warm (2.5-5 ms for the first).
 */
const PING_PROCESSING_MS = 1;
/** Pings (keepalive@openssh.com) whose replies are awaited, at most: older ones are forgotten. */
const PINGS_REMEMBERED = 8;
/** A limited channel waiting this long for an acknowledgement gets the peer's whole window back. */
export const UNACKED_STALL_MS = 1000;
/**
 * The most limitUnacknowledged counts as slack: OpenSSH's session window (2 MiB), what a subscriber's
 * client used to absorb. A client may advertise any window (up to 4 GiB) and then stop reading; the
 * slack it earns must not grow with it.
 */
export const SLACK_MAX = 2 * 1024 * 1024;

/**
 * How much of a bulk transfer (a clone, a download: SessionIO.bulkOutput) labd leaves unacknowledged
 * (sent, not yet given back by a CHANNEL_WINDOW_ADJUST) to an OpenSSH client, or undefined to use the
 * whole window it offers.
 *
 * OpenSSH offers 2 MiB per session channel. labd sends faster than a client on the same machine,
 * or a slow git index-pack behind it, drains its end, so up to 2 MiB piled up in the ssh process's
 * buffers, which its allocator then mapped and unmapped again and again: cloning 51 MB from labd
 * cost the client 0.13-0.2 s more CPU than from sshd (110-170 thousand page faults against 30-90),
 * and on two cores that made the clone slower than through sshd. Keeping 128 KiB in flight (four
 * packets), the client's buffers stay under malloc's mmap threshold and it acknowledges as it writes
 * (OpenSSH sends a window adjust once more than three packets of its window are used and some were
 * consumed), so nothing waits: the clone took 0.73× sshd's time (bench/git-clone). A stream with a drop
 * policy of its own (a pub/sub subscriber is dropped once it is pubsub.subscriberBuffer behind in labd)
 * counts what is held back as slack (limitUnacknowledged's answer): the client's window used to absorb
 * a reader's short stalls, and the same bytes may now wait in labd instead.
 *
 * In flight must still cover the round trip, or the limit would cap throughput on a distant link
 * (128 KiB over 50 ms is 2.6 MB/s). So the first channel of a connection measures it: labd sends a
 * keepalive@openssh.com request, which OpenSSH answers at once, and until the answer the limit is the
 * floor; then it leaves room for 1 Gbit/s over the measured time less a millisecond of processing
 * (50 ms: over 2 MiB, the whole window; a busy client answers late, which only makes the limit
 * larger). Only for OpenSSH 7 and later, whose adjust rule is known; other clients (ssh2's own
 * adjusts only at half its window) get the whole window.
 */
export function unackedLimit(o: {
  peerSoftware: string;
  /** The connection's round trip in ms, once measured. */
  rttMs: number | undefined;
  packetSize: number;
  window: number;
  setting?: UnackedSetting;
}): number | undefined {
  const setting = o.setting ?? 'auto';
  const version = /^OpenSSH_(\d+)\./.exec(o.peerSoftware);
  if (setting === 'off' || !version || Number(version[1]) < 7) return undefined;
  let wanted: number;
  if (setting !== 'auto') wanted = setting;
  else wanted = Math.max(UNACKED_FLOOR, Math.ceil(Math.max(0, (o.rttMs ?? 0) - PING_PROCESSING_MS) * LINK_BYTES_PER_MS));
  // OpenSSH acknowledges early only past three packets of its window.
  const limit = Math.max(wanted, 4 * o.packetSize);
  return limit < o.window ? limit : undefined;
}

/** The `ssh.unackedLimit` setting: auto, off, or bytes. */
export type UnackedSetting = 'auto' | 'off' | number;

/** The parts of ssh2's server connection this file relies on (ssh2 1.x; checked at each connection). */
interface ClientInternals {
  _sock: Socket;
  _protocol: {
    _handlers: Record<string, ((...args: unknown[]) => void) | undefined>;
    /** Sends a keepalive@openssh.com global request that wants a reply. */
    ping?: () => void;
    /** Packets ssh2 keeps while a key exchange runs; sent when it completes. */
    _queue?: Buffer[];
  };
  _chanMgr: { get(id: number): unknown };
}

interface ChannelInternals {
  incoming: { id: number; window: number };
  outgoing: { window: number; packetSize: number };
  _waitWindow?: boolean;
  _write(data: Buffer, encoding: BufferEncoding | null, cb: (err?: Error | null) => void): void;
  stderr: { _write(data: Buffer, encoding: BufferEncoding | null, cb: (err?: Error | null) => void): void };
}

export type FlowViolation = 'window';

/** A channel whose peer window labd holds part of back (unackedLimit). */
interface Withheld {
  /** Bytes of the peer's window labd does not use. */
  hidden: number;
  /** What labd leaves unacknowledged now. */
  limit: number;
  packetSize: number;
  stall?: NodeJS.Timeout;
}

export interface ConnectionFlowOptions {
  /** The client's software version from its version line (e.g. "OpenSSH_9.2p1"). */
  peerSoftware?: string;
  /** The `ssh.unackedLimit` setting; default auto. */
  unacked?: UnackedSetting;
  /** Called with the connection's round trip once measured (ms). */
  onRoundTrip?: (ms: number) => void;
  /** Called when a limited channel got its whole window back after waiting for an acknowledgement. */
  onLimitLifted?: () => void;
  /** A monotonic clock in ms (tests); default performance.now. */
  now?: () => number;
}

/**
 * SSH flow control that does not trust the peer, for one connection.
 *
 * Outgoing: ssh2 lets a channel write as long as the peer's SSH window allows, and a peer may
 * advertise any window (CHANNEL_WINDOW_ADJUST is not capped) and then stop reading its TCP
 * socket: everything written would pile up in the socket's buffer. Here a channel's write
 * completes only while the connection's pending output is under PENDING_OUTPUT_MAX, so the
 * back-pressure every stream already honours (write callbacks, 'drain') comes from the socket.
 *
 * Incoming: ssh2 keeps accepting CHANNEL_DATA once a packet larger than the remaining window
 * has made the window negative. Data beyond the window labd advertised is a protocol violation;
 * the connection is closed (as OpenSSH does when a peer ignores the channel window), so a channel's
 * buffered input never exceeds the window ssh2 grants (2 MiB).
 */
export class ConnectionFlow {
  private readonly client: ClientInternals;
  private readonly socket: Socket;
  private readonly waiters: (() => void)[] = [];
  private closed = false;
  private violated = false;
  private readonly withheld = new Map<number, Withheld>();
  /** Per limited channel, window labd gave back (lifted or grown) that the channel has not used yet. */
  private readonly returned = new Map<number, number>();
  private readonly adjustWindow: (packet: unknown, recipient: number, amount: number) => void;
  /** The connection's round trip, from a keepalive@openssh.com request to its answer. */
  private rttMs: number | undefined;
  private probing = false;
  /** When each ping awaiting its answer was sent (ssh2's keepalives and labd's probe), oldest first. */
  private readonly pings: { at: number; probe: boolean }[] = [];
  private readonly now: () => number;
  private probe: (() => void) | undefined;

  constructor(
    connection: Connection,
    private readonly onViolation: (kind: FlowViolation, detail: Record<string, unknown>) => void,
    private readonly o: ConnectionFlowOptions = {},
  ) {
    const client = connection as unknown as ClientInternals;
    const handlers = client._protocol?._handlers;
    const channelData = handlers?.CHANNEL_DATA;
    const windowAdjust = handlers?.CHANNEL_WINDOW_ADJUST;
    if (!client._sock || !handlers || typeof channelData !== 'function' || typeof windowAdjust !== 'function' || typeof client._chanMgr?.get !== 'function') {
      throw new Error('ssh2 internals changed: labd cannot enforce SSH flow control (see src/ssh/flow-control.ts)');
    }
    this.client = client;
    this.socket = client._sock;

    handlers.CHANNEL_DATA = (packet: unknown, recipient: unknown, data: unknown) => {
      if (this.violated) return;
      const channel = this.channelFor(recipient as number);
      const length = (data as Buffer).length;
      if (channel && length > channel.incoming.window) {
        this.violated = true;
        this.onViolation('window', { window: channel.incoming.window, length });
        return;
      }
      channelData(packet, recipient, data);
    };

    // ssh2 adds the amount to the channel's window and resumes a write waiting for it.
    this.adjustWindow = (packet, recipient, amount) => windowAdjust(packet, recipient, amount);
    handlers.CHANNEL_WINDOW_ADJUST = (packet: unknown, recipient: unknown, amount: unknown) => {
      const held = this.withheld.get(recipient as number);
      if (held?.stall) {
        clearTimeout(held.stall);
        held.stall = undefined;
      }
      windowAdjust(packet, recipient, amount);
    };
    this.now = o.now ?? (() => performance.now());
    // Every ping's answer, in order: the one answering labd's probe gives the round trip.
    const ping = client._protocol.ping?.bind(client._protocol);
    if (ping) {
      client._protocol.ping = () => this.sent(false, ping);
      for (const reply of ['REQUEST_SUCCESS', 'REQUEST_FAILURE']) {
        const original = handlers[reply];
        handlers[reply] = (...args: unknown[]) => {
          this.answered();
          original?.(...args);
        };
      }
      this.probe = () => this.sent(true, ping);
    }

    const wake = () => this.wake();
    this.socket.on('drain', wake);
    connection.on('handshake', wake);
    this.socket.once('close', () => {
      this.closed = true;
      for (const held of this.withheld.values()) clearTimeout(held.stall);
      this.withheld.clear();
      this.returned.clear();
      this.wake();
    });
  }

  /** Bytes written by labd and not yet handed to the kernel. */
  pendingOutput(): number {
    let queued = 0;
    for (const packet of this.client._protocol._queue ?? []) queued += packet.length;
    return this.socket.writableLength + queued;
  }

  /** Makes the channel's writes (stdout and stderr) complete only when the connection has room. */
  pace(channel: ServerChannel): void {
    const c = channel as unknown as ChannelInternals;
    if (typeof c._write !== 'function' || typeof c.stderr?._write !== 'function') {
      throw new Error('ssh2 internals changed: labd cannot pace channel output (see src/ssh/flow-control.ts)');
    }
    const stdout = c._write.bind(c);
    const stderr = c.stderr._write.bind(c.stderr);
    c._write = (data, encoding, cb) => {
      stdout(data, encoding, (err) => (err ? cb(err) : this.sentOn(c, data.length, cb)));
      this.watchStall(c);
    };
    c.stderr._write = (data, encoding, cb) => {
      stderr(data, encoding, (err) => (err ? cb(err) : this.sentOn(c, data.length, cb)));
      this.watchStall(c);
    };
  }

  /**
   * For a channel whose output is one bulk stream (SessionIO.bulkOutput): leaves at most unackedLimit
   * unacknowledged. Returns, for a stream with a drop policy of its own, how many bytes of the client's
   * window labd holds back now, plus what it gave back that the channel has not used yet: what the
   * client would still take at once had it been offered its whole window, at most SLACK_MAX. pub/sub
   * adds it to what a subscriber may fall behind, so the slack a slow reader has is the same with the
   * limit as without.
   */
  limitUnacknowledged(channel: ServerChannel): () => number {
    const c = channel as unknown as ChannelInternals;
    const id = c.incoming?.id;
    if (!this.withheld.has(id)) this.limitUnacked(c);
    return () => Math.min(SLACK_MAX, (this.withheld.get(id)?.hidden ?? 0) + (this.returned.get(id) ?? 0));
  }

  /** Data went out on the channel: it used that much of any window given back. */
  private sentOn(c: ChannelInternals, bytes: number, cb: () => void): void {
    const id = c.incoming.id;
    const returned = this.returned.get(id);
    if (returned !== undefined) this.returned.set(id, Math.max(0, returned - bytes));
    this.whenRoom(cb);
  }

  /** Gives `bytes` of the peer's window held back on channel `id` to ssh2. */
  private giveBack(id: number, bytes: number): void {
    this.returned.set(id, (this.returned.get(id) ?? 0) + bytes);
    this.adjustWindow(undefined, id, bytes);
  }

  /** Holds back the part of the peer's window beyond unackedLimit; true when it did. */
  private limitUnacked(c: ChannelInternals): boolean {
    const out = c.outgoing;
    if (typeof out?.window !== 'number' || typeof c.incoming?.id !== 'number') return false;
    const limit = unackedLimit({
      peerSoftware: this.o.peerSoftware ?? '',
      rttMs: this.rttMs,
      packetSize: out.packetSize,
      window: out.window,
      ...(this.o.unacked !== undefined ? { setting: this.o.unacked } : {}),
    });
    if (limit === undefined) return false;
    // The peer's adjusts add to the window ssh2 sees, so it stays the peer's window minus `hidden`.
    this.withheld.set(c.incoming.id, { hidden: out.window - limit, limit, packetSize: out.packetSize });
    out.window = limit;
    if (this.rttMs === undefined && !this.probing && this.probe && (this.o.unacked ?? 'auto') === 'auto') {
      this.probing = true;
      this.probe();
    }
    (c as unknown as { once(event: string, fn: () => void): void }).once('close', () => {
      clearTimeout(this.withheld.get(c.incoming.id)?.stall);
      this.withheld.delete(c.incoming.id);
      this.returned.delete(c.incoming.id);
    });
    return true;
  }

  private sent(probe: boolean, ping: () => void): void {
    if (this.pings.length === PINGS_REMEMBERED) this.pings.shift();
    this.pings.push({ at: this.now(), probe });
    ping();
  }

  private answered(): void {
    const ping = this.pings.shift();
    if (!ping?.probe) return;
    this.rttMs = this.now() - ping.at;
    this.o.onRoundTrip?.(this.rttMs);
    // Channels limited before the answer get what the round trip asks for.
    for (const [id, held] of this.withheld) {
      const wanted = unackedLimit({
        peerSoftware: this.o.peerSoftware ?? '',
        rttMs: this.rttMs,
        packetSize: held.packetSize,
        window: held.limit + held.hidden,
      });
      const more = wanted === undefined ? held.hidden : Math.min(held.hidden, wanted - held.limit);
      if (more <= 0) continue;
      held.hidden -= more;
      held.limit += more;
      if (held.hidden === 0) {
        clearTimeout(held.stall);
        this.withheld.delete(id);
      }
      this.giveBack(id, more);
    }
  }

  /**
   * A limited channel that waits for the window longer than UNACKED_STALL_MS gets all of it: a
   * client that acknowledges only late (whatever its version line says) must not stall.
   */
  private watchStall(c: ChannelInternals): void {
    const id = c.incoming.id;
    const held = this.withheld.get(id);
    if (!held || held.stall || !c._waitWindow) return;
    held.stall = setTimeout(() => {
      this.withheld.delete(id);
      this.o.onLimitLifted?.();
      this.giveBack(id, held.hidden);
    }, UNACKED_STALL_MS);
    held.stall.unref();
  }

  private whenRoom(fn: () => void): void {
    if (this.closed || this.pendingOutput() <= PENDING_OUTPUT_MAX) fn();
    else this.waiters.push(fn);
  }

  private wake(): void {
    if (!this.closed && this.pendingOutput() > PENDING_OUTPUT_MAX) return;
    for (const fn of this.waiters.splice(0)) fn();
  }

  private channelFor(id: number): ChannelInternals | undefined {
    let c = this.client._chanMgr.get(id) as (Partial<ChannelInternals> & { _channel?: unknown }) | undefined;
    if (c && typeof c === 'object' && !('incoming' in c)) c = c._channel as typeof c;
    return c && typeof c === 'object' && c.incoming ? (c as ChannelInternals) : undefined;
  }
}
