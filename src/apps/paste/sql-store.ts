import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, mkdirSync, openSync, readdirSync, readSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { and, asc, eq, gt, isNull, lte, ne, or, sql } from 'drizzle-orm';
import type { Clock } from '../../core/clock.ts';
import { Conflict } from '../../core/errors.ts';
import type { SqlDb, SqlHandle } from '../../db/sql.ts';
import { lockUntilCommit, textOrder } from '../../db/sql-guards.ts';
import type { OpenPaste, Paste, PasteCommit, PasteRow, PasteStore } from './store.ts';

/**
 * How long a blob file no row points at is left alone: a commit renames its blob into place before
 * its row commits (in this process or in another replica sharing the data dir), so a young file
 * without a row may be one on its way in. Older ones were left by deleted users or a crash.
 */
export const ORPHAN_GRACE_MS = 60 * 60 * 1000;

/**
 * Paste metadata on SQLite or PostgreSQL, bytes in files. Every upload gets a new blob file, so
 * replacing a paste is one row update (readers see the old bytes or the new, never a mix).
 */
export class SqlPasteStore implements PasteStore {
  readonly blobDir: string;
  readonly tmpDir: string;

  constructor(
    private readonly h: SqlHandle,
    dataDir: string,
    private readonly clock: Clock,
    /** The data dir is one volume several replicas mount (database.url set): see prepare. */
    private readonly o: { shared?: boolean } = {},
  ) {
    this.blobDir = join(dataDir, 'pastes', 'blobs');
    this.tmpDir = join(dataDir, 'pastes', 'tmp');
  }

  /**
   * Creates the directories and drops uploads a previous run left half-done. An upload's temp file
   * lives in the data dir beside the blobs, so that its commit is a rename on one filesystem; each
   * has a random name, so replicas sharing the dir never write the same one. On a shared dir another
   * replica may be uploading right now: only temp files untouched for ORPHAN_GRACE_MS are dropped
   * (a crashed replica's); on a dir of its own this process is the only writer and drops them all.
   */
  prepare(): void {
    if (!this.o.shared) rmSync(this.tmpDir, { recursive: true, force: true });
    mkdirSync(this.tmpDir, { recursive: true, mode: 0o700 });
    mkdirSync(this.blobDir, { recursive: true, mode: 0o700 });
    if (!this.o.shared) return;
    const old = this.clock.now().getTime() - ORPHAN_GRACE_MS;
    for (const file of readdirSync(this.tmpDir)) {
      const path = join(this.tmpDir, file);
      try {
        if (statSync(path).mtimeMs < old) rmSync(path, { force: true });
      } catch {
        // Committed or discarded by its replica meanwhile.
      }
    }
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
    const { pastes } = this.h.t;
    return or(isNull(pastes.expiresAt), gt(pastes.expiresAt, this.clock.now()));
  }

  private async usageOn(db: SqlDb, userId: number, exceptName?: string): Promise<{ bytes: number; count: number }> {
    const { pastes } = this.h.t;
    // PostgreSQL's sum and count are numeric and bigint: strings through the driver.
    const [row] = await db
      .select({ bytes: sql<number | string>`coalesce(sum(${pastes.size}), 0)`, count: sql<number | string>`count(*)` })
      .from(pastes)
      .where(exceptName === undefined ? eq(pastes.userId, userId) : and(eq(pastes.userId, userId), ne(pastes.name, exceptName)));
    return { bytes: Number(row?.bytes ?? 0), count: Number(row?.count ?? 0) };
  }

  async usage(userId: number, exceptName?: string): Promise<{ bytes: number; count: number }> {
    return this.h.run((db) => this.usageOn(db, userId, exceptName));
  }

  /**
   * Moves a finished upload into place and points the (user, name) row at it, in one transaction that
   * holds the user's paste lock: the quota check, the old blob's name and the upsert see no other
   * upload of that user in between. The sweeper leaves the young blob alone until its row is there.
   */
  async commit(input: PasteCommit): Promise<PasteRow> {
    const blob = randomBytes(16).toString('hex');
    const blobPath = join(this.blobDir, blob);
    try {
      renameSync(input.tempPath, blobPath);
    } catch (err) {
      rmSync(input.tempPath, { force: true });
      throw err;
    }
    const { pastes } = this.h.t;
    let previous: string | undefined;
    let row: PasteRow;
    try {
      row = await this.h.transaction(async (db) => {
        await lockUntilCommit(this.h, db, `paste:${input.userId}`);
        if (input.quota) {
          const used = await this.usageOn(db, input.userId, input.name);
          if (used.count + 1 > input.quota.count)
            throw new Conflict(`paste quota: you have ${used.count} pastes, the most one user may keep (paste.quota.count); remove some with paste rm`);
          if (used.bytes + input.size > input.quota.bytes)
            throw new Conflict(
              `paste quota: ${used.bytes} bytes stored plus ${input.size} would pass ${input.quota.bytes} (paste.quota.bytes); remove some with paste rm`,
            );
        }
        const [old] = await db
          .select({ blob: pastes.blob })
          .from(pastes)
          .where(and(eq(pastes.userId, input.userId), eq(pastes.name, input.name)))
          .limit(1);
        previous = old?.blob;
        const values = { blob, size: input.size, binary: input.binary, hidden: input.hidden, expiresAt: input.expiresAt, createdAt: this.clock.now() };
        const [stored] = await db
          .insert(pastes)
          .values({ userId: input.userId, name: input.name, ...values })
          .onConflictDoUpdate({ target: [pastes.userId, pastes.name], set: values })
          .returning();
        return stored!;
      });
    } catch (err) {
      rmSync(blobPath, { force: true });
      throw err;
    }
    // The replaced bytes go once the new row is committed (the caller's transaction may roll back).
    const replaced = previous;
    if (replaced) this.h.afterCommit(() => rmSync(join(this.blobDir, replaced), { force: true }));
    return row;
  }

  async exists(userId: number, name: string): Promise<boolean> {
    const { pastes } = this.h.t;
    const rows = await this.h.run((db) =>
      db
        .select({ id: pastes.id })
        .from(pastes)
        .where(and(eq(pastes.userId, userId), eq(pastes.name, name)))
        .limit(1),
    );
    return rows.length > 0;
  }

  async find(owner: string, name: string): Promise<Paste | undefined> {
    const { pastes, users } = this.h.t;
    const [row] = await this.h.run((db) =>
      db
        .select()
        .from(pastes)
        .innerJoin(users, eq(pastes.userId, users.id))
        .where(and(eq(users.name, owner), eq(pastes.name, name), this.live()))
        .limit(1),
    );
    return row ? { ...row.pastes, owner: row.users.name } : undefined;
  }

  /** Live pastes of one user, by name; hidden ones only when asked. */
  async list(userId: number, includeHidden: boolean): Promise<Paste[]> {
    const { pastes, users } = this.h.t;
    const rows = await this.h.run((db) =>
      db
        .select()
        .from(pastes)
        .innerJoin(users, eq(pastes.userId, users.id))
        .where(and(eq(pastes.userId, userId), this.live(), includeHidden ? undefined : eq(pastes.hidden, false)))
        .orderBy(asc(textOrder(this.h, pastes.name))),
    );
    return rows.map((r) => ({ ...r.pastes, owner: r.users.name }));
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
    const { pastes } = this.h.t;
    await this.h.run((db) => db.delete(pastes).where(eq(pastes.id, paste.id)));
    // The bytes go once the deletion is committed: a rolled-back `paste rm` (its audit row could not
    // be written) keeps the paste whole.
    this.h.afterCommit(() => rmSync(join(this.blobDir, paste.blob), { force: true }));
    return paste;
  }

  /**
   * Deletes expired pastes, and blob files no row points at (left by deleted users or a crash) once
   * they are older than ORPHAN_GRACE_MS: a younger one may belong to a commit whose row is not in yet.
   */
  async sweep(): Promise<{ expired: number; orphans: number }> {
    const { pastes } = this.h.t;
    const now = this.clock.now();
    const gone = await this.h.run((db) => db.delete(pastes).where(lte(pastes.expiresAt, now)).returning({ blob: pastes.blob }));
    for (const { blob } of gone) this.h.afterCommit(() => rmSync(join(this.blobDir, blob), { force: true }));
    const listed = readdirSync(this.blobDir);
    const known = new Set((await this.h.run((db) => db.select({ blob: pastes.blob }).from(pastes))).map((r) => r.blob));
    let orphans = 0;
    for (const file of listed) {
      if (known.has(file)) continue;
      const path = join(this.blobDir, file);
      let changed: number;
      try {
        const st = statSync(path);
        // A rename into place touches ctime; the upload's last write, mtime.
        changed = Math.max(st.mtimeMs, st.ctimeMs);
      } catch {
        continue;
      }
      if (changed > now.getTime() - ORPHAN_GRACE_MS) continue;
      rmSync(path, { force: true });
      orphans++;
    }
    return { expired: gone.length, orphans };
  }
}
