/**
 * POST /hooks/alertmanager. Alertmanager retries only on network errors and 5xx and re-sends whole
 * groups, so: authenticate, read with a size limit, validate, store (one unit of work, awaited),
 * and only then answer 2xx. 4xx for what a retry cannot fix; 503 when the database fails, so it retries.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Logger } from '../../core/logger.ts';
import { BodyTooLarge, jsonResponse, type HttpRoute, type RouteRequest, type RouteResponse } from '../http.ts';
import { webhookPayload } from './payload.ts';
import type { AlertService } from './service.ts';

export interface WebhookOptions {
  token: string;
  maxBytes: number;
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!m) return false;
  const given = Buffer.from(m[1]!);
  const wanted = Buffer.from(token);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

export function alertmanagerWebhook(service: AlertService, opts: WebhookOptions, log: Logger): HttpRoute {
  return { method: 'POST', path: '/hooks/alertmanager', handle: (req) => receiveWebhook(service, opts, log, req) };
}

async function receiveWebhook(service: AlertService, opts: WebhookOptions, log: Logger, req: RouteRequest): Promise<RouteResponse> {
  if (!tokenMatches(req.header('authorization'), opts.token)) {
    req.discardBody();
    return jsonResponse(401, { error: 'missing or wrong bearer token' }, { 'www-authenticate': 'Bearer realm="labd"' });
  }
  let body: Buffer;
  try {
    body = await req.readBody(opts.maxBytes);
  } catch (err) {
    if (err instanceof BodyTooLarge)
      return jsonResponse(413, { error: `body larger than ${opts.maxBytes} bytes (set max_alerts in the webhook config)` }, { connection: 'close' });
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return jsonResponse(400, { error: 'body is not JSON' });
  }
  const parsed = webhookPayload.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return jsonResponse(400, { error: `not an Alertmanager v4 webhook: ${issue.path.join('.') || '(body)'}: ${issue.message}` });
  }
  let result;
  try {
    result = await service.receive(parsed.data);
  } catch (err) {
    log.error({ err, groupKey: parsed.data.groupKey }, 'alert webhook: could not store the delivery');
    return jsonResponse(503, { error: 'could not store the alerts; retry later' }, { 'retry-after': '10' });
  }
  log.debug({ group: result.groupId, stored: result.stored, duplicates: result.duplicates }, 'alert webhook stored');
  return jsonResponse(200, { group: result.groupId, stored: result.stored, duplicates: result.duplicates });
}
