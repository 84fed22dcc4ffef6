import type { Metrics } from '../core/metrics.ts';
import { jsonResponse, textResponse, type HttpRoute } from '../ops/http.ts';

/** What readiness asks of storage: one round trip to the database, through its port. */
export interface ReadinessProbe {
  ping(): Promise<boolean>;
  /** Which database answers (engine and where, never a password), for /readyz's details. */
  describe?(): string;
}

/** A database that neither answers nor fails (a PostgreSQL behind a dead network) is not ready after this long. */
const PING_TIMEOUT_MS = 2_000;

function pingWithin(storage: ReadinessProbe, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  return Promise.race([storage.ping().catch(() => false), late]).finally(() => clearTimeout(timer));
}

/** A check that does not make labd unready: a failing one turns the status to "degraded" (still 200) and says why. */
export interface SoftCheck {
  ok: boolean;
  /** Why it fails, or what it holds. */
  detail?: string;
}

/**
 * Liveness, readiness (database answers, listeners up) and Prometheus metrics. Soft checks (step-ca
 * reachable) are reported by /readyz without making labd unready: it still serves what it can.
 */
export function healthRoutes(deps: {
  storage: ReadinessProbe;
  metrics: Metrics;
  isReady: () => boolean;
  softChecks?: () => Record<string, SoftCheck>;
  /** This replica's role: the leader runs the singleton jobs (Matrix bot, alert polling, mirrors…); every replica serves. */
  role?: () => 'leader' | 'follower';
}): HttpRoute[] {
  return [
    { method: 'GET', path: '/healthz', handle: () => jsonResponse(200, { status: 'ok' }) },
    {
      method: 'GET',
      path: '/readyz',
      async handle() {
        const dbOk = await pingWithin(deps.storage, PING_TIMEOUT_MS);
        const ready = dbOk && deps.isReady();
        const soft = deps.softChecks?.() ?? {};
        const checks: Record<string, boolean> = { database: dbOk, listeners: deps.isReady() };
        const details: Record<string, string> = {};
        const where = deps.storage.describe?.();
        if (where) details.database = dbOk ? where : `${where}: not answering`;
        for (const [name, c] of Object.entries(soft)) {
          checks[name] = c.ok;
          if (c.detail) details[name] = c.detail;
        }
        const degraded = Object.values(soft).some((c) => !c.ok);
        const status = !ready ? 'not ready' : degraded ? 'degraded' : 'ready';
        const role = deps.role?.();
        return jsonResponse(ready ? 200 : 503, { status, ...(role ? { role } : {}), checks, ...(Object.keys(details).length ? { details } : {}) });
      },
    },
    { method: 'GET', path: '/metrics', handle: async () => textResponse(200, await deps.metrics.registry.metrics(), deps.metrics.registry.contentType) },
  ];
}
