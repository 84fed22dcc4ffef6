/**
 * The one door from an app token to an Actor, for every HTTP surface that takes tokens (CardDAV, git
 * smart HTTP, the git web view). Like an SSH command's actor (design §4: resolved for every command),
 * it is worked out at every request from what is true now: the token is live (not revoked, not
 * expired), its user still exists and is not disabled, and the live permission table (role, run-time
 * role changes, the user's own grants; deny beats allow) still gives the user the permission the
 * token's scope needs. A token made while these held opens nothing once one of them stops holding.
 */
import type { Actor } from '../../core/actor.ts';
import type { Clock } from '../../core/clock.ts';
import type { Permission } from '../../core/permissions.ts';
import type { IdentityStore } from '../identity/store.ts';
import { SCOPE_PERMISSION, tokenHash, type TokenScope, type TokenStore } from './store.ts';

/** Why a token opens nothing: `unauthenticated` (no such live token or user: ask again) or `forbidden` (the user may not now). */
export interface TokenRefusal {
  refused: 'unauthenticated' | 'forbidden';
  reason: string;
  /** Who was refused, when the token is live (`forbidden`): for the audit row. */
  actor?: Actor;
}

export interface TokenActorDeps {
  tokens: Pick<TokenStore, 'verify'>;
  identities: Pick<IdentityStore, 'userById'>;
  /** The registry's own permission check (Registry#can): the answer a command would get now. */
  permissions: { can(actor: Actor, permission: Permission): boolean };
  clock: Clock;
}

export class TokenActors {
  constructor(private readonly deps: TokenActorDeps) {}

  /** The actor a token of `scope` speaks for now, or why it speaks for nobody. */
  async resolve(secret: string, scope: TokenScope, remoteAddress?: string): Promise<{ actor: Actor } | TokenRefusal> {
    const found = await this.deps.tokens.verify(tokenHash(secret), scope, this.deps.clock.now());
    if (!found) return { refused: 'unauthenticated', reason: 'unknown, revoked or expired token' };
    const user = await this.deps.identities.userById(found.userId);
    if (!user) return { refused: 'unauthenticated', reason: 'unknown, revoked or expired token' };
    const actor: Actor = {
      userId: user.id,
      name: user.name,
      role: user.role,
      via: 'http',
      credential: { kind: 'token', name: found.tokenName },
      remoteAddress,
    };
    if (user.disabledAt) return { refused: 'forbidden', reason: `the account '${user.name}' is disabled`, actor };
    const needed = SCOPE_PERMISSION[scope];
    if (!this.deps.permissions.can(actor, needed))
      return { refused: 'forbidden', reason: `permission denied: a ${scope} token needs ${needed}, which '${user.name}' does not hold`, actor };
    return { actor };
  }
}
