/**
 * The alerts module: Alertmanager's webhook, the alert store, `alerts`/`ack`/`unack`, and the
 * poller. The Matrix bot gets the same service through `alertsFor` and subscribes a notifier.
 */
import { parseDuration } from '../../core/duration.ts';
import type { LabdApp } from '../../apps/index.ts';
import type { Services } from '../context.ts';
import { alertmanagerFor, NOT_CONFIGURED } from '../alertmanager/index.ts';
import { backendsFor, withBackend } from '../backends.ts';
import { AppriseClient } from './apprise.ts';
import { alertCommands } from './commands.ts';
import { AppriseEscalator } from './escalation.ts';
import { AlertService } from './service.ts';
import { AlertStore } from './store.ts';
import { alertmanagerWebhook } from './webhook.ts';

export type { AlertGroupView, AlertNotifier, AlertView, AckView } from './view.ts';
export { AlertService } from './service.ts';

const services = new WeakMap<Services['config'], AlertService>();

/** The shared alert service for this config. */
export function alertsFor(s: Pick<Services, 'config' | 'db' | 'clock' | 'log'>): AlertService {
  let service = services.get(s.config);
  if (!service) {
    const am = s.config.alertmanager;
    service = new AlertService(new AlertStore(s.db), alertmanagerFor(s.config), s.clock, s.log, { db: s.db, holdStepMs: am.enabled ? parseDuration(am.ackHoldStep) * 1000 : undefined, escalateAfterMs: am.enabled ? parseDuration(am.escalateAfter) * 1000 : undefined });
    services.set(s.config, service);
  }
  return service;
}

export const alertsModule: LabdApp = {
  name: 'alerts',
  install(host) {
    const { config, log } = host.services;
    const service = alertsFor(host.services);
    const am = config.alertmanager;
    // A filter no alert carries: the answer is small, and reaching the API is what is checked.
    backendsFor(config).declare('alertmanager', { configured: am.enabled, notConfigured: NOT_CONFIGURED, probe: (signal) => service.am.listAlerts({ filter: ['labd_probe="1"'] }, signal) });
    host.registry.register(
      ...withBackend('alertmanager', alertCommands(service, {
        holdStepSeconds: am.enabled ? parseDuration(am.ackHoldStep) : 900,
        holdMaxSeconds: am.enabled ? parseDuration(am.ackHoldMax) : 86400,
        maxAckSeconds: am.enabled ? parseDuration(am.maxAckDuration) : 7 * 86400,
      })),
    );
    if (!am.enabled) {
      log.info(`${NOT_CONFIGURED}: POST /hooks/alertmanager is off`);
      return;
    }
    host.http.route('POST', '/hooks/alertmanager', alertmanagerWebhook(service, { token: am.webhookToken, maxBytes: am.webhookMaxBytes }, log));
    log.info({ alertmanager: service.am.target, apprise: am.appriseUrl ?? null }, 'Alertmanager configured: POST /hooks/alertmanager');

    const tick = () => {
      service.poll().catch((err: unknown) => log.warn({ err: (err as Error).message }, 'alert poll failed; retrying at the next interval'));
    };
    // Held acks are extended by the same round: it runs at least three times per step.
    const timer = setInterval(tick, Math.min(parseDuration(am.pollInterval), parseDuration(am.ackHoldStep) / 3) * 1000);
    timer.unref();
    const escalator = am.appriseUrl
      ? new AppriseEscalator({ db: host.services.db, alerts: service, apprise: new AppriseClient(am.appriseUrl, parseDuration(am.appriseTimeout) * 1000), clock: host.services.clock, log })
      : undefined;
    escalator?.start();
    host.onStop(async () => {
      clearInterval(timer);
      await escalator?.stop();
      await service.settle();
    });
  },
};
