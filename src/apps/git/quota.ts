/**
 * git.quota: what one user may own, counted against whoever created each repository (soft-serve
 * has none; gitea limits repository size). The count is checked by the store as a repository is
 * made; the bytes here: a push may send at most git.maxPushBytes and at most what is left of its
 * owner's quota (git's receive.maxInputSize, so an oversized pack is refused by git before any ref
 * moves, and the quarantined objects are dropped). Pushes running at once reserve their allowance,
 * so two of them cannot each take the whole of what is left. Admins are held to it like everyone.
 */
import { Conflict } from '../../core/errors.ts';
import type { GitRepos } from './repos.ts';
import type { RepoMeta, RepoStore } from './store.ts';

export interface GitQuotaConfig {
  repos: number;
  bytes: number;
  maxPushBytes: number;
}

export interface PushAllowance {
  /** Bytes the push may send (receive.maxInputSize). */
  limit: number;
  /** Why the limit is what it is, for the message after a push git refused. */
  reason: string;
  release(): void;
}

/** Repository sizes kept at most (one per repository id); past it the cache starts again. */
const MAX_CACHED_SIZES = 10_000;

export class GitQuota {
  private readonly reserved = new Map<number, number>();
  /**
   * Bytes per repository id, measured once (`git count-objects`) and again after each push or fetch
   * into it: a push asks for its owner's whole usage, which would otherwise run one git process per
   * repository the owner has (up to git.quota.repos) before every push.
   */
  private readonly sizes = new Map<number, number>();

  constructor(
    private readonly store: Pick<RepoStore, 'createdBy'>,
    private readonly repos: Pick<GitRepos, 'size' | 'exists'>,
    readonly config: GitQuotaConfig,
  ) {}

  /** Bytes on disk the repositories `userId` created take together (one not on disk yet: 0). */
  async usage(userId: number, signal?: AbortSignal): Promise<number> {
    let total = 0;
    for (const repo of await this.store.createdBy(userId)) {
      if (!this.repos.exists(repo.name)) continue;
      let size = this.sizes.get(repo.id);
      if (size === undefined) {
        size = await this.repos.size(repo.name, signal);
        if (this.sizes.size >= MAX_CACHED_SIZES) this.sizes.clear();
        this.sizes.set(repo.id, size);
      }
      total += size;
    }
    return total;
  }

  /** What a push (or a mirror fetch) into `repo` may bring; Conflict when its owner's quota is already full. */
  allowPush(repo: RepoMeta, signal?: AbortSignal, what: 'push' | 'mirror fetch' = 'push'): Promise<PushAllowance> {
    return this.allow(repo.createdBy, `the repositories of ${repo.name}'s owner`, what, signal, repo.id);
  }

  /** What an import by `userId` may fetch (as a push: git.maxPushBytes, and what is left of the quota). */
  allowImport(userId: number | null, signal?: AbortSignal): Promise<PushAllowance> {
    return this.allow(userId, 'your repositories', 'import', signal);
  }

  /** `changes`: the repository the transfer writes into, whose size is measured again afterwards. */
  private async allow(
    owner: number | null,
    whose: string,
    what: 'push' | 'import' | 'mirror fetch',
    signal?: AbortSignal,
    changes?: number,
  ): Promise<PushAllowance> {
    const { bytes, maxPushBytes } = this.config;
    const perTransfer = `one ${what} may bring at most ${maxPushBytes} bytes (git.maxPushBytes)`;
    const forget = () => changes !== undefined && this.sizes.delete(changes);
    if (owner === null) return { limit: maxPushBytes, reason: perTransfer, release: forget };
    const used = await this.usage(owner, signal);
    const held = this.reserved.get(owner) ?? 0;
    const room = bytes - used - held;
    if (room <= 0)
      throw new Conflict(
        `git quota: ${whose} take ${used} of ${bytes} bytes (git.quota.bytes)${held ? `, and pushes under way hold ${held}` : ''}: there is no room for this ${what}; remove a repository with repo rm`,
      );
    const limit = Math.min(maxPushBytes, room);
    this.reserved.set(owner, held + limit);
    let released = false;
    return {
      limit,
      reason: limit < maxPushBytes ? `${whose} take ${used} of ${bytes} bytes (git.quota.bytes), so this ${what} may bring at most ${limit}` : perTransfer,
      release: () => {
        if (released) return;
        released = true;
        forget();
        const left = (this.reserved.get(owner) ?? 0) - limit;
        if (left > 0) this.reserved.set(owner, left);
        else this.reserved.delete(owner);
      },
    };
  }

  /** After an import: Conflict when the new repository took its owner past git.quota.bytes. */
  async checkAfterImport(repo: RepoMeta, signal?: AbortSignal): Promise<void> {
    if (repo.createdBy === null) return;
    const used = await this.usage(repo.createdBy, signal);
    if (used > this.config.bytes)
      throw new Conflict(
        `git quota: with ${repo.name} your repositories would take ${used} of ${this.config.bytes} bytes (git.quota.bytes); nothing was imported`,
      );
  }
}
