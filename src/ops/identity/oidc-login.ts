/**
 * Device-flow login (issue #14): a key labd does not know, once it proved possession, is linked to the
 * account the OpenID Provider vouches for, for auth.oidc.keyLifetime. The ID token's claims map to a user:
 * the account already linked to (issuer, sub), else a new account when the sign-up policy allows OIDC.
 * Its name is derived like a principal's, exactly (`dave@evil.example` → `dave_evil_example`, never
 * `dave`); a name another account holds is refused, never merged. IdP groups grant roles
 * (auth.oidc.groupRoles) for as long as the link lasts.
 *
 * `login` in a session links only into the session's own account (issue #24 item 7: a phished approval
 * must not squat someone else's identity nor lend its roles): the approving identity must be linked to
 * that account already, or be linked to none, not name another account by its claims, and carry no
 * group role beyond what the account holds. Anything else is refused and nothing is linked or moved.
 */
import type { Config, OidcConfig } from '../../config/schema.ts';
import type { Actor } from '../../core/actor.ts';
import type { Clock } from '../../core/clock.ts';
import { Conflict, LabdError, PermissionDenied, Unavailable } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { higherRole, type PermissionCheck, type Role } from '../../core/permissions.ts';
import { signupAllows, signupRefusal } from '../../core/signup.ts';
import type { AuditLog } from '../audit/store.ts';
import { DeviceFlowError, type DeviceAuthorization, type DeviceFlow, type OidcClaims, type OidcPort } from '../oidc/port.ts';
import { qrModules, qrText } from '../../core/qr.ts';
import { lookup, roleFromPrincipals, userNameFor } from './login.ts';
import type { KeyToLink, LinkClaims, LinkTarget, OidcLinks } from './links.ts';
import { isReservedUserName, reservedNameText, type IdentityStore, type User } from './store.ts';

/** identities.provider of an OIDC subject: one per issuer, so two IdPs' `sub` never meet. */
export function oidcProvider(issuer: string): string {
  return `oidc:${issuer}`;
}

export interface OidcLinked {
  ok: true;
  user: User;
  role: Role;
  groupRole?: Role;
  expiresAt: Date;
  created: boolean;
  claims: LinkClaims;
  link: string;
}
export type OidcLinkOutcome = OidcLinked | { ok: false; reason: string };

export interface OidcLoginDeps {
  port: OidcPort;
  identities: IdentityStore;
  links: OidcLinks;
  config: Config;
  audit: AuditLog;
  log: Logger;
  clock: Clock;
  /** The live permission table: what an account holds, against what an identity's groups would grant. */
  permissions: PermissionCheck;
}

/** The role a link's groups grant (auth.oidc.groupRoles), or undefined when none. */
export function groupRole(groups: readonly string[], groupRoles: ReadonlyMap<string, Role>): Role | undefined {
  const role = roleFromPrincipals('guest', groups, groupRoles);
  return role === 'guest' ? undefined : role;
}

export class OidcLogin {
  private total = 0;
  private readonly bySource = new Map<string, number>();
  private readonly oidc: OidcConfig;
  readonly groupRoles: ReadonlyMap<string, Role>;

  constructor(private readonly deps: OidcLoginDeps) {
    if (!deps.config.auth.oidc.enabled) throw new Error('OidcLogin needs auth.oidc');
    this.oidc = deps.config.auth.oidc;
    this.groupRoles = lookup(this.oidc.groupRoles);
  }

  get keyLifetimeText(): string {
    return this.oidc.keyLifetime.text;
  }

  /**
   * Starts a device flow for a client at `source`. At most auth.oidc.maxFlows wait at once, and
   * maxFlowsPerSource from one address; `release` gives the place back (once).
   */
  async start(source: string, signal: AbortSignal): Promise<{ flow: DeviceFlow; release: () => void }> {
    const fromSource = this.bySource.get(source) ?? 0;
    if (this.total >= this.oidc.maxFlows || fromSource >= this.oidc.maxFlowsPerSource)
      throw new DeviceFlowError('unavailable', 'too many logins are waiting for the identity provider; try again in a few minutes');
    this.total++;
    this.bySource.set(source, fromSource + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.total--;
      const n = (this.bySource.get(source) ?? 1) - 1;
      if (n <= 0) this.bySource.delete(source);
      else this.bySource.set(source, n);
    };
    try {
      return { flow: await this.deps.port.startDeviceFlow(signal), release };
    } catch (err) {
      release();
      throw err;
    }
  }

  /**
   * The whole device-flow login for a key the session proved it holds, as `login` runs it and as an SSH
   * session of an unlinked key runs it before its command (issue #12): start a flow, show the URL, code
   * and (on a terminal) QR code through `progress`, wait for the IdP, link. Failures are typed errors:
   * denied or refused → PermissionDenied, expired or the IdP unreachable → Unavailable; nothing is linked.
   */
  async login(
    key: KeyToLink,
    o: {
      surface: Actor['via'];
      remoteAddress?: string;
      sessionUserId?: number;
      qr: boolean;
      progress: (line: string) => void;
      signal: AbortSignal;
    },
  ): Promise<OidcLinked> {
    let started;
    try {
      started = await this.start(o.remoteAddress ?? 'local', o.signal);
    } catch (err) {
      if (err instanceof DeviceFlowError) throw new Unavailable(err.message);
      throw err;
    }
    try {
      const account = o.sessionUserId !== undefined ? (await this.deps.identities.userById(o.sessionUserId))?.name : undefined;
      for (const line of deviceFlowText(started.flow.authorization, { qr: o.qr, now: this.deps.clock.now(), account, keyFingerprint: key.fingerprint }))
        o.progress(line);
      let claims;
      try {
        claims = await started.flow.wait(o.signal);
      } catch (err) {
        if (err instanceof DeviceFlowError)
          throw err.reason === 'denied' ? new PermissionDenied(`login failed: ${err.message}`) : new Unavailable(`login failed: ${err.message}`);
        throw err;
      }
      const outcome = await this.link(claims, key, { surface: o.surface, remoteAddress: o.remoteAddress, sessionUserId: o.sessionUserId });
      if (!outcome.ok) throw new PermissionDenied(`login refused: ${outcome.reason}`);
      return outcome;
    } finally {
      started.release();
    }
  }

  /**
   * Maps confirmed claims to a user and links the proven key to it until now + keyLifetime, in one
   * unit of work; writes the audit row (`oidc link`) either way. `sessionUserId`: the account of a
   * session running `login` (an unknown identity is linked to it instead of making a new account).
   */
  async link(claims: OidcClaims, key: KeyToLink, via: { surface: Actor['via']; remoteAddress?: string; sessionUserId?: number }): Promise<OidcLinkOutcome> {
    const started = this.deps.clock.now();
    const expiresAt = new Date(started.getTime() + this.oidc.keyLifetime.ms);
    const stored: LinkClaims = {
      issuer: claims.issuer,
      sub: claims.sub,
      ...(claims.email ? { email: claims.email } : {}),
      ...(claims.preferredUsername ? { preferredUsername: claims.preferredUsername } : {}),
      groups: claims.groups,
    };
    let outcome: OidcLinkOutcome;
    try {
      outcome = await this.mapAndLink(claims, key, expiresAt, stored, via.sessionUserId);
    } catch (err) {
      if (!(err instanceof LabdError)) throw err;
      outcome = { ok: false, reason: err.message };
    }
    const actor: Actor = outcome.ok
      ? {
          userId: outcome.user.id,
          name: outcome.user.name,
          role: outcome.role,
          via: via.surface,
          credential: { kind: 'key', fingerprint: key.fingerprint },
          remoteAddress: via.remoteAddress,
        }
      : { userId: null, name: `oidc:${claims.sub.slice(0, 64)}`, role: 'guest', via: via.surface, remoteAddress: via.remoteAddress };
    await this.deps.audit
      .record({
        at: started,
        actor,
        command: 'oidc link',
        args: {
          key: key.fingerprint,
          ...stored,
          expiresAt: expiresAt.toISOString(),
          ...(outcome.ok ? { user: outcome.user.name, created: outcome.created, link: outcome.link, groupRole: outcome.groupRole ?? null } : {}),
        },
        outcome: outcome.ok ? 'ok' : 'permission',
        error: outcome.ok ? undefined : outcome.reason,
        durationMs: this.deps.clock.now().getTime() - started.getTime(),
      })
      .catch((err: unknown) => this.deps.log.error({ err }, 'could not write the audit row of an OIDC login'));
    if (outcome.ok)
      this.deps.log.info(
        { user: outcome.user.name, sub: claims.sub, issuer: claims.issuer, fingerprint: key.fingerprint, expiresAt, created: outcome.created },
        'key linked by OIDC login',
      );
    else this.deps.log.info({ sub: claims.sub, issuer: claims.issuer, fingerprint: key.fingerprint, reason: outcome.reason }, 'OIDC login refused');
    return outcome;
  }

  private linkedElsewhere(who: string, owner: User, caller: User): string {
    return `the identity-provider account '${who.slice(0, 64)}' is linked to the labd account '${owner.name}', not to yours ('${caller.name}'): login links only your own identities, nothing was linked or moved`;
  }

  /**
   * Why an identity linked to nobody may not join the caller's account, or undefined: its claims name
   * another account, or its groups grant more than the account holds (a phished approval by someone else).
   */
  private async squatRefusal(claims: OidcClaims, who: string, caller: User, gRole: Role | undefined): Promise<string | undefined> {
    const name = userNameFor(who);
    const namesake = name !== undefined ? await this.deps.identities.userByName(name) : undefined;
    if (namesake && namesake.id !== caller.id)
      return `the identity-provider account '${who.slice(0, 64)}' would be the labd account '${namesake.name}', not yours ('${caller.name}'): nothing was linked; its owner logs in with it themselves`;
    if (!gRole) return undefined;
    const { permissions } = this.deps;
    const held = new Set(permissions.permissionsOf({ userId: caller.id, role: caller.role }));
    const beyond = permissions.permissionsOf({ userId: null, role: gRole }).filter((p) => !held.has(p));
    if (beyond.length)
      return `the identity-provider account '${who.slice(0, 64)}' is in groups (${claims.groups.join(', ')}) that grant role ${gRole}, more than your account '${caller.name}' holds (${beyond.join(', ')}): nothing was linked; an admin can give your account that role`;
    return undefined;
  }

  private async mapAndLink(
    claims: OidcClaims,
    key: KeyToLink,
    expiresAt: Date,
    stored: LinkClaims,
    sessionUserId: number | undefined,
  ): Promise<OidcLinkOutcome> {
    const { identities } = this.deps;
    const adminName = this.deps.config.auth.initialAdminName;
    const provider = oidcProvider(claims.issuer);
    const gRole = groupRole(claims.groups, this.groupRoles);
    let target: LinkTarget;
    const linked = await identities.identity(provider, claims.sub);
    const candidate = claims.preferredUsername ?? (claims.emailVerified ? claims.email : undefined) ?? claims.sub;
    if (sessionUserId !== undefined) {
      const user = await identities.userById(sessionUserId);
      if (!user) return { ok: false, reason: 'your account no longer exists' };
      const refusal = linked
        ? linked.user.id === user.id
          ? undefined
          : this.linkedElsewhere(candidate, linked.user, user)
        : await this.squatRefusal(claims, candidate, user, gRole);
      if (refusal) return { ok: false, reason: refusal };
      target = { user };
    } else if (linked) {
      target = { user: linked.user };
    } else {
      const name = userNameFor(candidate);
      if (!name)
        return {
          ok: false,
          reason: `'${candidate.slice(0, 64)}' does not make a valid user name (1-32 of a-z, 0-9, _ and -, starting with a letter); ask an admin to add you`,
        };
      if (isReservedUserName(name)) return { ok: false, reason: `${reservedNameText(name)}; ask an admin to add you under another name` };
      if (await identities.userByName(name))
        return {
          ok: false,
          reason: `the user name '${name}' belongs to another account; log in to it (key or certificate) and run 'login' there to link this identity, or ask an admin`,
        };
      if (!signupAllows(this.deps.config.auth.signup, 'oidc')) return { ok: false, reason: signupRefusal(this.deps.config.auth.signup, 'oidc') };
      target = { create: { name, role: this.deps.config.auth.defaultRole } };
    }
    const targetName = 'user' in target ? target.user.name : target.create.name;
    if (targetName === adminName) return { ok: false, reason: `an identity-provider login cannot reach the initial admin '${adminName}'` };
    // One unit of work: the account made, the identity linked (or seen again) and the key linked, or nothing.
    const result = await this.deps.links.link(
      target,
      linked ? { touch: { id: linked.id, at: expiresAt } } : { link: { provider, subject: claims.sub } },
      key,
      expiresAt,
      stored,
    );
    if (result.kind === 'permanent') throw new Conflict(`key ${key.fingerprint} is already registered to ${targetName} for good: nothing to link`);
    const user = result.user;
    return {
      ok: true,
      user,
      role: gRole ? higherRole(user.role, gRole) : user.role,
      groupRole: gRole,
      expiresAt,
      created: 'create' in target,
      claims: stored,
      link: result.kind,
    };
  }
}

/**
 * What the person is shown while labd waits: where to go and the code (one short ASCII block), and for
 * a phone's camera a QR code of the page with the code filled in. OpenSSH prints keyboard-interactive
 * instructions through its log (logit): ASCII only (it escapes every other byte), at most ~1 KiB per
 * message (longer ones are cut) and only at the default LogLevel INFO. So the QR code is drawn in ASCII
 * ('##' per module) and sent in chunks that each fit.
 */
export function deviceFlowPrompt(
  a: DeviceAuthorization,
  o: { keyFingerprint: string; now: Date },
): { instructions: string; qrChunks: string[]; waiting: string } {
  const minutes = Math.max(1, Math.round((a.expiresAt.getTime() - o.now.getTime()) / 60_000));
  const instructions = [
    `This key (${o.keyFingerprint}) is not linked to a labd account yet.`,
    'Log in with your identity provider to link it to the labd account of the identity you approve with',
    '(a new one if it has none). Approve only a code you asked for yourself:',
    '',
    `  open   ${a.verificationUri}`,
    `  code   ${a.userCode}`,
    '',
  ].join('\n');
  const rows = qrRows(a.verificationUriComplete ?? a.verificationUri);
  const qrChunks: string[] = [];
  let chunk: string[] = [];
  for (const row of rows) {
    if ((chunk.length + 1) * (row.length + 1) > OPENSSH_LOG_LIMIT) {
      qrChunks.push(chunk.join('\n'));
      chunk = [];
    }
    chunk.push(row);
  }
  if (chunk.length) qrChunks.push(chunk.join('\n'));
  return { instructions, qrChunks, waiting: `Waiting for the identity provider (the code expires in ${minutes} minute${minutes === 1 ? '' : 's'})...` };
}

/** OpenSSH's log line buffer is 1024 bytes; leave room for its own framing. */
const OPENSSH_LOG_LIMIT = 960;

/** The QR code as ASCII rows: light modules (and the quiet zone) drawn as '##', dark ones blank, for dark terminals. */
function qrRows(text: string): string[] {
  const { size, dark } = qrModules(text);
  const QUIET = 2;
  const rows: string[] = [];
  for (let y = -QUIET; y < size + QUIET; y++) {
    let row = '';
    for (let x = -QUIET; x < size + QUIET; x++) row += dark(x, y) ? '  ' : '##';
    rows.push(row.trimEnd());
  }
  return rows;
}

/**
 * The same for `login` in a session (half blocks via core/qr.ts on a terminal), naming the labd account
 * the approval links: whoever approves should see that it is not theirs (issue #24 item 7).
 */
export function deviceFlowText(a: DeviceAuthorization, o: { qr: boolean; now: Date; account?: string; keyFingerprint?: string }): string[] {
  const minutes = Math.max(1, Math.round((a.expiresAt.getTime() - o.now.getTime()) / 60_000));
  const lines = [
    ...(o.account !== undefined
      ? [
          `Approving this code links the identity you approve with to the labd account '${o.account}'`,
          `(and key ${o.keyFingerprint ?? '-'} to it). Approve it only if you are ${o.account}.`,
        ]
      : []),
    'Log in with your identity provider:',
    '',
    `  open   ${a.verificationUri}`,
    `  code   ${a.userCode}`,
    '',
  ];
  if (o.qr)
    lines.push(
      'or scan:',
      ...qrText(a.verificationUriComplete ?? a.verificationUri)
        .replace(/\n$/, '')
        .split('\n'),
      '',
    );
  lines.push(`Waiting for the identity provider (the code expires in ${minutes} minute${minutes === 1 ? '' : 's'})...`);
  return lines;
}
