/** The per-repository access check every git command's `authorize` (and the HTTP routes) goes through. */
import type { Actor } from '../../core/actor.ts';
import { NotFound, PermissionDenied } from '../../core/errors.ts';
import type { PermissionCheck } from '../../core/permissions.ts';
import { accessLevel, atLeast, type AccessLevel } from './access.ts';
import { repoName } from './names.ts';
import type { RepoMeta, RepoStore } from './store.ts';

export class GitAccess {
  constructor(
    private readonly store: RepoStore,
    private readonly roles: PermissionCheck,
    readonly anonAccess: AccessLevel,
  ) {}

  async levelOn(actor: Actor, repo: RepoMeta | undefined, name: string): Promise<AccessLevel> {
    const collaborator = repo && actor.userId !== null ? await this.store.collaboratorLevel(name, actor.userId) : undefined;
    return accessLevel({ actor, roles: this.roles, anonAccess: this.anonAccess, repo, collaborator });
  }

  /**
   * The repository `input` names, when `actor` has at least `needed` on it. Who cannot read it is
   * told it does not exist (private repositories stay invisible); a reader lacking more is refused.
   */
  async require(actor: Actor, input: string, needed: AccessLevel): Promise<RepoMeta> {
    const name = repoName(input);
    const repo = await this.store.get(name);
    const level = await this.levelOn(actor, repo, name);
    if (!repo || !atLeast(level, 'read-only')) throw new NotFound(`no repository '${name}'`);
    if (!atLeast(level, needed)) throw new PermissionDenied(`permission denied: '${name}' needs ${needed} (you have ${level})`);
    return repo;
  }

  /** Whether `actor` may create a repository named `name` (read-write without one existing). */
  async mayCreate(actor: Actor): Promise<boolean> {
    return atLeast(await this.levelOn(actor, undefined, ''), 'read-write');
  }

  /** The repositories `actor` may read, with their level; hidden ones only when `withHidden`. */
  async readable(actor: Actor, withHidden: boolean): Promise<{ repo: RepoMeta; level: AccessLevel }[]> {
    const collabs = actor.userId !== null ? await this.store.collaborationsOf(actor.userId) : new Map<string, AccessLevel>();
    const out: { repo: RepoMeta; level: AccessLevel }[] = [];
    for (const repo of await this.store.list()) {
      const level = accessLevel({ actor, roles: this.roles, anonAccess: this.anonAccess, repo, collaborator: collabs.get(repo.name) });
      if (!atLeast(level, 'read-only')) continue;
      if (repo.hidden && !withHidden) continue;
      out.push({ repo, level });
    }
    return out;
  }
}
