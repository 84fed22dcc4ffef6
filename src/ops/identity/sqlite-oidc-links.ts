/** Keys linked to an account by an OIDC device-flow login (ssh_keys rows with source oidc and an expiry), on SQLite. */
import { eq } from 'drizzle-orm';
import { Conflict } from '../../core/errors.ts';
import type { Db } from '../../db/client.ts';
import { sshKeys } from '../../db/schema.ts';

export type LinkClaims = NonNullable<(typeof sshKeys.$inferSelect)['claims']>;

export interface KeyToLink {
  fingerprint: string;
  algo: string;
  publicKey: string;
}

export type LinkResult = { kind: 'linked' | 'relinked' | 'extended'; previousUserId?: number } | { kind: 'permanent' };

export class SqliteOidcLinks {
  constructor(private readonly db: Db) {}

  /**
   * Links a key to a user until `expiresAt`. A key registered for good (`keys add`, initial admin) is
   * never turned into a link: to its owner that is 'permanent', to anyone else a Conflict. A key linked
   * before (even expired, even to another user the IdP vouched for then) is moved and renewed.
   */
  link(userId: number, key: KeyToLink, expiresAt: Date, claims: LinkClaims): LinkResult {
    const existing = this.db.select().from(sshKeys).where(eq(sshKeys.fingerprint, key.fingerprint)).get();
    if (existing && existing.source !== 'oidc') {
      if (existing.userId === userId) return { kind: 'permanent' };
      throw new Conflict(`key ${key.fingerprint} is registered to another user for good; it cannot be linked by a login`);
    }
    if (existing) {
      this.db.update(sshKeys).set({ userId, expiresAt, claims, comment: 'oidc' }).where(eq(sshKeys.id, existing.id)).run();
      return existing.userId === userId ? { kind: 'extended' } : { kind: 'relinked', previousUserId: existing.userId };
    }
    this.db
      .insert(sshKeys)
      .values({ userId, fingerprint: key.fingerprint, algo: key.algo, publicKey: key.publicKey, comment: 'oidc', source: 'oidc', expiresAt, claims })
      .run();
    return { kind: 'linked' };
  }
}
