import type { Metrics } from '../core/metrics.ts';
import type { Db } from '../db/client.ts';
import { sendJson, sendText, type HttpServer } from './server.ts';

/** Liveness, readiness (database answers, listeners up) and Prometheus metrics. */
export function registerHealthRoutes(http: HttpServer, deps: { db: Db; metrics: Metrics; isReady: () => boolean }): void {
  http.route('GET', '/healthz', (_req, res) => sendJson(res, 200, { status: 'ok' }));
  http.route('GET', '/readyz', (_req, res) => {
    let dbOk = false;
    try {
      dbOk = deps.db.$client.prepare('select 1 as ok').get() !== undefined;
    } catch {
      dbOk = false;
    }
    const ready = dbOk && deps.isReady();
    sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', checks: { database: dbOk, listeners: deps.isReady() } });
  });
  http.route('GET', '/metrics', async (_req, res) => {
    sendText(res, 200, await deps.metrics.registry.metrics(), deps.metrics.registry.contentType);
  });
}
