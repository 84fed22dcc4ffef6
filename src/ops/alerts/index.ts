/**
 * The alerts module: Alertmanager's webhook, `alerts`/`ack`/`unack`, the poller and the Apprise
 * escalator, on the alert service the composition root built (the Matrix bot gets the same one).
 */
import type { AlertmanagerConfig } from '../../config/schema.ts';
import { parseDuration } from '../../core/duration.ts';
import type { Logger } from '../../core/logger.ts';
import type { Db } from '../../db/client.ts';
import type { Clock } from '../../core/clock.ts';
import { alertmanagerFor, NOT_CONFIGURED } from '../alertmanager/index.ts';
import type { AuditLog } from '../audit/store.ts';
import type { Job, LabdModule } from '../module.ts';
import { withBackend, type Backends } from '../backends.ts';
import { AppriseClient } from './apprise.ts';
import { alertCommands } from './commands.ts';
import { AppriseEscalator } from './escalation.ts';
import { AlertService } from './service.ts';
import { AlertStore } from './store.ts';
import { alertmanagerWebhook } from './webhook.ts';

export type { AlertGroupView, AlertNotifier, AlertView, AckView } from './view.ts';
export { AlertService } from './service.ts';

type AlertsConfig = { enabled: false } | AlertmanagerConfig;

/** The one alert service of a labd: Alertmanager's client (or one that explains it is off) and the alert store. */
export function createAlertService(deps: { config: AlertsConfig; db: Db; audit: AuditLog; clock: Clock; log: Logger }): AlertService {
  const am = deps.config;
  return new AlertService(new AlertStore(deps.db), alertmanagerFor(am), deps.clock, deps.log, {
    audit: deps.audit,
    holdStepMs: am.enabled ? parseDuration(am.ackHoldStep) * 1000 : undefined,
    escalateAfterMs: am.enabled ? parseDuration(am.escalateAfter) * 1000 : undefined,
  });
}

export function alertsModule(deps: { service: AlertService; config: AlertsConfig; backends: Backends; db: Db; clock: Clock; log: Logger }): LabdModule {
  const { service, config: am, log } = deps;
  // A filter no alert carries: the answer is small, and reaching the API is what is checked.
  deps.backends.declare('alertmanager', { configured: am.enabled, notConfigured: NOT_CONFIGURED, probe: (signal) => service.am.listAlerts({ filter: ['labd_probe="1"'] }, signal) });
  const commands = withBackend(
    'alertmanager',
    alertCommands(service, {
      holdStepSeconds: am.enabled ? parseDuration(am.ackHoldStep) : 900,
      holdMaxSeconds: am.enabled ? parseDuration(am.ackHoldMax) : 86400,
      maxAckSeconds: am.enabled ? parseDuration(am.maxAckDuration) : 7 * 86400,
    }),
  );
  if (!am.enabled) {
    log.info(`${NOT_CONFIGURED}: POST /hooks/alertmanager is off`);
    return { name: 'alerts', commands };
  }
  log.info({ alertmanager: service.am.target, apprise: am.appriseUrl ?? null }, 'Alertmanager configured: POST /hooks/alertmanager');

  let timer: NodeJS.Timeout | undefined;
  const poller: Job = {
    name: 'alert poller',
    start() {
      const tick = () => {
        service.poll().catch((err: unknown) => log.warn({ err: (err as Error).message }, 'alert poll failed; retrying at the next interval'));
      };
      // Held acks are extended by the same round: it runs at least three times per step.
      timer = setInterval(tick, Math.min(parseDuration(am.pollInterval), parseDuration(am.ackHoldStep) / 3) * 1000);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      await service.settle();
    },
  };
  const jobs: Job[] = [poller];
  if (am.appriseUrl) {
    const escalator = new AppriseEscalator({ db: deps.db, alerts: service, apprise: new AppriseClient(am.appriseUrl, parseDuration(am.appriseTimeout) * 1000), clock: deps.clock, log });
    // Stopped before the poller (jobs stop in reverse order), as before.
    jobs.push({ name: 'apprise escalator', start: () => escalator.start(), stop: () => escalator.stop() });
  }
  return { name: 'alerts', commands, routes: [alertmanagerWebhook(service, { token: am.webhookToken, maxBytes: am.webhookMaxBytes }, log)], jobs };
}
