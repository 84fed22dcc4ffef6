import type { Config } from '../../config/schema.ts';
import { higherRole, type Role } from '../../core/permissions.ts';
import type { Logger } from '../../core/logger.ts';
import { fingerprint, parsePublicKeyLine } from '../../core/sshwire/keys.ts';
import { IdentityStore, USER_NAME, type User } from './store.ts';

export type LoginOutcome = { ok: true; user: User; role: Role; principal?: string } | { ok: false; reason: string };

export const CERT_PROVIDER = 'ssh-cert';

/**
 * Picks the certificate principal that names the user: the SSH user name when it is one of
 * the principals, else the first principal that is not a role principal (e.g. `admins`).
 */
export function selectPrincipal(principals: readonly string[], sshUser: string, roleMap: Readonly<Record<string, Role>>): string | undefined {
  if (principals.includes(sshUser) && !(sshUser in roleMap)) return sshUser;
  return principals.find((p) => !(p in roleMap));
}

/** Role granted by configured principals (highest wins), on top of the user's stored role. */
export function roleFromPrincipals(base: Role, principals: readonly string[], roleMap: Readonly<Record<string, Role>>): Role {
  let role = base;
  for (const p of principals) {
    const mapped = roleMap[p];
    if (mapped) role = higherRole(role, mapped);
  }
  return role;
}

/** A name for a new user from a principal: step-ca puts the sanitised local part first, emails last. */
function userNameFor(principal: string): string | undefined {
  const local = principal.includes('@') ? principal.slice(0, principal.indexOf('@')) : principal;
  const name = local.toLowerCase().replace(/[^a-z0-9_-]/g, '_').slice(0, 32);
  return USER_NAME.test(name) ? name : undefined;
}

export class LoginService {
  private readonly store: IdentityStore;
  constructor(
    store: IdentityStore,
    private readonly config: Config,
    private readonly log: Logger,
  ) {
    this.store = store;
  }

  /** The user a plain registered key belongs to. */
  byKey(keyFingerprint: string, now: Date): LoginOutcome {
    const key = this.store.keyByFingerprint(keyFingerprint);
    if (!key) return { ok: false, reason: 'unknown key' };
    this.store.touchKey(key.id, now);
    return { ok: true, user: key.user, role: key.user.role };
  }

  /** Whether a plain key is registered (answers the unsigned query without binding anyone). */
  knowsKey(keyFingerprint: string): boolean {
    return this.store.keyByFingerprint(keyFingerprint) !== undefined;
  }

  /** The user a verified certificate stands for; creates one when sign-up by certificate is on. */
  byCertificate(principals: readonly string[], sshUser: string, now: Date): LoginOutcome {
    const roleMap = this.config.auth.principalRoles;
    const principal = selectPrincipal(principals, sshUser, roleMap);
    if (!principal) return { ok: false, reason: 'certificate has no identity principal' };
    return this.store.transaction((): LoginOutcome => {
      const linked = this.store.identity(CERT_PROVIDER, principal);
      let user = linked?.user;
      if (linked) this.store.touchIdentity(linked.id, now);
      if (!user) {
        // A user an admin created under exactly this name is the principal's user.
        const named = USER_NAME.test(principal) ? this.store.userByName(principal) : undefined;
        if (named) {
          user = named;
        } else {
          if (!this.config.auth.certificateSignup) return { ok: false, reason: `principal '${principal}' is not a user and sign-up by certificate is off` };
          const name = userNameFor(principal);
          if (!name) return { ok: false, reason: `principal '${principal}' does not make a valid user name` };
          if (this.store.userByName(name)) return { ok: false, reason: `user name '${name}' for principal '${principal}' is taken` };
          user = this.store.createUser(name, this.config.auth.defaultRole);
          this.log.info({ user: name, principal, role: user.role }, 'user created from certificate');
        }
        this.store.linkIdentity(user.id, CERT_PROVIDER, principal);
      }
      return { ok: true, user, role: roleFromPrincipals(user.role, principals, roleMap), principal };
    });
  }

  /** Registers LABD_INITIAL_ADMIN_KEYS to the initial admin (idempotent, at every start). */
  ensureInitialAdmin(): void {
    const lines = this.config.auth.initialAdminKeys.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    if (!lines.length) return;
    const name = this.config.auth.initialAdminName;
    this.store.transaction(() => {
      let admin = this.store.userByName(name);
      if (!admin) admin = this.store.createUser(name, 'admin');
      else if (admin.role !== 'admin') admin = this.store.setRole(name, 'admin');
      for (const [i, line] of lines.entries()) {
        let parsed;
        try {
          parsed = parsePublicKeyLine(line);
        } catch (err) {
          throw new Error(`config: auth.initialAdminKeys (LABD_INITIAL_ADMIN_KEYS): line ${i + 1}: ${(err as Error).message}`);
        }
        const fp = fingerprint(parsed.key.blob);
        const existing = this.store.keyByFingerprint(fp);
        if (existing && existing.userId !== admin.id) throw new Error(`config: auth.initialAdminKeys (LABD_INITIAL_ADMIN_KEYS): line ${i + 1}: key ${fp} belongs to user '${existing.user.name}'`);
        if (!existing) this.store.addKey(admin.id, { fingerprint: fp, algo: parsed.key.type, publicKey: line, comment: parsed.comment, source: 'config' });
      }
    });
  }
}
