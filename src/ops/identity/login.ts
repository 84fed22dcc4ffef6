import type { Config } from '../../config/schema.ts';
import type { Actor } from '../../core/actor.ts';
import { PermissionDenied } from '../../core/errors.ts';
import { higherRole, type Role } from '../../core/permissions.ts';
import { signupAllows, signupRefusal, type SignupPolicy } from '../../core/signup.ts';
import type { Logger } from '../../core/logger.ts';
import { fingerprint, parsePublicKeyLine } from '../../core/sshwire/keys.ts';
import { linkedKeyRole, type GroupRoles } from './linked-roles.ts';
import { isReservedUserName, USER_NAME, type AdminKey, type IdentityStore, type User } from './store.ts';

export type LoginOutcome =
  | { ok: true; user: User; role: Role; principal?: string; principalRole?: Role; validBefore?: Date }
  /**
   * unknownKey: the key is not (or no longer) linked to anyone, so a device-flow login may link it.
   * disabled: the credential is the user's, whose account is disabled (the user is told so, see accountDisabledText).
   */
  | { ok: false; reason: string; unknownKey?: boolean; disabled?: User };

/** What a disabled account's user is told, on every surface: who disabled it and when is for admins (the audit log). */
export function accountDisabledText(): string {
  // Short enough for one line of an 80-column terminal, where the TUI leaves it.
  return 'account disabled: ask an admin to enable it';
}

/** Whether the account an actor stands for is still there and enabled (open connections of the others close). */
export type AccountStanding = 'active' | 'disabled' | 'removed';

export const CERT_PROVIDER = 'ssh-cert';

/** A certificate login lost a race with another one for the same new principal (see byCertificate). */
const RACED = Symbol('raced');

/** Config maps as prototype-free lookups: a principal such as `constructor` or `__proto__` is just a name. */
export function lookup<V>(record: Readonly<Record<string, V>>): ReadonlyMap<string, V> {
  return new Map(Object.entries(record));
}

/**
 * Picks the certificate principal that names the user: the SSH user name when it is one of
 * the principals, else the first principal that is not a role principal (e.g. `admins`).
 */
export function selectPrincipal(principals: readonly string[], sshUser: string, roleMap: ReadonlyMap<string, Role>): string | undefined {
  if (principals.includes(sshUser) && !roleMap.has(sshUser)) return sshUser;
  return principals.find((p) => !roleMap.has(p));
}

/** Role granted by configured principals (highest wins), on top of the user's stored role. */
export function roleFromPrincipals(base: Role, principals: readonly string[], roleMap: ReadonlyMap<string, Role>): Role {
  let role = base;
  for (const p of principals) {
    const mapped = roleMap.get(p);
    if (mapped) role = higherRole(role, mapped);
  }
  return role;
}

/**
 * The user name a new user gets from a principal: the whole principal, lower-cased, with every other
 * character as `_` (`dave@evil.example` → `dave_evil_example`, never `dave`). Too long or not starting
 * with a letter: no name (never cut short, which could make two principals one name).
 */
export function userNameFor(principal: string): string | undefined {
  const name = principal.toLowerCase().replace(/[^a-z0-9_-]/g, '_');
  return USER_NAME.test(name) ? name : undefined;
}

/** Fingerprints of LABD_INITIAL_ADMIN_KEYS: keys nobody else may ever register. */
const adminFingerprintCache = new WeakMap<object, ReadonlySet<string>>();
export function initialAdminFingerprints(config: Config): ReadonlySet<string> {
  let set = adminFingerprintCache.get(config.auth);
  if (!set) {
    const fps = new Set<string>();
    for (const line of initialAdminKeyLines(config)) {
      try {
        fps.add(fingerprint(parsePublicKeyLine(line).key.blob));
      } catch {
        /* reported by ensureInitialAdmin at start */
      }
    }
    set = fps;
    adminFingerprintCache.set(config.auth, set);
  }
  return set;
}

function initialAdminKeyLines(config: Config): string[] {
  return config.auth.initialAdminKeys
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

export class LoginService {
  /**
   * The actor as the store says now: its user's current role (with what its certificate's principals grant).
   * A user that was removed acts no more.
   */
  async current(actor: Actor): Promise<Actor> {
    if (actor.credential?.kind === 'newcomer') return this.joined(actor);
    if (actor.userId === null) return actor;
    const user = await this.store.userById(actor.userId);
    if (!user) throw new PermissionDenied(`the account '${actor.name}' no longer exists`);
    if (user.disabledAt) throw new PermissionDenied(accountDisabledText());
    const role = actor.principalRole ? higherRole(user.role, actor.principalRole) : user.role;
    return { ...actor, name: user.name, role };
  }

  /** A newcomer whose key now belongs to an account (it ran `join`) continues as that user on the same connection. */
  private async joined(actor: Actor): Promise<Actor> {
    if (actor.credential?.kind !== 'newcomer') return actor;
    const key = await this.store.keyByFingerprint(actor.credential.fingerprint);
    if (!key || key.user.disabledAt) return actor;
    return { ...actor, userId: key.user.id, name: key.user.name, role: key.user.role, credential: { kind: 'key', fingerprint: key.fingerprint } };
  }

  /**
   * Whether a proven key that belongs to nobody may come in as a newcomer, to run only `join` (and
   * `help`): under `open`, and under `invite`/`sso` while an invite is outstanding; never when closed.
   */
  /** auth.signup, for the SSH door's choice between the device-flow login and the newcomer path. */
  get signupPolicy(): SignupPolicy {
    return this.config.auth.signup;
  }

  async mayJoin(keyFingerprint: string): Promise<boolean> {
    const policy = this.config.auth.signup;
    const open = signupAllows(policy, 'key') || (signupAllows(policy, 'invite') && (await this.invitesOutstanding()));
    return open && !(await this.store.keyByFingerprint(keyFingerprint));
  }

  /** Whether the user an actor stands for still exists and is not disabled (a removed or disabled user's connections are closed). */
  async exists(actor: Actor): Promise<boolean> {
    return (await this.standing(actor)) === 'active';
  }

  /**
   * Whether the plain key a connection logged in with still belongs to its user (`keys rm`, `user rm`
   * take it away); true for every other credential.
   */
  async keyHeld(actor: Actor): Promise<boolean> {
    if (actor.credential?.kind !== 'key' || actor.userId === null) return true;
    const key = await this.store.keyByFingerprint(actor.credential.fingerprint);
    return key?.user.id === actor.userId;
  }

  async standing(actor: Actor): Promise<AccountStanding> {
    if (actor.userId === null) return 'active';
    const user = await this.store.userById(actor.userId);
    return !user ? 'removed' : user.disabledAt ? 'disabled' : 'active';
  }

  private readonly store: IdentityStore;
  private readonly roleMap: ReadonlyMap<string, Role>;
  private readonly principalUsers: ReadonlyMap<string, string>;
  private readonly groupRoles: GroupRoles;
  /**
   * Whether an invite can still be used (the access store answers): under `invite` and `sso` unknown
   * keys come in as newcomers only while there is one, so without invites nothing changes for them.
   */
  private readonly invitesOutstanding: () => Promise<boolean>;
  constructor(
    store: IdentityStore,
    private readonly config: Config,
    private readonly log: Logger,
    deps: { invitesOutstanding?: () => Promise<boolean> } = {},
  ) {
    this.store = store;
    this.invitesOutstanding = deps.invitesOutstanding ?? (async () => false);
    this.roleMap = lookup(config.auth.principalRoles);
    this.principalUsers = lookup(config.auth.principalUsers);
    this.groupRoles = config.auth.oidc.enabled ? lookup(config.auth.oidc.groupRoles) : new Map();
  }

  /**
   * The user a plain registered key belongs to. When the SSH user name names another labd user, the key
   * does not log in (a key someone else registered must not capture that user's login).
   */
  async byKey(keyFingerprint: string, sshUser: string, now: Date): Promise<LoginOutcome> {
    const key = await this.store.keyByFingerprint(keyFingerprint);
    if (!key) return { ok: false, reason: 'unknown key', unknownKey: true };
    // A key an OIDC login linked works until its link expires (then it is unknown again).
    if (key.expiresAt && key.expiresAt.getTime() <= now.getTime())
      return { ok: false, reason: `the key's link (OIDC login) expired at ${key.expiresAt.toISOString()}`, unknownKey: true };
    const mismatch = await this.userMismatch(key.user, sshUser);
    if (mismatch) return { ok: false, reason: mismatch };
    if (key.user.disabledAt) return { ok: false, reason: `the account '${key.user.name}' is disabled`, disabled: key.user };
    await this.store.touchKey(key.id, now);
    // The IdP groups the link was made on grant their roles while it lasts (auth.oidc.groupRoles), like
    // principals; `user show` reads the same answer (linked-roles.ts), so the raise is never hidden.
    const principalRole = linkedKeyRole(key, this.groupRoles, now);
    return {
      ok: true,
      user: key.user,
      role: principalRole ? higherRole(key.user.role, principalRole) : key.user.role,
      principalRole,
      validBefore: key.expiresAt ?? undefined,
    };
  }

  /**
   * When the link of a key to this user ends as it stands now (a later `login` links it again for longer):
   * null when the key is this user's for good, undefined when it is no longer this user's key.
   */
  async linkExpiry(keyFingerprint: string, userId: number, now: Date): Promise<Date | null | undefined> {
    const key = await this.store.keyByFingerprint(keyFingerprint);
    if (!key || key.userId !== userId) return undefined;
    if (key.expiresAt && key.expiresAt.getTime() <= now.getTime()) return undefined;
    return key.expiresAt ?? null;
  }

  /** Why a plain key would not log in as `sshUser`, or undefined when it would (answers the unsigned query without binding anyone). */
  async keyRefusal(keyFingerprint: string, sshUser: string, now: Date): Promise<string | undefined> {
    const key = await this.store.keyByFingerprint(keyFingerprint);
    if (!key || (key.expiresAt && key.expiresAt.getTime() <= now.getTime())) return (await this.mayJoin(keyFingerprint)) ? undefined : 'unknown key';
    return this.userMismatch(key.user, sshUser);
  }

  private async userMismatch(owner: User, sshUser: string): Promise<string | undefined> {
    if (sshUser === owner.name || !USER_NAME.test(sshUser)) return undefined;
    return (await this.store.userByName(sshUser)) ? `key belongs to user '${owner.name}', not to '${sshUser}'` : undefined;
  }

  /**
   * The user a verified certificate stands for. A principal is an identity exactly as written: it reaches
   * the user config maps it to (auth.principalUsers), else the user it was linked to when it first logged
   * in, else a user created for it (sign-up) or one an admin made under exactly its name. A name another
   * identity holds is refused, never merged; the initial admin is reachable only through config.
   */
  async byCertificate(principals: readonly string[], sshUser: string, now: Date): Promise<LoginOutcome> {
    const principal = selectPrincipal(principals, sshUser, this.roleMap);
    if (!principal) return { ok: false, reason: 'certificate has no identity principal' };
    // Reads, then one unit of work. When another login made the account or the link meanwhile (two
    // connections with the same new principal), the second pass finds it, as if they had not overlapped.
    const first = await this.certificateUser(principal, principals, now);
    if (first !== RACED) return first;
    const second = await this.certificateUser(principal, principals, now);
    return second === RACED ? { ok: false, reason: `principal '${principal}' is being signed up by another login: try again` } : second;
  }

  private async certificateUser(principal: string, principals: readonly string[], now: Date): Promise<LoginOutcome | typeof RACED> {
    const adminName = this.config.auth.initialAdminName;
    const granted = roleFromPrincipals('guest', principals, this.roleMap);
    const role = (user: User): LoginOutcome =>
      user.disabledAt
        ? { ok: false, reason: `the account '${user.name}' is disabled`, disabled: user }
        : {
            ok: true,
            user,
            role: roleFromPrincipals(user.role, principals, this.roleMap),
            principal,
            principalRole: granted === 'guest' ? undefined : granted,
          };
    const mappedName = this.principalUsers.get(principal);
    if (mappedName !== undefined) {
      const mapped = await this.store.userByName(mappedName);
      if (!mapped) return { ok: false, reason: `principal '${principal}' is mapped to user '${mappedName}' (auth.principalUsers), which does not exist` };
      return role(mapped);
    }
    const linked = await this.store.identity(CERT_PROVIDER, principal);
    if (linked) {
      // A link made before this rule (a principal `admin` that signed up into the initial admin) does not count.
      if (linked.user.name === adminName)
        return { ok: false, reason: `principal '${principal}' cannot log in as the initial admin '${adminName}' unless auth.principalUsers maps it` };
      await this.store.touchIdentity(linked.id, now);
      return role(linked.user);
    }
    const name = userNameFor(principal);
    if (!name)
      return {
        ok: false,
        reason: `principal '${principal.slice(0, 64)}' does not make a valid user name (1-32 of a-z, 0-9, _ and -, starting with a letter)`,
      };
    const existing = await this.store.userByName(name);
    if (existing) {
      // Only a user an admin created under exactly this principal, that no certificate identity holds yet, is claimed.
      const claimable =
        name === principal &&
        name !== adminName &&
        !(await this.store.identitiesOf(existing.id)).some((i) => i.provider === CERT_PROVIDER) &&
        ![...this.principalUsers.values()].includes(name);
      if (!claimable)
        return {
          ok: false,
          reason: `user name '${name}' for principal '${principal}' is taken by another identity; an admin can map the principal to a user (auth.principalUsers)`,
        };
      await this.store.linkIdentity(existing.id, CERT_PROVIDER, principal);
      return role(existing);
    }
    if (!signupAllows(this.config.auth.signup, 'certificate'))
      return { ok: false, reason: `principal '${principal}' is not a user: ${signupRefusal(this.config.auth.signup, 'certificate')}` };
    if (isReservedUserName(name))
      return {
        ok: false,
        reason: `principal '${principal}' is not a user, and '${name}' is a reserved name; an admin can map the principal to a user (auth.principalUsers)`,
      };
    if (!this.config.auth.certificateSignup) return { ok: false, reason: `principal '${principal}' is not a user and sign-up by certificate is off` };
    const user = await this.store.createUserWithIdentity(name, this.config.auth.defaultRole, CERT_PROVIDER, principal);
    if (!user) return RACED;
    this.log.info({ user: name, principal, role: user.role }, 'user created from certificate');
    return role(user);
  }

  /**
   * Registers LABD_INITIAL_ADMIN_KEYS to the initial admin (idempotent, at every start). A key someone
   * else registered is taken back (and logged), so no member can keep labd from starting.
   */
  async ensureInitialAdmin(): Promise<void> {
    const lines = initialAdminKeyLines(this.config);
    if (!lines.length) return;
    const keys: AdminKey[] = lines.map((line, i) => {
      let parsed;
      try {
        parsed = parsePublicKeyLine(line);
      } catch (err) {
        throw new Error(`config: auth.initialAdminKeys (LABD_INITIAL_ADMIN_KEYS): line ${i + 1}: ${(err as Error).message}`);
      }
      return { fingerprint: fingerprint(parsed.key.blob), algo: parsed.key.type, publicKey: line, comment: parsed.comment };
    });
    for (const taken of await this.store.ensureAdmin(this.config.auth.initialAdminName, keys))
      this.log.warn({ fingerprint: taken.fingerprint, user: taken.user }, 'an initial admin key was registered to another user: taken back');
  }
}
