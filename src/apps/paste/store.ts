import type { pastes } from '../../db/schema.ts';

export type PasteRow = typeof pastes.$inferSelect;
export type Paste = PasteRow & { owner: string };

/** A paste opened for reading: the descriptor keeps these bytes even if the paste is replaced meanwhile. */
export interface OpenPaste {
  paste: Paste;
  fd: number;
  size: number;
}

/**
 * The paste store port: metadata behind async methods (SqlitePasteStore in sqlite.ts), bytes in
 * files. Replacing a paste is one atomic update: readers see the old bytes or the new, never a mix.
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
   * user's usage is checked in the same transaction (parallel uploads cannot pass it together).
   */
  commit(input: {
    userId: number;
    name: string;
    tempPath: string;
    size: number;
    binary: boolean;
    hidden: boolean;
    expiresAt: Date | null;
    quota?: { bytes: number; count: number };
  }): Promise<PasteRow>;
  exists(userId: number, name: string): Promise<boolean>;
  /** A live (not expired) paste. */
  find(owner: string, name: string): Promise<Paste | undefined>;
  /** Live pastes of one user, by name; hidden ones only when asked. */
  list(userId: number, includeHidden: boolean): Promise<Paste[]>;
  /** Opens a live paste's bytes. */
  open(owner: string, name: string): Promise<OpenPaste | undefined>;
  /** Removes a live paste; returns it, or undefined when there was none. */
  remove(owner: string, name: string): Promise<Paste | undefined>;
  /** Deletes expired pastes and blob files no row points at. */
  sweep(): Promise<{ expired: number; orphans: number }>;
}
