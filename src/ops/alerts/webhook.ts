/**
 * POST /hooks/alertmanager. Alertmanager retries only on network errors and 5xx and re-sends whole
 * groups, so: authenticate, read with a size limit, validate, store in one transaction, and only
 * then answer 2xx. 4xx for what a retry cannot fix; 503 when the database fails, so it retries.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../core/logger.ts';
import { webhookPayload } from './payload.ts';
import type { AlertService } from './service.ts';

export interface WebhookOptions {
  token: string;
  maxBytes: number;
}

function reply(res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
  const text = JSON.stringify(body) + '\n';
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'x-content-type-options': 'nosniff', ...extra });
  res.end(text);
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!m) return false;
  const given = Buffer.from(m[1]!);
  const wanted = Buffer.from(token);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

class TooLarge extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) return reject(new TooLarge());
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.resume();
        return reject(new TooLarge());
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

export function alertmanagerWebhook(service: AlertService, opts: WebhookOptions, log: Logger) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!tokenMatches(req.headers.authorization, opts.token)) {
      req.resume();
      return reply(res, 401, { error: 'missing or wrong bearer token' }, { 'www-authenticate': 'Bearer realm="labd"' });
    }
    let body: Buffer;
    try {
      body = await readBody(req, opts.maxBytes);
    } catch (err) {
      if (err instanceof TooLarge) return reply(res, 413, { error: `body larger than ${opts.maxBytes} bytes (set max_alerts in the webhook config)` }, { connection: 'close' });
      throw err;
    }
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      return reply(res, 400, { error: 'body is not JSON' });
    }
    const parsed = webhookPayload.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return reply(res, 400, { error: `not an Alertmanager v4 webhook: ${issue.path.join('.') || '(body)'}: ${issue.message}` });
    }
    let result;
    try {
      result = service.receive(parsed.data);
    } catch (err) {
      log.error({ err, groupKey: parsed.data.groupKey }, 'alert webhook: could not store the delivery');
      return reply(res, 503, { error: 'could not store the alerts; retry later' }, { 'retry-after': '10' });
    }
    log.debug({ group: result.groupId, stored: result.stored, duplicates: result.duplicates }, 'alert webhook stored');
    reply(res, 200, { group: result.groupId, stored: result.stored, duplicates: result.duplicates });
  };
}
