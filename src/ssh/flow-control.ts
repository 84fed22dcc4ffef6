import type { Socket } from 'node:net';
import type { Connection, ServerChannel } from 'ssh2';

/**
 * Output of one connection that may wait in labd's memory (the socket's own buffer plus packets
 * ssh2 holds back during a key re-exchange) before every channel of it stops being drained.
 */
export const PENDING_OUTPUT_MAX = 1024 * 1024;

/** The parts of ssh2's server connection this file relies on (ssh2 1.x; checked at each connection). */
interface ClientInternals {
  _sock: Socket;
  _protocol: {
    _handlers: Record<string, ((...args: unknown[]) => void) | undefined>;
    /** Packets ssh2 keeps while a key exchange runs; sent when it completes. */
    _queue?: Buffer[];
  };
  _chanMgr: { get(id: number): unknown };
}

interface ChannelInternals {
  incoming: { window: number };
  _write(data: Buffer, encoding: BufferEncoding | null, cb: (err?: Error | null) => void): void;
  stderr: { _write(data: Buffer, encoding: BufferEncoding | null, cb: (err?: Error | null) => void): void };
}

export type FlowViolation = 'window';

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

  constructor(
    connection: Connection,
    private readonly onViolation: (kind: FlowViolation, detail: Record<string, unknown>) => void,
  ) {
    const client = connection as unknown as ClientInternals;
    const handlers = client._protocol?._handlers;
    const channelData = handlers?.CHANNEL_DATA;
    if (!client._sock || !handlers || typeof channelData !== 'function' || typeof client._chanMgr?.get !== 'function') {
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

    const wake = () => this.wake();
    this.socket.on('drain', wake);
    connection.on('handshake', wake);
    this.socket.once('close', () => {
      this.closed = true;
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
    c._write = (data, encoding, cb) => stdout(data, encoding, (err) => (err ? cb(err) : this.whenRoom(() => cb())));
    c.stderr._write = (data, encoding, cb) => stderr(data, encoding, (err) => (err ? cb(err) : this.whenRoom(() => cb())));
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
