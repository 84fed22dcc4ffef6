/**
 * A real NATS server for tests: Debian's /usr/sbin/nats-server (2.9) on a free loopback port, with
 * its log and pid file in a temp dir. `stop()` ends it and removes the dir; `restart()` brings it back
 * on the same port (a NATS outage).
 *
 * By hand: `node --import tsx test/support/nats-server.ts` prints its URL (LABD_NATS_URL) and runs
 * until Ctrl-C.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { freePort } from './labd.ts';

export const NATS_SERVER = process.env.NATS_SERVER ?? '/usr/sbin/nats-server';

export function natsServerAvailable(): boolean {
  return existsSync(NATS_SERVER);
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

export class NatsServer {
  private child: ChildProcess | undefined;

  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  /** nats://127.0.0.1:PORT */
  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  get log(): string {
    try {
      return readFileSync(join(this.dir, 'nats.log'), 'utf8');
    } catch {
      return '';
    }
  }

  static async start(o: { port?: number } = {}): Promise<NatsServer> {
    const server = new NatsServer(mkdtempSync(join(tmpdir(), 'nats-server-')), o.port ?? (await freePort()));
    await server.up();
    return server;
  }

  /** Starts the server (again) on its port; resolves once it accepts connections. */
  async up(): Promise<void> {
    if (this.child) return;
    const child = spawn(NATS_SERVER, ['-a', '127.0.0.1', '-p', String(this.port), '-l', join(this.dir, 'nats.log'), '-P', join(this.dir, 'nats.pid')], {
      stdio: 'ignore',
    });
    this.child = child;
    let exited: number | null | undefined;
    child.once('exit', (code) => {
      exited = code;
      if (this.child === child) this.child = undefined;
    });
    const deadline = Date.now() + 10_000;
    while (!(await accepts(this.port))) {
      if (exited !== undefined) throw new Error(`nats-server exited (${exited}):\n${this.log}`);
      if (Date.now() > deadline) throw new Error(`nats-server did not listen on ${this.port} within 10 s:\n${this.log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Stops the server (SIGTERM, then SIGKILL after 5 s); the temp dir stays for `up()`. */
  async down(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(t);
  }

  async restart(): Promise<void> {
    await this.down();
    await this.up();
  }

  /** Stops the server and removes its dir. */
  async stop(): Promise<void> {
    await this.down();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const server = await NatsServer.start();
  console.log(`LABD_NATS_URL=${server.url}`);
  const quit = () => void server.stop().then(() => process.exit(0));
  process.on('SIGINT', quit);
  process.on('SIGTERM', quit);
}
