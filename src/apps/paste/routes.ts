import { closeSync, createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../../core/clock.ts';
import { sendText, type HttpServer } from '../../http/server.ts';
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

function notFound(res: ServerResponse): void {
  sendText(res, 404, 'no such paste (it may have expired)\n');
}

/** `GET /p/USER/NAME` (highlighted page) and `GET /p/USER/NAME/raw` (the bytes as stored). */
export function registerPasteRoutes(http: HttpServer, store: PasteStore, clock: Clock): void {
  http.route('GET', '/p/:user/:name', (req, res, params) => {
    const opened = openFor(store, params);
    if (!opened) return notFound(res);
    const { paste, fd, size } = opened;
    let html: string;
    try {
      const head = paste.binary ? undefined : store.readHeadBytes(fd, PAGE_BYTES);
      html = renderPastePage({ owner: paste.owner, name: paste.name, size, binary: paste.binary, hidden: paste.hidden, expiresAt: paste.expiresAt, now: clock.now(), rawUrl: `${encodeURIComponent(paste.name)}/raw`, head });
    } finally {
      closeSync(fd);
    }
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'content-length': Buffer.byteLength(html),
      'content-security-policy': PAGE_CSP,
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-cache',
    });
    res.end(req.method === 'HEAD' ? undefined : html);
  });

  http.route('GET', '/p/:user/:name/raw', (req, res, params) => sendRaw(req, res, openFor(store, params)));
}

function sendRaw(req: IncomingMessage, res: ServerResponse, opened: OpenPaste | undefined): void {
  if (!opened) return notFound(res);
  const { paste, fd, size } = opened;
  res.writeHead(200, {
    'content-type': paste.binary ? 'application/octet-stream' : 'text/plain; charset=utf-8',
    'content-length': size,
    'content-security-policy': RAW_CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-cache',
  });
  if (req.method === 'HEAD' || size === 0) {
    closeSync(fd);
    res.end();
    return;
  }
  const file = createReadStream('', { fd, autoClose: true, end: size - 1 });
  file.once('error', () => res.destroy());
  res.once('close', () => file.destroy());
  file.pipe(res);
}
