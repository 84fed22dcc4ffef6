/**
 * The alert store port: groups, alerts, their state history (the dedupe key) and labd's silences.
 * Every method is one unit of work (the implementation on SQLite or PostgreSQL, sql-store.ts, runs
 * each write in one transaction, or joins the caller's): nothing is half-stored.
 */
import type { WebhookPayload } from './payload.ts';
import type { AlertGroupView } from './view.ts';

export interface IngestResult {
  groupId: number;
  /** New (groupKey, fingerprint, status, startsAt) transitions stored. */
  stored: number;
  /** Alerts already known in this state (re-sent group, HA duplicate) or older than what is stored. */
  duplicates: number;
  changed: boolean;
}

export interface NewAck {
  by: string;
  userId: number | null;
  at: Date;
  until: Date;
  comment: string;
  /** Held while firing (ack without a duration), extended up to this time; null: a fixed time. */
  holdUntil: Date | null;
  silences: { fingerprint: string; silenceId: string }[];
}

/** Why an acknowledgement ended, for its history. */
export type AckEnd = 'unacknowledged' | 'ran-out' | 'resolved';

/** One step in the life of an acknowledgement. */
export interface AckHistoryRow {
  id: number;
  groupId: number;
  kind: 'acknowledged' | 'extended' | AckEnd;
  by: string;
  /** The acknowledgement's end after this step. */
  until: Date | null;
  at: Date;
}

export interface AlertStore {
  /** Stores one webhook delivery as one unit; nothing is stored if any part fails. */
  ingest(payload: WebhookPayload, now: Date): Promise<IngestResult>;
  /** Alerts Alertmanager no longer lists while silenced: resolved, as seen by polling. Returns whether the group changed. */
  resolveByPoll(groupId: number, fingerprints: string[], now: Date): Promise<boolean>;
  /** Alert groups by state for /metrics: firing and unacknowledged, acknowledged (firing), resolved. */
  countByState(): Promise<Record<'firing' | 'acknowledged' | 'resolved', number>>;
  get(id: number): Promise<AlertGroupView | undefined>;
  /** Firing groups nobody acknowledged (newest first), or every group with `all`. */
  list(all: boolean): Promise<AlertGroupView[]>;
  /** Groups holding an acknowledgement (firing or, until its silences are expired, resolved). */
  acknowledged(): Promise<AlertGroupView[]>;
  /** Records an acknowledgement and its silences; earlier silences of the group are marked ended (the caller expires them). */
  recordAck(groupId: number, ack: NewAck): Promise<void>;
  /** A held acknowledgement was extended to `until`. */
  recordExtension(groupId: number, until: Date, now: Date): Promise<void>;
  /** Silences Alertmanager replaced by new ones (it keeps the id when it can update in place). */
  replaceSilences(replaced: { from: string; to: string }[]): Promise<void>;
  /** The acknowledgement history of a group, oldest first. */
  ackHistory(groupId: number): Promise<AckHistoryRow[]>;
  /** Ends the acknowledgement (unack, time ran out, group resolved): its silences are over. */
  clearAck(groupId: number, now: Date, why: AckEnd, by: string): Promise<void>;
  /** Silences of the group labd has not ended yet. */
  activeSilences(groupId: number): Promise<{ fingerprint: string; silenceId: string }[]>;
}
