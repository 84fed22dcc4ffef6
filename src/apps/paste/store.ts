/** One paste as stored: metadata (the bytes are the file `blob` under the store's blob directory). */
export interface PasteRow {
  id: number;
  userId: number;
  name: string;
  /** File name of the bytes; a new one per upload, so a replace is one row update. */
  blob: string;
  size: number;
  /** Not valid UTF-8 or holds NUL bytes: served as application/octet-stream. */
  binary: boolean;
  hidden: boolean;
  createdAt: Date;
  expiresAt: Date | null;
}

export type Paste = PasteRow & { owner: string };

/** A paste opened for reading: the descriptor keeps these bytes even if the paste is replaced meanwhile. */
export interface OpenPaste {
  paste: Paste;
  fd: number;
  size: number;
}

/** What `commit` takes: a finished upload in a temp file and what to record about it. */
export interface PasteCommit {
  userId: number;
  name: string;
  tempPath: string;
  size: number;
  binary: boolean;
  hidden: boolean;
  expiresAt: Date | null;
  quota?: { bytes: number; count: number };
}

/**
 * The paste store port: metadata behind async methods (SqlPasteStore in sql-store.ts, on SQLite or
 * PostgreSQL), bytes in files. Replacing a paste is one atomic update: readers see the old bytes or
 * the new, never a mix.
 */
export interface PasteStore {
  /** Creates the directories and drops uploads a previous run left half-done. */
  prepare(): void;
  newTempPath(): string;
  discardTemp(tempPath: string): void;
  /** The first `limit` bytes of an open paste, as text. */
  readHead(fd: number, limit: number): string;
  readHeadBytes(fd: number, limit: number): Buffer;
  /** What a user stores besides the paste `name` (which an upload under that name replaces): bytes and pastes, expired ones until swept. */
  usage(userId: number, exceptName?: string): Promise<{ bytes: number; count: number }>;
  /**
   * Moves the upload into place and records it (replacing a paste of the same name). With a quota, the
   * user's usage is checked in the same transaction (parallel uploads cannot pass it together): over
   * it, Conflict, and nothing is stored.
   */
  commit(input: PasteCommit): Promise<PasteRow>;
  exists(userId: number, name: string): Promise<boolean>;
  /** A live (not expired) paste. */
  find(owner: string, name: string): Promise<Paste | undefined>;
  /** Live pastes of one user, by name; hidden ones only when asked. */
  list(userId: number, includeHidden: boolean): Promise<Paste[]>;
  /** Opens a live paste's bytes. */
  open(owner: string, name: string): Promise<OpenPaste | undefined>;
  /** Removes a live paste; returns it, or undefined when there was none. */
  remove(owner: string, name: string): Promise<Paste | undefined>;
  /** Deletes expired pastes, and blob files no row points at once they are older than a grace period. */
  sweep(): Promise<{ expired: number; orphans: number }>;
}
