/**
 * `GET /p/USER/NAME` (highlighted page) and `GET /p/USER/NAME/raw` (the bytes as stored): transport
 * only. Whether the paste may be read is the registry's `paste-page`, invoked by an anonymous actor
 * on the http surface (permission, authorize, metrics as everywhere); the bytes are then streamed.
 */
import { closeSync, createReadStream } from 'node:fs';
import type { Actor } from '../../core/actor.ts';
import type { Clock } from '../../core/clock.ts';
import type { Highlighter } from '../../core/highlight/index.ts';
import { textResponse, type HttpRoute, type RouteRequest, type RouteResponse } from '../../ops/http.ts';
import type { Registry } from '../../ops/registry.ts';
import { PAGE_BYTES, PAGE_CSP, renderPastePage } from './page.ts';
import type { OpenPaste, PasteStore } from './store.ts';

/** Sent with the raw bytes too: opened directly, they may still never run anything. */
const RAW_CSP = "default-src 'none'; sandbox";

/** Whoever reads a paste page: nobody logged in. */
export function anonymousReader(req: RouteRequest): Actor {
  return { userId: null, name: 'anonymous', role: 'guest', via: 'http', remoteAddress: req.remoteAddress };
}

const notFound = (): RouteResponse => textResponse(404, 'no such paste (it may have expired)\n');

export function pasteRoutes(deps: { registry: Pick<Registry, 'invoke'>; store: PasteStore; highlighter: Highlighter; clock: Clock }): HttpRoute[] {
  const { registry, store, clock } = deps;
  /** The registry decides; a refusal or a missing paste is the server's typed-error mapping (403/404). */
  const opened = async (req: RouteRequest): Promise<OpenPaste | undefined> => {
    await registry.invoke(anonymousReader(req), ['paste-page'], { user: req.params.user ?? '', name: req.params.name ?? '' });
    return await store.open(req.params.user ?? '', req.params.name ?? '');
  };
  const page: HttpRoute = {
    method: 'GET',
    path: '/p/:user/:name',
    async handle(req) {
      const open = await opened(req);
      if (!open) return notFound();
      const { paste, fd, size } = open;
      let html: string;
      try {
        const head = paste.binary ? undefined : store.readHeadBytes(fd, PAGE_BYTES);
        html = await renderPastePage({
          owner: paste.owner,
          name: paste.name,
          size,
          binary: paste.binary,
          hidden: paste.hidden,
          expiresAt: paste.expiresAt,
          now: clock.now(),
          rawUrl: `${encodeURIComponent(paste.name)}/raw`,
          head,
          highlighter: deps.highlighter,
        });
      } finally {
        closeSync(fd);
      }
      return {
        status: 200,
        headers: {
          'content-type': 'text/html; charset=utf-8',
          'content-security-policy': PAGE_CSP,
          'x-content-type-options': 'nosniff',
          'x-frame-options': 'DENY',
          'referrer-policy': 'no-referrer',
          'cache-control': 'no-cache',
        },
        body: html,
      };
    },
  };
  const raw: HttpRoute = { method: 'GET', path: '/p/:user/:name/raw', handle: async (req) => rawResponse(req.method, await opened(req)) };
  return [page, raw];
}

function rawResponse(method: string, opened: OpenPaste | undefined): RouteResponse {
  if (!opened) return notFound();
  const { paste, fd, size } = opened;
  const headers = {
    'content-type': paste.binary ? 'application/octet-stream' : 'text/plain; charset=utf-8',
    'content-length': size,
    'content-security-policy': RAW_CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-cache',
  };
  if (method === 'HEAD' || size === 0) {
    closeSync(fd);
    return { status: 200, headers };
  }
  return { status: 200, headers, body: createReadStream('', { fd, autoClose: true, end: size - 1 }) };
}
