/** Ops events: what domain code reports happened. Announcers (the Matrix bot) render them; ops never knows where they go. */

export type OpsEvent =
  | { kind: 'node.joined'; node: string; role: string | null; location: string | null }
  | { kind: 'deploy.finished'; deployment: string; action: string; by: string; detail: string }
  | { kind: 'deploy.failed'; deployment: string; action: string; by: string; error: string }
  /** A push updated one ref (`commits` new commits on it; 0 for a deleted or rewound ref). */
  | { kind: 'git.pushed'; repo: string; ref: string; commits: number; by: string };

/** Where events are kept (the SQLite implementation is sqlite.ts); each method is one unit of work. */
export interface OpsEventStore {
  /** Stores the event and drops events from before `dropBefore`, as one unit; resolves to the new event's id. */
  append(event: OpsEvent, at: Date, dropBefore: Date): Promise<number>;
  /** Events after `id`, oldest first. */
  since(id: number, limit: number): Promise<StoredOpsEvent[]>;
  /** The newest event's id (0: none yet). */
  latestId(): Promise<number>;
}

export type OpsEventKind = OpsEvent['kind'];

/** An event as stored: its id identifies it to every announcer (e.g. a Matrix transaction id). */
export type StoredOpsEvent = OpsEvent & { id: number; at: Date };

export interface OpsEventsPort {
  /** Stores the event, then tells the subscribers; resolves to its id once it is stored. */
  emit(event: OpsEvent): Promise<number>;
  /** Told after each event is stored; returns the unsubscribe function. */
  subscribe(fn: (event: StoredOpsEvent) => void): () => void;
}
