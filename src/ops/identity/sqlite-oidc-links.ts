/** Keys linked to an account by an OIDC device-flow login (ssh_keys rows with source oidc and an expiry), on SQLite. */
import { eq } from 'drizzle-orm';
import { Conflict } from '../../core/errors.ts';
import type { Db } from '../../db/client.ts';
import { identities, sshKeys, users } from '../../db/schema.ts';
import type { KeyToLink, LinkClaims, LinkIdentity, LinkResult, LinkTarget, OidcLinks } from './links.ts';
import { checkNewUserName } from './store.ts';

export class SqliteOidcLinks implements OidcLinks {
  constructor(private readonly db: Db) {}

  async link(target: LinkTarget, identity: LinkIdentity, key: KeyToLink, expiresAt: Date, claims: LinkClaims): Promise<LinkResult> {
    return this.db.transaction((tx): LinkResult => {
      const existing = tx.select().from(sshKeys).where(eq(sshKeys.fingerprint, key.fingerprint)).get();
      if (existing && existing.source !== 'oidc') {
        if ('user' in target && existing.userId === target.user.id) return { kind: 'permanent' };
        throw new Conflict(`key ${key.fingerprint} is registered to another user for good; it cannot be linked by a login`);
      }
      let user;
      if ('user' in target) user = target.user;
      else {
        const { name, role } = target.create;
        checkNewUserName(name);
        if (tx.select().from(users).where(eq(users.name, name)).get()) throw new Conflict(`user '${name}' already exists`);
        user = tx.insert(users).values({ name, role }).returning().get();
      }
      if ('link' in identity)
        tx.insert(identities).values({ userId: user.id, provider: identity.link.provider, subject: identity.link.subject }).onConflictDoNothing().run();
      else tx.update(identities).set({ lastSeenAt: identity.touch.at }).where(eq(identities.id, identity.touch.id)).run();
      if (existing) {
        tx.update(sshKeys).set({ userId: user.id, expiresAt, claims, comment: 'oidc' }).where(eq(sshKeys.id, existing.id)).run();
        return existing.userId === user.id ? { kind: 'extended', user } : { kind: 'relinked', previousUserId: existing.userId, user };
      }
      tx.insert(sshKeys)
        .values({ userId: user.id, fingerprint: key.fingerprint, algo: key.algo, publicKey: key.publicKey, comment: 'oidc', source: 'oidc', expiresAt, claims })
        .run();
      return { kind: 'linked', user };
    });
  }
}
