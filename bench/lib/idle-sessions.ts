/**
 * Idle SSH sessions held open with ssh2's client: each connection authenticates with a key and
 * opens one session channel. `bare` sends no request on it (a client that has not yet asked for
 * a command); `tui` asks for a PTY and a shell, i.e. a user sitting at the TUI home menu.
 */
import { readFileSync } from 'node:fs';
import ssh2, { type Channel } from 'ssh2';

export type IdleKind = 'bare' | 'tui';

export interface IdleTarget {
  port: number;
  user: string;
  privateKeyFile: string;
}

/** ssh2's Client keeps its channel table and protocol private; a bare session needs both. */
interface ClientInternals {
  _chanMgr: { add(handler: ((err: Error | undefined, chan: Channel) => void) & { type: string }): number };
  _protocol: { session(localChan: number, window: number, packetSize: number): void };
}

const WINDOW = 2 * 1024 * 1024;
const PACKET = 32 * 1024;

export class IdleSessions {
  private readonly clients: ssh2.Client[] = [];

  get count(): number {
    return this.clients.length;
  }

  /** Opens `total` sessions, `concurrency` at a time; each must be ready within `timeoutMs`. */
  async open(target: IdleTarget, kind: IdleKind, total: number, concurrency: number, timeoutMs = 30000): Promise<void> {
    const privateKey = readFileSync(target.privateKeyFile);
    let next = 0;
    const worker = async () => {
      while (next < total) {
        next++;
        this.clients.push(await openOne(target, privateKey, kind, timeoutMs));
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  }

  closeAll(): void {
    for (const c of this.clients.splice(0)) c.end();
  }
}

function openOne(target: IdleTarget, privateKey: Buffer, kind: IdleKind, timeoutMs: number): Promise<ssh2.Client> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    const timer = setTimeout(() => fail(new Error(`idle session not ready after ${timeoutMs} ms`)), timeoutMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      client.end();
      reject(err);
    };
    const ready = () => {
      clearTimeout(timer);
      resolve(client);
    };
    client.on('error', fail);
    client.on('ready', () => {
      if (kind === 'tui') {
        client.shell({ term: 'xterm', cols: 80, rows: 24 }, (err, chan) => {
          if (err) return fail(err);
          // The home menu has drawn once output arrives; from then on the session is idle.
          chan.once('data', ready);
          chan.on('close', () => fail(new Error('TUI session closed')));
        });
        return;
      }
      const internals = client as unknown as ClientInternals;
      const handler = Object.assign((err: Error | undefined) => (err ? fail(err) : ready()), { type: 'session' });
      const localChan = internals._chanMgr.add(handler);
      if (localChan === -1) return fail(new Error('no free channel'));
      internals._protocol.session(localChan, WINDOW, PACKET);
    });
    client.connect({ host: '127.0.0.1', port: target.port, username: target.user, privateKey, readyTimeout: timeoutMs });
  });
}
