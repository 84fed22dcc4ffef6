import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, mkdirSync, openSync, readdirSync, readSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { and, asc, eq, gt, isNull, lte, ne, or, sql } from 'drizzle-orm';
import type { Clock } from '../../core/clock.ts';
import { Conflict } from '../../core/errors.ts';
import type { Db } from '../../db/client.ts';
import { pastes, users } from '../../db/schema.ts';
import type { OpenPaste, Paste, PasteRow, PasteStore } from './store.ts';

/**
 * Paste metadata in SQLite, bytes in files. Every upload gets a new blob file, so replacing a
 * paste is one row update (readers see the old bytes or the new, never a mix).
 */
export class SqlitePasteStore implements PasteStore {
  readonly blobDir: string;
  readonly tmpDir: string;

  constructor(
    private readonly db: Db,
    dataDir: string,
    private readonly clock: Clock,
  ) {
    this.blobDir = join(dataDir, 'pastes', 'blobs');
    this.tmpDir = join(dataDir, 'pastes', 'tmp');
  }

  /** Creates the directories and drops uploads a previous run left half-done. */
  prepare(): void {
    rmSync(this.tmpDir, { recursive: true, force: true });
    mkdirSync(this.tmpDir, { recursive: true, mode: 0o700 });
    mkdirSync(this.blobDir, { recursive: true, mode: 0o700 });
  }

  newTempPath(): string {
    return join(this.tmpDir, randomBytes(16).toString('hex'));
  }

  discardTemp(tempPath: string): void {
    rmSync(tempPath, { force: true });
  }

  /** The first `limit` bytes of an open paste, as text. */
  readHead(fd: number, limit: number): string {
    return this.readHeadBytes(fd, limit).toString('utf8');
  }

  readHeadBytes(fd: number, limit: number): Buffer {
    const buf = Buffer.alloc(Math.min(limit, fstatSync(fd).size));
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  }

  private live() {
    return or(isNull(pastes.expiresAt), gt(pastes.expiresAt, this.clock.now()));
  }

  private usageNow(userId: number, exceptName?: string): { bytes: number; count: number } {
    const row = this.db
      .select({ bytes: sql<number>`coalesce(sum(${pastes.size}), 0)`, count: sql<number>`count(*)` })
      .from(pastes)
      .where(exceptName === undefined ? eq(pastes.userId, userId) : and(eq(pastes.userId, userId), ne(pastes.name, exceptName)))
      .get();
    return { bytes: Number(row?.bytes ?? 0), count: Number(row?.count ?? 0) };
  }

  async usage(userId: number, exceptName?: string): Promise<{ bytes: number; count: number }> {
    return this.usageNow(userId, exceptName);
  }

  /**
   * Moves a finished upload into place and points the (user, name) row at it. Synchronous from
   * rename to row update, so the sweeper (same event loop) never sees a blob without its row.
   * With a quota, the user's usage is checked in the same transaction.
   */
  async commit(input: {
    userId: number;
    name: string;
    tempPath: string;
    size: number;
    binary: boolean;
    hidden: boolean;
    expiresAt: Date | null;
    quota?: { bytes: number; count: number };
  }): Promise<PasteRow> {
    const blob = randomBytes(16).toString('hex');
    const blobPath = join(this.blobDir, blob);
    try {
      renameSync(input.tempPath, blobPath);
    } catch (err) {
      rmSync(input.tempPath, { force: true });
      throw err;
    }
    let previous: string | undefined;
    let row: PasteRow;
    try {
      row = this.db.transaction((tx) => {
        if (input.quota) {
          const used = this.usageNow(input.userId, input.name);
          if (used.count + 1 > input.quota.count)
            throw new Conflict(`paste quota: you have ${used.count} pastes, the most one user may keep (paste.quota.count); remove some with paste rm`);
          if (used.bytes + input.size > input.quota.bytes)
            throw new Conflict(
              `paste quota: ${used.bytes} bytes stored plus ${input.size} would pass ${input.quota.bytes} (paste.quota.bytes); remove some with paste rm`,
            );
        }
        const old = tx
          .select({ blob: pastes.blob })
          .from(pastes)
          .where(and(eq(pastes.userId, input.userId), eq(pastes.name, input.name)))
          .get();
        previous = old?.blob;
        const values = { blob, size: input.size, binary: input.binary, hidden: input.hidden, expiresAt: input.expiresAt, createdAt: this.clock.now() };
        return tx
          .insert(pastes)
          .values({ userId: input.userId, name: input.name, ...values })
          .onConflictDoUpdate({ target: [pastes.userId, pastes.name], set: values })
          .returning()
          .get();
      });
    } catch (err) {
      rmSync(blobPath, { force: true });
      throw err;
    }
    if (previous) rmSync(join(this.blobDir, previous), { force: true });
    return row;
  }

  async exists(userId: number, name: string): Promise<boolean> {
    return !!this.db
      .select({ id: pastes.id })
      .from(pastes)
      .where(and(eq(pastes.userId, userId), eq(pastes.name, name)))
      .get();
  }

  async find(owner: string, name: string): Promise<Paste | undefined> {
    const row = this.db
      .select()
      .from(pastes)
      .innerJoin(users, eq(pastes.userId, users.id))
      .where(and(eq(users.name, owner), eq(pastes.name, name), this.live()))
      .get();
    return row ? { ...row.pastes, owner: row.users.name } : undefined;
  }

  /** Live pastes of one user, newest first; hidden ones only when asked. */
  async list(userId: number, includeHidden: boolean): Promise<Paste[]> {
    return this.db
      .select()
      .from(pastes)
      .innerJoin(users, eq(pastes.userId, users.id))
      .where(and(eq(pastes.userId, userId), this.live(), includeHidden ? undefined : eq(pastes.hidden, false)))
      .orderBy(asc(pastes.name))
      .all()
      .map((r) => ({ ...r.pastes, owner: r.users.name }));
  }

  /** Opens a live paste's bytes; retries when a replace or delete removed the file in between. */
  async open(owner: string, name: string): Promise<OpenPaste | undefined> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const paste = await this.find(owner, name);
      if (!paste) return undefined;
      let fd: number;
      try {
        fd = openSync(join(this.blobDir, paste.blob), 'r');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
      try {
        return { paste, fd, size: fstatSync(fd).size };
      } catch (err) {
        closeSync(fd);
        throw err;
      }
    }
    return undefined;
  }

  /** Removes a live paste; returns it, or undefined when there was none. */
  async remove(owner: string, name: string): Promise<Paste | undefined> {
    const paste = await this.find(owner, name);
    if (!paste) return undefined;
    this.db.delete(pastes).where(eq(pastes.id, paste.id)).run();
    rmSync(join(this.blobDir, paste.blob), { force: true });
    return paste;
  }

  /** Deletes expired pastes and blob files no row points at (left by deleted users or a crash). */
  async sweep(): Promise<{ expired: number; orphans: number }> {
    const gone = this.db.delete(pastes).where(lte(pastes.expiresAt, this.clock.now())).returning({ blob: pastes.blob }).all();
    for (const { blob } of gone) rmSync(join(this.blobDir, blob), { force: true });
    const known = new Set(
      this.db
        .select({ blob: pastes.blob })
        .from(pastes)
        .all()
        .map((r) => r.blob),
    );
    let orphans = 0;
    for (const file of readdirSync(this.blobDir)) {
      if (known.has(file)) continue;
      rmSync(join(this.blobDir, file), { force: true });
      orphans++;
    }
    return { expired: gone.length, orphans };
  }
}
