/**
 * HTTP routes as neutral data: a module contributes method + path + handler, and the HTTP front-end
 * (src/http) adapts node:http to these small interfaces. Ops code never sees a socket.
 */
import type { Readable } from 'node:stream';

export interface RouteRequest {
  method: string;
  /** The peer's IP address as the socket saw it. */
  remoteAddress: string;
  /** `:name` segments of the route's path, decoded. */
  params: Record<string, string>;
  /** The first value of a query-string parameter. */
  query(name: string): string | undefined;
  /** Header names in lower case. */
  header(name: string): string | undefined;
  /** Reads the whole body; rejects with BodyTooLarge beyond `maxBytes` (the front-end answers 413). */
  readBody(maxBytes: number): Promise<Buffer>;
  /** The body as it arrives, for a handler that bounds it chunk by chunk (see readBody for the simple case). */
  bodyStream(): Readable;
  /** Drains a body the handler does not want (e.g. a refused token), so the connection stays usable. */
  discardBody(): void;
}

export interface RouteResponse {
  status: number;
  headers?: Record<string, string | number>;
  /** A stream is piped (and destroyed when the client goes); HEAD answers send no body either way. */
  body?: string | Buffer | Readable;
  /** Called when no body is sent (HEAD): frees what the stream held. */
  discard?: () => void;
}

export interface HttpRoute {
  /** PROPFIND, REPORT and OPTIONS are for CardDAV (WebDAV, RFC 4918 / 6352). */
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PROPFIND' | 'REPORT' | 'OPTIONS';
  /** `/p/:user/:name`: `:name` segments become params. */
  path: string;
  /** Which listener serves it: the public HTTP listener (default), or the boot API's own (nodes.bootListen). */
  listener?: 'public' | 'boot';
  handle(req: RouteRequest): RouteResponse | Promise<RouteResponse>;
}

export class BodyTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`body larger than ${limit} bytes`);
  }
}

export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): RouteResponse {
  const text = JSON.stringify(body) + '\n';
  return { status, headers: { 'content-type': 'application/json', 'x-content-type-options': 'nosniff', ...headers }, body: text };
}

export function textResponse(status: number, body: string, type = 'text/plain; charset=utf-8'): RouteResponse {
  return { status, headers: { 'content-type': type, 'x-content-type-options': 'nosniff' }, body };
}
