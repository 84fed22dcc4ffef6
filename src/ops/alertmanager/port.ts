/** What labd needs from Alertmanager's API v2 (design §5): alerts, and silences for acknowledgements. */

export interface Matcher {
  name: string;
  value: string;
  isRegex: boolean;
  isEqual: boolean;
}

export interface AmAlert {
  fingerprint: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  /** unprocessed | active | suppressed (silenced or inhibited). */
  state: string;
  silencedBy: string[];
  receivers: string[];
}

export interface AmSilence {
  id: string;
  matchers: Matcher[];
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
  /** expired | active | pending */
  state: string;
}

export interface NewSilence {
  /** Set to update an existing silence (Alertmanager may answer with a new id). */
  id?: string;
  matchers: Matcher[];
  startsAt: Date;
  endsAt: Date;
  createdBy: string;
  comment: string;
}

export interface AlertQuery {
  /** Matcher strings, e.g. `alertname="DiskFull"`. */
  filter?: string[];
  active?: boolean;
  silenced?: boolean;
  inhibited?: boolean;
  unprocessed?: boolean;
}

export interface AlertmanagerPort {
  /** Where the API lives, for messages. */
  readonly target: string;
  listAlerts(query?: AlertQuery, signal?: AbortSignal): Promise<AmAlert[]>;
  listSilences(filter?: string[], signal?: AbortSignal): Promise<AmSilence[]>;
  /** One silence by id (NotFound when Alertmanager does not know it). */
  getSilence(id: string, signal?: AbortSignal): Promise<AmSilence>;
  /** Returns the silence id (a new one when Alertmanager could not update in place). */
  createSilence(silence: NewSilence, signal?: AbortSignal): Promise<string>;
  /** Expires a silence; false when Alertmanager does not know it (already gone). */
  expireSilence(id: string, signal?: AbortSignal): Promise<boolean>;
}

/** An exact, positive matcher on every label: selects exactly the alert with this label set, never a sibling. */
export function exactMatchers(labels: Record<string, string>): Matcher[] {
  return Object.entries(labels)
    .filter(([, value]) => value !== '')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => ({ name, value, isRegex: false, isEqual: true }));
}
