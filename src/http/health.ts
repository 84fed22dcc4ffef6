import type { Metrics } from '../core/metrics.ts';
import { jsonResponse, textResponse, type HttpRoute } from '../ops/http.ts';

/** What readiness asks of storage: one round trip to the database, through its port. */
export interface ReadinessProbe {
  ping(): Promise<boolean>;
}

/** Liveness, readiness (database answers, listeners up) and Prometheus metrics. */
export function healthRoutes(deps: { storage: ReadinessProbe; metrics: Metrics; isReady: () => boolean }): HttpRoute[] {
  return [
    { method: 'GET', path: '/healthz', handle: () => jsonResponse(200, { status: 'ok' }) },
    {
      method: 'GET',
      path: '/readyz',
      async handle() {
        const dbOk = await deps.storage.ping().catch(() => false);
        const ready = dbOk && deps.isReady();
        return jsonResponse(ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', checks: { database: dbOk, listeners: deps.isReady() } });
      },
    },
    { method: 'GET', path: '/metrics', handle: async () => textResponse(200, await deps.metrics.registry.metrics(), deps.metrics.registry.contentType) },
  ];
}
