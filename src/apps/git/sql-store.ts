import { and, asc, count, eq } from 'drizzle-orm';
import type { Clock } from '../../core/clock.ts';
import { Conflict } from '../../core/errors.ts';
import type { SqlDb, SqlHandle, SqlTables } from '../../db/sql.ts';
import { isUniqueViolation, lockUntilCommit, textOrder } from '../../db/sql-guards.ts';
import type { AccessLevel } from './access.ts';
import { nameTaken } from './names.ts';
import type { Collaborator, NewRepo, RepoMeta, RepoPatch, RepoStore } from './store.ts';

type RepoRow = SqlTables['gitRepos']['$inferSelect'];

/** Every transaction that checks a repository name (or a user's count) before writing takes this lock. */
const NAMES_LOCK = 'git_repos';

function meta(row: RepoRow): RepoMeta {
  return {
    id: row.id,
    name: row.name,
    projectName: row.projectName,
    description: row.description,
    private: row.private,
    hidden: row.hidden,
    mirrorUrl: row.mirrorUrl,
    createdBy: row.createdBy,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

/** The RepoStore port on SQLite or PostgreSQL (drizzle, one query set for both). */
export class SqlRepoStore implements RepoStore {
  constructor(
    private readonly h: SqlHandle,
    private readonly clock: Clock,
  ) {}

  private async row(db: SqlDb, name: string): Promise<RepoRow | undefined> {
    const { gitRepos } = this.h.t;
    return (await db.select().from(gitRepos).where(eq(gitRepos.name, name)).limit(1))[0];
  }

  /** Runs a write that may hit the unique name: a race another writer won reads as the same Conflict. */
  private async naming<T>(name: string, fn: (db: SqlDb) => Promise<T>): Promise<T> {
    try {
      return await this.h.transaction(async (db) => {
        await lockUntilCommit(this.h, db, NAMES_LOCK);
        return await fn(db);
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw nameTaken(name);
      throw err;
    }
  }

  async get(name: string): Promise<RepoMeta | undefined> {
    const row = await this.h.run((db) => this.row(db, name));
    return row && meta(row);
  }

  async list(): Promise<RepoMeta[]> {
    const { gitRepos } = this.h.t;
    const rows = await this.h.run((db) =>
      db
        .select()
        .from(gitRepos)
        .orderBy(asc(textOrder(this.h, gitRepos.name))),
    );
    return rows.map(meta);
  }

  async create(input: NewRepo, maxPerUser?: number): Promise<RepoMeta> {
    const { gitRepos } = this.h.t;
    return this.naming(input.name, async (db) => {
      if (await this.row(db, input.name)) throw nameTaken(input.name);
      if (maxPerUser !== undefined && input.createdBy !== null) {
        const [made] = await db.select({ n: count() }).from(gitRepos).where(eq(gitRepos.createdBy, input.createdBy));
        const n = Number(made?.n ?? 0);
        if (n >= maxPerUser)
          throw new Conflict(`repository quota: you have ${n} repositories, the most one user may have (git.quota.repos); remove one with repo rm`);
      }
      const [row] = await db
        .insert(gitRepos)
        .values({ ...input, createdAt: this.clock.now() })
        .returning();
      return meta(row!);
    });
  }

  async createdBy(userId: number): Promise<RepoMeta[]> {
    const { gitRepos } = this.h.t;
    const rows = await this.h.run((db) =>
      db
        .select()
        .from(gitRepos)
        .where(eq(gitRepos.createdBy, userId))
        .orderBy(asc(textOrder(this.h, gitRepos.name))),
    );
    return rows.map(meta);
  }

  async update(name: string, patch: RepoPatch): Promise<RepoMeta | undefined> {
    const { gitRepos } = this.h.t;
    const [row] = await this.h.run((db) =>
      db
        .update(gitRepos)
        .set({ ...patch, updatedAt: this.clock.now() })
        .where(eq(gitRepos.name, name))
        .returning(),
    );
    return row && meta(row);
  }

  async rename(from: string, to: string): Promise<void> {
    const { gitRepos } = this.h.t;
    await this.naming(to, async (db) => {
      if (await this.row(db, to)) throw nameTaken(to);
      await db.update(gitRepos).set({ name: to, updatedAt: this.clock.now() }).where(eq(gitRepos.name, from));
    });
  }

  async remove(name: string): Promise<boolean> {
    const { gitRepos } = this.h.t;
    const gone = await this.h.run((db) => db.delete(gitRepos).where(eq(gitRepos.name, name)).returning({ id: gitRepos.id }));
    return gone.length > 0;
  }

  async collaborators(name: string): Promise<Collaborator[]> {
    const { gitCollaborators, gitRepos, users } = this.h.t;
    return this.h.run((db) =>
      db
        .select({ userId: gitCollaborators.userId, user: users.name, level: gitCollaborators.level })
        .from(gitCollaborators)
        .innerJoin(gitRepos, eq(gitCollaborators.repoId, gitRepos.id))
        .innerJoin(users, eq(gitCollaborators.userId, users.id))
        .where(eq(gitRepos.name, name))
        .orderBy(asc(textOrder(this.h, users.name))),
    );
  }

  async collaborationsOf(userId: number): Promise<Map<string, AccessLevel>> {
    const { gitCollaborators, gitRepos } = this.h.t;
    const rows = await this.h.run((db) =>
      db
        .select({ name: gitRepos.name, level: gitCollaborators.level })
        .from(gitCollaborators)
        .innerJoin(gitRepos, eq(gitCollaborators.repoId, gitRepos.id))
        .where(eq(gitCollaborators.userId, userId)),
    );
    return new Map(rows.map((r) => [r.name, r.level]));
  }

  async collaboratorLevel(name: string, userId: number): Promise<AccessLevel | undefined> {
    const { gitCollaborators, gitRepos } = this.h.t;
    const [row] = await this.h.run((db) =>
      db
        .select({ level: gitCollaborators.level })
        .from(gitCollaborators)
        .innerJoin(gitRepos, eq(gitCollaborators.repoId, gitRepos.id))
        .where(and(eq(gitRepos.name, name), eq(gitCollaborators.userId, userId)))
        .limit(1),
    );
    return row?.level;
  }

  async setCollaborator(name: string, userId: number, level: AccessLevel): Promise<void> {
    const { gitCollaborators } = this.h.t;
    await this.h.run(async (db) => {
      const repo = await this.row(db, name);
      if (!repo) return;
      await db
        .insert(gitCollaborators)
        .values({ repoId: repo.id, userId, level, createdAt: this.clock.now() })
        .onConflictDoUpdate({ target: [gitCollaborators.repoId, gitCollaborators.userId], set: { level } });
    });
  }

  async removeCollaborator(name: string, userId: number): Promise<boolean> {
    const { gitCollaborators } = this.h.t;
    return this.h.run(async (db) => {
      const repo = await this.row(db, name);
      if (!repo) return false;
      const gone = await db
        .delete(gitCollaborators)
        .where(and(eq(gitCollaborators.repoId, repo.id), eq(gitCollaborators.userId, userId)))
        .returning({ repoId: gitCollaborators.repoId });
      return gone.length > 0;
    });
  }
}
