/** The ops events port: built once by the composition root, handed to nodes, deploys and the bot. */
export type { OpsEvent, OpsEventKind, OpsEventStore, OpsEventsPort, PushedRefs, RefChanges, StoredOpsEvent } from './types.ts';
export { OPS_EVENT_RETENTION_MS, OpsEvents } from './bus.ts';
