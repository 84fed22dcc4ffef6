/** The ops events port for this config (one per labd, like the other shared services). */
import type { Services } from '../context.ts';
import { OpsEvents } from './bus.ts';

export type { OpsEvent, OpsEventKind, OpsEventsPort, StoredOpsEvent } from './types.ts';
export { OPS_EVENT_RETENTION_MS, OpsEvents } from './bus.ts';

const buses = new WeakMap<Services['config'], OpsEvents>();

export function eventsFor(s: Pick<Services, 'config' | 'db' | 'clock' | 'log'>): OpsEvents {
  let bus = buses.get(s.config);
  if (!bus) {
    bus = new OpsEvents(s.db, s.clock, s.log);
    buses.set(s.config, bus);
  }
  return bus;
}
