import type { PermissionDecl } from '../module.ts';
/**
 * The alerts module: Alertmanager's webhook, `alerts`/`ack`/`unack`, the poller and the Apprise
 * escalator, on the alert service the composition root built (the Matrix bot gets the same one).
 */
import type { AlertmanagerConfig } from '../../config/schema.ts';
import type { Logger } from '../../core/logger.ts';
import type { Clock } from '../../core/clock.ts';
import { alertmanagerFor, NOT_CONFIGURED } from '../alertmanager/index.ts';
import type { AuditLog } from '../audit/store.ts';
import type { Job, LabdModule } from '../module.ts';
import { withBackend, type Backends } from '../backends.ts';
import type { AppriseClient } from './apprise.ts';
import { alertCommands } from './commands.ts';
import { AppriseEscalator, type EscalationStore } from './escalation.ts';
import { AlertService } from './service.ts';
import type { AlertStore } from './store.ts';
import { alertmanagerWebhook } from './webhook.ts';

export type { AlertGroupView, AlertNotifier, AlertView, AckView } from './view.ts';
export { AlertService } from './service.ts';

type AlertsConfig = { enabled: false } | AlertmanagerConfig;

/** The one alert service of a labd: Alertmanager's client (or one that explains it is off) and the alert store. */
export function createAlertService(deps: { config: AlertsConfig; store: AlertStore; audit: AuditLog; clock: Clock; log: Logger }): AlertService {
  const am = deps.config;
  return new AlertService(deps.store, alertmanagerFor(am), deps.clock, deps.log, {
    audit: deps.audit,
    holdStepMs: am.enabled ? am.ackHoldStep.ms : undefined,
    escalateAfterMs: am.enabled ? am.escalateAfter.ms : undefined,
  });
}

const PERMISSIONS: PermissionDecl[] = [
  { name: 'ops.read', summary: 'read the cluster, deploys, alerts and seats', roles: ['admin', 'operator'] },
  { name: 'ops.alerts', summary: 'acknowledge and silence alerts', roles: ['admin', 'operator'] },
];

export function alertsModule(deps: {
  service: AlertService;
  config: AlertsConfig;
  backends: Backends;
  escalations: EscalationStore;
  /** Where escalations go besides the room (alertmanager.appriseUrl); none: the room mention only. */
  apprise?: AppriseClient;
  clock: Clock;
  log: Logger;
}): LabdModule {
  const { service, config: am, log } = deps;
  // A filter no alert carries: the answer is small, and reaching the API is what is checked.
  deps.backends.declare('alertmanager', {
    configured: am.enabled,
    notConfigured: NOT_CONFIGURED,
    probe: (signal) => service.am.listAlerts({ filter: ['labd_probe="1"'] }, signal),
  });
  const commands = withBackend(
    'alertmanager',
    alertCommands(service, {
      holdStepSeconds: am.enabled ? am.ackHoldStep.seconds : 900,
      holdMaxSeconds: am.enabled ? am.ackHoldMax.seconds : 86400,
      maxAckSeconds: am.enabled ? am.maxAckDuration.seconds : 7 * 86400,
    }),
  );
  if (!am.enabled) {
    log.info(`${NOT_CONFIGURED}: POST /hooks/alertmanager is off`);
    return { name: 'alerts', permissions: PERMISSIONS, commands };
  }
  log.info({ alertmanager: service.am.target, apprise: am.appriseUrl ?? null }, 'Alertmanager configured: POST /hooks/alertmanager');

  let timer: NodeJS.Timeout | undefined;
  const poller: Job = {
    name: 'alert poller',
    singleton: true,
    start() {
      const tick = () => {
        service.poll().catch((err: unknown) => log.warn({ err: (err as Error).message }, 'alert poll failed; retrying at the next interval'));
      };
      // Held acks are extended by the same round: it runs at least three times per step.
      timer = setInterval(tick, Math.min(am.pollInterval.ms, am.ackHoldStep.ms / 3));
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      await service.settle();
    },
  };
  const jobs: Job[] = [poller];
  if (am.enabled && deps.apprise) {
    const apprise = deps.apprise;
    // One escalator per run (a stopped one stays stopped): it runs on the leader only.
    let escalator: AppriseEscalator | undefined;
    jobs.push({
      name: 'apprise escalator',
      singleton: true,
      start: () =>
        (escalator = new AppriseEscalator({
          escalations: deps.escalations,
          alerts: service,
          apprise,
          clock: deps.clock,
          log,
          retryMs: am.appriseRetry.ms,
        })).start(),
      stop: async () => escalator?.stop(),
    });
  }
  return {
    name: 'alerts',
    permissions: PERMISSIONS,
    commands,
    routes: [alertmanagerWebhook(service, { token: am.webhookToken, maxBytes: am.webhookMaxBytes }, log)],
    jobs,
  };
}
