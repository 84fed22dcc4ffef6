/**
 * A small HTTP server that records every request (method, path, headers, body) and answers 200,
 * or a chosen status for the next N requests. Stands in for webhook receivers such as Apprise.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  /** The status it was answered with. */
  status: number;
}

export class RecordingServer {
  readonly requests: RecordedRequest[] = [];
  private failures: { count: number; status: number } = { count: 0, status: 503 };

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /** Listens on 127.0.0.1 (on `port` when given, e.g. one a peer was told about before). */
  static async start(port = 0): Promise<RecordingServer> {
    let self: RecordingServer | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const failing = self!.failures.count > 0;
        if (failing) self!.failures.count--;
        const status = failing ? self!.failures.status : 200;
        self!.requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), status });
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(failing ? { error: 'failing on purpose' } : { ok: true }));
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    self = new RecordingServer(server, (server.address() as AddressInfo).port);
    return self;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The next `count` requests are answered with `status`. */
  failNext(count: number, status = 503): void {
    this.failures = { count, status };
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
