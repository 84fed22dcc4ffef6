/**
 * App tokens: secrets for clients that cannot do SSH (CardDAV on a phone, `git clone` over HTTP).
 * The secret is shown once; only its SHA-256 is stored (it is 32 random bytes, so a slow hash adds
 * nothing). Each token opens one scope, and the scope's permission is needed to make one.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Permission, Role } from '../../core/permissions.ts';

export const TOKEN_SCOPES = ['carddav', 'git'] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

/** What a token of each scope opens, and the permission its owner needs to make one. */
export const SCOPE_PERMISSION: Record<TokenScope, Permission> = { carddav: 'crm', git: 'git.read' };

export interface AppToken {
  id: number;
  userId: number;
  name: string;
  scope: TokenScope;
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
}

/** Whose token a secret is, when it is live and of the scope asked for. */
export interface TokenOwner {
  tokenId: number;
  tokenName: string;
  userId: number;
  userName: string;
  role: Role;
}

export interface TokenStore {
  /**
   * Makes a token; Conflict when the user has a live one of that name, or already holds `maxPerUser`
   * tokens that are not revoked (expired ones count until revoked: they are still listed).
   */
  create(userId: number, name: string, scope: TokenScope, hash: string, expiresAt?: Date | null, maxPerUser?: number): Promise<AppToken>;
  /** The user's tokens that are not revoked (expired ones included, marked by expiresAt), optionally of one scope. */
  list(userId: number, scope?: TokenScope): Promise<AppToken[]>;
  /** Revokes one of the user's tokens by name or id; false when there is none. */
  revoke(userId: number, nameOrId: string): Promise<AppToken | undefined>;
  /** The owner of a live (not revoked, not expired at `now`) token with this hash and scope, and notes its use. */
  verify(hash: string, scope: TokenScope, now: Date): Promise<TokenOwner | undefined>;
}

/** labd_git_…, labd_carddav_…: a leaked token says what it is (and secret scanners can match it). */
export function newTokenSecret(scope: TokenScope): string {
  return `labd_${scope}_${randomBytes(32).toString('base64url')}`;
}

export function tokenHash(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}
