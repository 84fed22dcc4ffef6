/** The port of keys linked to an account by an OIDC device-flow login (SQLite or PostgreSQL in sql-oidc-links.ts). */
import type { Role } from '../../core/permissions.ts';
import type { KeyClaims, User } from './store.ts';

export type LinkClaims = KeyClaims;

export interface KeyToLink {
  fingerprint: string;
  algo: string;
  publicKey: string;
}

export type LinkResult = { kind: 'linked' | 'relinked' | 'extended'; previousUserId?: number; user: User } | { kind: 'permanent' };

/** Whose key it becomes: an account that exists, or one made for the login. */
export type LinkTarget = { user: User } | { create: { name: string; role: Role } };

/** The identity the IdP vouched for: linked to the account now, or linked before (seen again until `at`). */
export type LinkIdentity = { link: { provider: string; subject: string } } | { touch: { id: number; at: Date } };

export interface OidcLinks {
  /**
   * Links a key to the target until `expiresAt`, in one unit of work with the account it makes and the
   * identity it links or touches. A key registered for good (`keys add`, initial admin) is never turned
   * into a link: to its owner that is 'permanent', to anyone else a Conflict; either way nothing is
   * stored. A key linked before (even expired, even to another user the IdP vouched for then) is moved
   * and renewed. Conflict when the account to make has a taken name.
   */
  link(target: LinkTarget, identity: LinkIdentity, key: KeyToLink, expiresAt: Date, claims: LinkClaims): Promise<LinkResult>;
}
