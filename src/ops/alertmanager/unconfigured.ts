/** The port when the alertmanager section is off: every call says how to turn it on. */
import { Unavailable } from '../../core/errors.ts';
import type { AlertmanagerPort } from './port.ts';

export const NOT_CONFIGURED =
  'no Alertmanager configured (set LABD_ALERTMANAGER_URL and LABD_WEBHOOK_TOKEN, or alertmanager.url and alertmanager.webhookToken in the config file)';

const fail = async (): Promise<never> => {
  throw new Unavailable(NOT_CONFIGURED);
};

export const unconfiguredAlertmanager: AlertmanagerPort = {
  target: '(not configured)',
  listAlerts: fail,
  listSilences: fail,
  getSilence: fail,
  createSilence: fail,
  expireSilence: fail,
};
