/**
 * App tokens: secrets for clients that cannot do SSH (CardDAV on a phone). The secret is shown
 * once; only its SHA-256 is stored (it is 32 random bytes, so a slow hash adds nothing).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Role } from '../../core/permissions.ts';

export const TOKEN_SCOPES = ['carddav'] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

export interface AppToken {
  id: number;
  userId: number;
  name: string;
  scope: TokenScope;
  createdAt: Date;
  lastUsedAt: Date | null;
}

/** Whose token a secret is, when it is live and of the scope asked for. */
export interface TokenOwner {
  tokenId: number;
  userId: number;
  userName: string;
  role: Role;
}

export interface TokenStore {
  create(userId: number, name: string, scope: TokenScope, hash: string): Promise<AppToken>;
  list(userId: number): Promise<AppToken[]>;
  /** Revokes one of the user's tokens by name or id; false when there is none. */
  revoke(userId: number, nameOrId: string): Promise<AppToken | undefined>;
  /** The owner of a live token with this hash and scope (and notes its use). */
  verify(hash: string, scope: TokenScope): Promise<TokenOwner | undefined>;
}

const PREFIX = 'labd_';

export function newTokenSecret(): string {
  return PREFIX + randomBytes(32).toString('base64url');
}

export function tokenHash(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}
