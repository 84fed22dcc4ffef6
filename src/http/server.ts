import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { errorKind, publicMessage, UsageError, type ErrorKind } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { BodyTooLarge, type HttpRoute, type RouteRequest, type RouteResponse } from '../ops/http.ts';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse, params: Record<string, string>) => void | Promise<void>;

// Required, not imported: an ES import of node:http reads all its exports, and its WebSocket,
// CloseEvent and MessageEvent getters load Node's bundled undici (≈ 3 MB of heap at rest, issue 22).
const { createServer } = createRequire(import.meta.url)('node:http') as typeof import('node:http');

/** HTTP status for each typed error, mapped once for this front-end. */
export const HTTP_STATUS: Record<ErrorKind, number> = { usage: 400, permission: 403, not_found: 404, conflict: 409, unavailable: 503, failed: 500 };

interface Route {
  method: string;
  pattern: RegExp;
  keys: string[];
  handler: RouteHandler;
}

/** A small router: apps and ops register their routes; /healthz, /readyz and /metrics are built in. */
export class HttpServer {
  private readonly routes: Route[] = [];
  private readonly server: Server;
  ready = false;

  constructor(private readonly log: Logger) {
    this.server = createServer((req, res) => void this.dispatch(req, res));
    // Longer than clients' own idle time-outs (undici: 4 s), so a reused connection is never closed under a request.
    this.server.keepAliveTimeout = 65000;
    this.server.headersTimeout = 10000;
    this.server.requestTimeout = 60000;
  }

  /** Adds the neutral routes modules contribute: node:http stays here. */
  add(routes: readonly HttpRoute[]): void {
    for (const r of routes) this.route(r.method, r.path, async (req, res, params) => sendResponse(req, res, await r.handle(routeRequest(req, params))));
  }

  /** Registers a route; `:name` segments become params. */
  route(method: string, path: string, handler: RouteHandler): void {
    const keys: string[] = [];
    const pattern = new RegExp('^' + path.replace(/:([a-zA-Z]+)/g, (_, k: string) => (keys.push(k), '([^/]+)')) + '$');
    this.routes.push({ method, pattern, keys, handler });
  }

  listen(host: string, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
    });
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://labd.invalid');
    let pathMatched = false;
    for (const route of this.routes) {
      const m = route.pattern.exec(url.pathname);
      if (!m) continue;
      pathMatched = true;
      if (route.method !== req.method && !(route.method === 'GET' && req.method === 'HEAD')) continue;
      const params: Record<string, string> = {};
      try {
        route.keys.forEach((k, i) => (params[k] = decodePathSegment(m[i + 1]!)));
        await route.handler(req, res, params);
      } catch (err) {
        if (errorKind(err) === 'failed') this.log.error({ err, path: url.pathname }, 'http handler failed');
        if (!res.headersSent) sendText(res, HTTP_STATUS[errorKind(err)], publicMessage(err) + '\n');
        else res.destroy();
      }
      return;
    }
    sendText(res, pathMatched ? 405 : 404, pathMatched ? 'method not allowed\n' : 'not found\n');
  }
}

/** Decodes one path segment; a malformed escape is the client's mistake, not a server error. */
function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new UsageError(`malformed path segment '${segment.slice(0, 40)}'`);
  }
}

export function sendText(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'x-content-type-options': 'nosniff' });
  res.end(body);
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  sendText(res, status, JSON.stringify(body) + '\n', 'application/json');
}

function routeRequest(req: IncomingMessage, params: Record<string, string>): RouteRequest {
  return {
    method: req.method ?? 'GET',
    remoteAddress: req.socket.remoteAddress ?? '',
    params,
    query: (name) => new URL(req.url ?? '/', 'http://labd.invalid').searchParams.get(name) ?? undefined,
    header: (name) => {
      const v = req.headers[name.toLowerCase()];
      return Array.isArray(v) ? v.join(', ') : v;
    },
    readBody: (limit) => readBody(req, limit),
    bodyStream: () => req,
    discardBody: () => void req.resume(),
  };
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      req.resume();
      return reject(new BodyTooLarge(limit));
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.resume();
        return reject(new BodyTooLarge(limit));
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

function sendResponse(req: IncomingMessage, res: ServerResponse, answer: RouteResponse): void {
  const headers: Record<string, string | number> = { ...answer.headers };
  const body = answer.body;
  if ((typeof body === 'string' || Buffer.isBuffer(body)) && headers['content-length'] === undefined) headers['content-length'] = Buffer.byteLength(body);
  res.writeHead(answer.status, headers);
  if (body === undefined || typeof body === 'string' || Buffer.isBuffer(body)) {
    res.end(req.method === 'HEAD' ? undefined : body);
    return;
  }
  if (req.method === 'HEAD') {
    answer.discard?.();
    body.destroy();
    res.end();
    return;
  }
  body.once('error', () => res.destroy());
  res.once('close', () => body.destroy());
  body.pipe(res);
}
