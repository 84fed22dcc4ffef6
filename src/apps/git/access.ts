/**
 * Access levels as soft-serve's (no-access < read-only < read-write < admin), resolved from the
 * actor's role permissions (git.read, git.write; admin.users means admin everywhere), the
 * repository's collaborators and visibility, and git.anonAccess for people without an account.
 * Deny beats allow: a collaborator entry of no-access, or a role without git.read, wins over
 * anything the role, the visibility or the anonymous level would grant.
 */
import type { Actor } from '../../core/actor.ts';
import type { PermissionCheck } from '../../core/permissions.ts';

export const ACCESS_LEVELS = ['no-access', 'read-only', 'read-write', 'admin'] as const;
export type AccessLevel = (typeof ACCESS_LEVELS)[number];

export function rank(level: AccessLevel): number {
  return ACCESS_LEVELS.indexOf(level);
}

export function atLeast(level: AccessLevel, needed: AccessLevel): boolean {
  return rank(level) >= rank(needed);
}

function max(a: AccessLevel, b: AccessLevel): AccessLevel {
  return rank(a) >= rank(b) ? a : b;
}

/** An actor that logged in without a key (keyboard-interactive, git.anonAccess) or a web visitor without a token. */
export function isAnonymous(actor: Actor): boolean {
  return actor.credential?.kind === 'anonymous';
}

export interface RepoVisibility {
  private: boolean;
}

/**
 * The level `actor` has on a repository. `repo` undefined: the repository does not exist (the
 * level then says what the actor could do to create one). `collaborator`: the actor's entry.
 */
export function accessLevel(input: {
  actor: Actor;
  /** The live permission table (role and user grants): what the actor's role allows now. */
  roles: PermissionCheck;
  anonAccess: AccessLevel;
  repo: RepoVisibility | undefined;
  collaborator: AccessLevel | undefined;
}): AccessLevel {
  const { actor, roles, anonAccess, repo, collaborator } = input;
  if (isAnonymous(actor)) {
    if (!repo || repo.private) return 'no-access';
    // Anonymous people never administer anything, whatever the setting says.
    return anonAccess === 'admin' ? 'read-write' : anonAccess;
  }
  if (roles.can(actor, 'admin.users')) return 'admin';
  if (collaborator === 'no-access') return 'no-access';
  if (!roles.can(actor, 'git.read')) return 'no-access';
  if (!repo) return roles.can(actor, 'git.write') ? 'read-write' : 'read-only';
  if (collaborator) return repo.private ? collaborator : max(collaborator, max(anonAccess === 'admin' ? 'read-write' : anonAccess, 'read-only'));
  if (repo.private) return 'no-access';
  const byRole: AccessLevel = roles.can(actor, 'git.write') ? 'read-write' : 'read-only';
  return max(byRole, anonAccess === 'admin' ? 'read-write' : anonAccess);
}
