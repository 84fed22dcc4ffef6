/** Ops events: what domain code reports happened. Announcers (the Matrix bot) render them; ops never knows where they go. */

export type OpsEvent =
  | { kind: 'node.joined'; node: string; role: string | null; location: string | null }
  | { kind: 'deploy.finished'; deployment: string; action: string; by: string; detail: string }
  | { kind: 'deploy.failed'; deployment: string; action: string; by: string; error: string }
  /**
   * One push, however many refs it changed: `ref` is the first it changed, `commits` the new commits
   * in all (0 for deletions and rewinds); `refs` counts them (absent in events stored before it existed).
   */
  | { kind: 'git.pushed'; repo: string; ref: string; commits: number; by: string; refs?: PushedRefs };

/** What one push did to refs: counts per kind, and the first few names (short form) for the message. */
export interface PushedRefs {
  total: number;
  branches: RefChanges;
  tags: RefChanges;
  /** Refs outside refs/heads and refs/tags (notes, pull refs…), all changes together. */
  other: number;
  names: string[];
}

export interface RefChanges {
  created: number;
  updated: number;
  deleted: number;
}

/** Where events are kept (on SQLite or PostgreSQL: sql-store.ts); each method is one unit of work. */
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
