import { and, asc, count, eq, gt, isNull, or } from 'drizzle-orm';
import { Conflict } from '../../core/errors.ts';
import type { Db } from '../../db/client.ts';
import { gitCollaborators, gitRepos, users } from '../../db/schema.ts';
import type { AccessLevel } from './access.ts';
import { nameTaken } from './names.ts';
import type { Collaborator, NewRepo, RepoMeta, RepoPatch, RepoStore } from './store.ts';

type RepoRow = typeof gitRepos.$inferSelect;

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

/** The RepoStore port on SQLite (synchronous better-sqlite3 underneath, async at the port). */
export class SqliteRepoStore implements RepoStore {
  constructor(private readonly db: Db) {}

  private row(name: string): RepoRow | undefined {
    return this.db.select().from(gitRepos).where(eq(gitRepos.name, name)).get();
  }

  async get(name: string): Promise<RepoMeta | undefined> {
    const row = this.row(name);
    return row && meta(row);
  }

  async list(): Promise<RepoMeta[]> {
    return this.db.select().from(gitRepos).orderBy(asc(gitRepos.name)).all().map(meta);
  }

  async create(input: NewRepo, maxPerUser?: number): Promise<RepoMeta> {
    // better-sqlite3 is synchronous: the checks and the insert run with nothing in between.
    if (this.row(input.name)) throw nameTaken(input.name);
    if (maxPerUser !== undefined && input.createdBy !== null) {
      const made = this.db.select({ n: count() }).from(gitRepos).where(eq(gitRepos.createdBy, input.createdBy)).get()!.n;
      if (made >= maxPerUser)
        throw new Conflict(`repository quota: you have ${made} repositories, the most one user may have (git.quota.repos); remove one with repo rm`);
    }
    return meta(this.db.insert(gitRepos).values(input).returning().get());
  }

  async createdBy(userId: number): Promise<RepoMeta[]> {
    return this.db.select().from(gitRepos).where(eq(gitRepos.createdBy, userId)).orderBy(asc(gitRepos.name)).all().map(meta);
  }

  async update(name: string, patch: RepoPatch): Promise<RepoMeta | undefined> {
    const row = this.db
      .update(gitRepos)
      .set({ ...patch, updatedAt: new Date() })
      .where(eq(gitRepos.name, name))
      .returning()
      .get();
    return row && meta(row);
  }

  async rename(from: string, to: string): Promise<void> {
    if (this.row(to)) throw nameTaken(to);
    this.db.update(gitRepos).set({ name: to, updatedAt: new Date() }).where(eq(gitRepos.name, from)).run();
  }

  async remove(name: string): Promise<boolean> {
    return this.db.delete(gitRepos).where(eq(gitRepos.name, name)).run().changes > 0;
  }

  async collaborators(name: string): Promise<Collaborator[]> {
    return this.db
      .select({ userId: gitCollaborators.userId, user: users.name, level: gitCollaborators.level })
      .from(gitCollaborators)
      .innerJoin(gitRepos, eq(gitCollaborators.repoId, gitRepos.id))
      .innerJoin(users, eq(gitCollaborators.userId, users.id))
      .where(eq(gitRepos.name, name))
      .orderBy(asc(users.name))
      .all();
  }

  async collaborationsOf(userId: number): Promise<Map<string, AccessLevel>> {
    const rows = this.db
      .select({ name: gitRepos.name, level: gitCollaborators.level })
      .from(gitCollaborators)
      .innerJoin(gitRepos, eq(gitCollaborators.repoId, gitRepos.id))
      .where(eq(gitCollaborators.userId, userId))
      .all();
    return new Map(rows.map((r) => [r.name, r.level]));
  }

  async collaboratorLevel(name: string, userId: number): Promise<AccessLevel | undefined> {
    return this.db
      .select({ level: gitCollaborators.level })
      .from(gitCollaborators)
      .innerJoin(gitRepos, eq(gitCollaborators.repoId, gitRepos.id))
      .where(and(eq(gitRepos.name, name), eq(gitCollaborators.userId, userId)))
      .get()?.level;
  }

  async setCollaborator(name: string, userId: number, level: AccessLevel): Promise<void> {
    const repo = this.row(name);
    if (!repo) return;
    this.db
      .insert(gitCollaborators)
      .values({ repoId: repo.id, userId, level })
      .onConflictDoUpdate({ target: [gitCollaborators.repoId, gitCollaborators.userId], set: { level } })
      .run();
  }

  async removeCollaborator(name: string, userId: number): Promise<boolean> {
    const repo = this.row(name);
    if (!repo) return false;
    return (
      this.db
        .delete(gitCollaborators)
        .where(and(eq(gitCollaborators.repoId, repo.id), eq(gitCollaborators.userId, userId)))
        .run().changes > 0
    );
  }
}
