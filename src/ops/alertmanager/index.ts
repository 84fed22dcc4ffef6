/** The Alertmanager port for this config: the real client, or one that explains it is off. */
import type { AlertmanagerConfig } from '../../config/schema.ts';
import { AlertmanagerClient } from './client.ts';
import type { AlertmanagerPort } from './port.ts';
import { unconfiguredAlertmanager } from './unconfigured.ts';

export type { AlertmanagerPort, AmAlert, AmSilence, Matcher, NewSilence, AlertQuery } from './port.ts';
export { exactMatchers } from './port.ts';
export { NOT_CONFIGURED } from './unconfigured.ts';

export function alertmanagerFor(am: { enabled: false } | AlertmanagerConfig): AlertmanagerPort {
  if (!am.enabled) return unconfiguredAlertmanager;
  return new AlertmanagerClient(am.url, am.requestTimeout.ms);
}
