import { closeSync, createReadStream } from 'node:fs';
import type { Clock } from '../../core/clock.ts';
import { textResponse, type HttpRoute, type RouteResponse } from '../../ops/http.ts';
import { isPasteName, isUserName } from './names.ts';
import { PAGE_BYTES, PAGE_CSP, renderPastePage } from './page.ts';
import type { OpenPaste, PasteStore } from './store.ts';

/** Sent with the raw bytes too: opened directly, they may still never run anything. */
const RAW_CSP = "default-src 'none'; sandbox";

function openFor(store: PasteStore, params: Record<string, string>): OpenPaste | undefined {
  const user = params.user ?? '';
  const name = params.name ?? '';
  if (!isUserName(user) || !isPasteName(name)) return undefined;
  return store.open(user, name);
}

const notFound = (): RouteResponse => textResponse(404, 'no such paste (it may have expired)\n');

/** `GET /p/USER/NAME` (highlighted page) and `GET /p/USER/NAME/raw` (the bytes as stored). */
export function pasteRoutes(store: PasteStore, clock: Clock): HttpRoute[] {
  const page: HttpRoute = {
    method: 'GET',
    path: '/p/:user/:name',
    handle(req) {
      const opened = openFor(store, req.params);
      if (!opened) return notFound();
      const { paste, fd, size } = opened;
      let html: string;
      try {
        const head = paste.binary ? undefined : store.readHeadBytes(fd, PAGE_BYTES);
        html = renderPastePage({ owner: paste.owner, name: paste.name, size, binary: paste.binary, hidden: paste.hidden, expiresAt: paste.expiresAt, now: clock.now(), rawUrl: `${encodeURIComponent(paste.name)}/raw`, head });
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
  const raw: HttpRoute = { method: 'GET', path: '/p/:user/:name/raw', handle: (req) => rawResponse(req.method, openFor(store, req.params)) };
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
