/** The git module's metadata port: repositories, collaborators and HTTP access tokens. */
import type { AccessLevel } from './access.ts';

export interface RepoMeta {
  id: number;
  name: string;
  projectName: string;
  description: string;
  private: boolean;
  hidden: boolean;
  mirrorUrl: string | null;
  /** Whose quota (git.quota) the repository counts against; null once that account is gone. */
  createdBy: number | null;
  createdAt: Date;
  updatedAt: Date | null;
}

export interface Collaborator {
  userId: number;
  user: string;
  level: AccessLevel;
}

export type RepoPatch = Partial<Pick<RepoMeta, 'projectName' | 'description' | 'private' | 'hidden' | 'mirrorUrl'>>;

/** What `create` takes: a repository before it has an id and times. */
export type NewRepo = Omit<RepoMeta, 'id' | 'createdAt' | 'updatedAt'>;

export interface RepoStore {
  get(name: string): Promise<RepoMeta | undefined>;
  list(): Promise<RepoMeta[]>;
  /**
   * Throws Conflict when the name is taken (the same words whoever asks: a private repository's
   * name must not show through), or when `maxPerUser` is given and `createdBy` already made that many.
   */
  create(input: NewRepo, maxPerUser?: number): Promise<RepoMeta>;
  /** The repositories counted against one user's quota. */
  createdBy(userId: number): Promise<RepoMeta[]>;
  update(name: string, patch: RepoPatch): Promise<RepoMeta | undefined>;
  /** Throws Conflict (as create does) when `to` is taken. */
  rename(from: string, to: string): Promise<void>;
  remove(name: string): Promise<boolean>;
  collaborators(name: string): Promise<Collaborator[]>;
  /** The level of one user on every repository where they are a collaborator (name → level). */
  collaborationsOf(userId: number): Promise<Map<string, AccessLevel>>;
  collaboratorLevel(name: string, userId: number): Promise<AccessLevel | undefined>;
  setCollaborator(name: string, userId: number, level: AccessLevel): Promise<void>;
  removeCollaborator(name: string, userId: number): Promise<boolean>;
}
