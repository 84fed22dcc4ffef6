/** Ops events: what domain code reports happened. Announcers (the Matrix bot) render them; ops never knows where they go. */

export type OpsEvent =
  | { kind: 'node.joined'; node: string; role: string | null; location: string | null }
  | { kind: 'deploy.finished'; deployment: string; action: string; by: string; detail: string }
  | { kind: 'deploy.failed'; deployment: string; action: string; by: string; error: string }
  /** A push updated one ref (`commits` new commits on it; 0 for a deleted or rewound ref). */
  | { kind: 'git.pushed'; repo: string; ref: string; commits: number; by: string };

export type OpsEventKind = OpsEvent['kind'];

/** An event as stored: its id identifies it to every announcer (e.g. a Matrix transaction id). */
export type StoredOpsEvent = OpsEvent & { id: number; at: Date };

export interface OpsEventsPort {
  /** Stores the event, then tells the subscribers; returns its id. */
  emit(event: OpsEvent): number;
  /** Told after each event is stored; returns the unsubscribe function. */
  subscribe(fn: (event: StoredOpsEvent) => void): () => void;
}
