/** Keys linked to an account by an OIDC device-flow login (ssh_keys rows with source oidc and an expiry), on SQLite or PostgreSQL. */
import { eq } from 'drizzle-orm';
import { Conflict } from '../../core/errors.ts';
import type { SqlHandle } from '../../db/sql.ts';
import type { KeyToLink, LinkClaims, LinkIdentity, LinkResult, LinkTarget, OidcLinks } from './links.ts';
import { checkNewUserName, type User } from './store.ts';

export class SqlOidcLinks implements OidcLinks {
  constructor(private readonly h: SqlHandle) {}

  async link(target: LinkTarget, identity: LinkIdentity, key: KeyToLink, expiresAt: Date, claims: LinkClaims): Promise<LinkResult> {
    const { identities, sshKeys, users } = this.h.t;
    return this.h.transaction(async (db): Promise<LinkResult> => {
      const [existing] = await db.select().from(sshKeys).where(eq(sshKeys.fingerprint, key.fingerprint)).limit(1);
      if (existing && existing.source !== 'oidc') {
        if ('user' in target && existing.userId === target.user.id) return { kind: 'permanent' };
        throw new Conflict(`key ${key.fingerprint} is registered to another user for good; it cannot be linked by a login`);
      }
      let user: User;
      if ('user' in target) user = target.user;
      else {
        const { name, role } = target.create;
        checkNewUserName(name);
        const taken = () => new Conflict(`user '${name}' already exists`);
        if ((await db.select({ id: users.id }).from(users).where(eq(users.name, name)).limit(1)).length) throw taken();
        const [made] = await db.insert(users).values({ name, role }).onConflictDoNothing({ target: users.name }).returning();
        if (!made) throw taken();
        user = made;
      }
      if ('link' in identity)
        await db
          .insert(identities)
          .values({ userId: user.id, provider: identity.link.provider, subject: identity.link.subject })
          .onConflictDoNothing({ target: [identities.provider, identities.subject] });
      else await db.update(identities).set({ lastSeenAt: identity.touch.at }).where(eq(identities.id, identity.touch.id));
      if (existing) {
        await db.update(sshKeys).set({ userId: user.id, expiresAt, claims, comment: 'oidc' }).where(eq(sshKeys.id, existing.id));
        return existing.userId === user.id ? { kind: 'extended', user } : { kind: 'relinked', previousUserId: existing.userId, user };
      }
      const [linked] = await db
        .insert(sshKeys)
        .values({ userId: user.id, fingerprint: key.fingerprint, algo: key.algo, publicKey: key.publicKey, comment: 'oidc', source: 'oidc', expiresAt, claims })
        .onConflictDoNothing({ target: sshKeys.fingerprint })
        .returning({ id: sshKeys.id });
      // Registered meanwhile by another transaction: the whole link (account, identity) is undone.
      if (!linked) throw new Conflict(`key ${key.fingerprint} was registered meanwhile; try again`);
      return { kind: 'linked', user };
    });
  }
}
