/**
 * Idle SSH sessions held open with ssh2's client: each connection authenticates with a key and
 * opens one session channel. `bare` sends no request on it (a client that has not yet asked for
 * a command); `tui` asks for a PTY and a shell, i.e. a user sitting at the TUI home menu.
 *
 * Thousands of sessions are opened from child processes (`processes`): one Node process doing
 * every client key exchange would be the bottleneck, and each child holds its share of the
 * sockets under its own file-descriptor limit (inherited from the bench, which raises it).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ssh2, { type Channel } from 'ssh2';

export type IdleKind = 'bare' | 'tui';

export interface IdleTarget {
  port: number;
  user: string;
  privateKeyFile: string;
  /** Loopback address the connections come from (127.0.0.1 unless given). */
  localAddress?: string;
}

export interface OpenOptions {
  /** Sessions being opened at once, over all processes (stay under the server's pre-auth caps). */
  concurrency: number;
  /** 0: this process opens them; more: that many child processes share them. */
  processes?: number;
  /** Each session must be ready within this. */
  timeoutMs?: number;
  /** Told every `every` sessions opened, with the running total. */
  progress?: (opened: number) => void;
}

/** ssh2's Client keeps its channel table and protocol private; a bare session needs both. */
interface ClientInternals {
  _chanMgr: { add(handler: ((err: Error | undefined, chan: Channel) => void) & { type: string }): number };
  _protocol: { session(localChan: number, window: number, packetSize: number): void };
}

const WINDOW = 2 * 1024 * 1024;
const PACKET = 32 * 1024;
const CHILD_ENV = 'LABD_BENCH_IDLE_SESSIONS_CHILD';

type ToChild = { open: { target: IdleTarget; kind: IdleKind; total: number; concurrency: number; timeoutMs: number } } | { close: true };
type FromChild = { opened: number } | { done: true } | { error: string };

export class IdleSessions {
  private readonly clients: ssh2.Client[] = [];
  private readonly children: ChildProcess[] = [];
  private childSessions = 0;

  get count(): number {
    return this.clients.length + this.childSessions;
  }

  /** Opens `total` sessions; rejects at the first that fails (the others stay open until closeAll). */
  async open(target: IdleTarget, kind: IdleKind, total: number, o: OpenOptions): Promise<void> {
    const timeoutMs = o.timeoutMs ?? 60000;
    const processes = Math.min(o.processes ?? 0, total);
    if (processes === 0) {
      await openHere(target, kind, total, o.concurrency, timeoutMs, this.clients, o.progress);
      return;
    }
    const base = this.count;
    const opened: number[] = [];
    const shares = Array.from({ length: processes }, (_, i) => Math.floor(total / processes) + (i < total % processes ? 1 : 0));
    const perChild = Math.max(1, Math.floor(o.concurrency / processes));
    await Promise.all(
      shares.map(
        (share, i) =>
          new Promise<void>((resolve, reject) => {
            const child = fork(fileURLToPath(import.meta.url), [], {
              execArgv: ['--import', 'tsx'],
              env: { ...process.env, [CHILD_ENV]: '1' },
              stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
            });
            this.children.push(child);
            opened[i] = 0;
            child.on('message', (m: FromChild) => {
              if ('opened' in m) {
                this.childSessions += m.opened - opened[i]!;
                opened[i] = m.opened;
                o.progress?.(this.count - base);
              } else if ('done' in m) resolve();
              else reject(new Error(`idle sessions: ${m.error}`));
            });
            child.on('exit', (code) => reject(new Error(`idle sessions: a child process exited (${code}) with ${opened[i]} of ${share} open`)));
            child.send({ open: { target, kind, total: share, concurrency: perChild, timeoutMs } } satisfies ToChild);
          }),
      ),
    );
  }

  closeAll(): void {
    for (const c of this.clients.splice(0)) c.end();
    for (const child of this.children.splice(0)) {
      child.removeAllListeners('exit');
      if (child.connected) child.send({ close: true } satisfies ToChild);
      else child.kill();
    }
    this.childSessions = 0;
  }
}

async function openHere(
  target: IdleTarget,
  kind: IdleKind,
  total: number,
  concurrency: number,
  timeoutMs: number,
  into: ssh2.Client[],
  progress?: (opened: number) => void,
): Promise<void> {
  const privateKey = readFileSync(target.privateKeyFile);
  let next = 0;
  let opened = 0;
  const worker = async () => {
    while (next < total) {
      next++;
      into.push(await openOne(target, privateKey, kind, timeoutMs));
      opened++;
      if (opened % 100 === 0 || opened === total) progress?.(opened);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
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
    client.connect({
      host: '127.0.0.1',
      port: target.port,
      localAddress: target.localAddress,
      username: target.user,
      privateKey,
      readyTimeout: timeoutMs,
    });
  });
}

/** A child process: opens its share when told, reports progress, ends them all when told or orphaned. */
function runChild(): void {
  const clients: ssh2.Client[] = [];
  const send = (m: FromChild) => process.send?.(m);
  const quit = () => {
    for (const c of clients) c.end();
    // Give the FINs a moment to leave, then go.
    setTimeout(() => process.exit(0), 500);
  };
  process.on('disconnect', quit);
  process.on('message', (m: ToChild) => {
    if ('close' in m) return quit();
    const { target, kind, total, concurrency, timeoutMs } = m.open;
    openHere(target, kind, total, concurrency, timeoutMs, clients, (opened) => send({ opened })).then(
      () => send({ done: true }),
      (err: Error) => send({ error: err.message }),
    );
  });
}

if (process.env[CHILD_ENV] === '1' && process.send) runChild();
