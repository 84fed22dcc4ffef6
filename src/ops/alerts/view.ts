/** What the store hands out: a group with its alerts and its acknowledgement. */

export type AlertStatus = 'firing' | 'resolved';

export interface AlertView {
  fingerprint: string;
  status: AlertStatus;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: Date;
  endsAt: Date | null;
  generatorUrl: string;
  /** Covered by one of labd's active silences. */
  silenced: boolean;
}

export interface AckView {
  by: string;
  userId: number | null;
  at: Date;
  until: Date;
  comment: string;
  silenceIds: string[];
  /** An ack without a duration: extended while the group fires, at most until then. Null: ends at `until`. */
  holdUntil: Date | null;
  /** How often a held ack was extended so far. */
  extensions: number;
}

export interface AlertGroupView {
  id: number;
  groupKey: string;
  receiver: string;
  status: AlertStatus;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalUrl: string;
  firstSeenAt: Date;
  changedAt: Date;
  firingSince: Date | null;
  resolvedAt: Date | null;
  ack: AckView | null;
  alerts: AlertView[];
}

/** The port the Matrix bot implements: told after a group's change is stored. */
export interface AlertNotifier {
  groupChanged(group: AlertGroupView): void | Promise<void>;
}
