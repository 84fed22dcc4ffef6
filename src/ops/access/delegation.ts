/**
 * Delegated user administration (issue #24 item 8). `admin.users` can be given to a custom role, so
 * every command that changes accounts or grants checks, in its `authorize` (run by the registry), that
 * the actor stays within their own rights:
 * - they grant (to a role, a user, an invite) only permissions they hold themselves;
 * - they assign a role, or make an invite for one, only when they hold every permission of that role;
 * - they change an account (role, grants, denials, disable, remove, keys) only when they hold every
 *   permission that account holds, before and after the change;
 * - they change a role only when they hold every permission it holds;
 * - the initial admin (auth.initialAdminKeys, user auth.initialAdminName) is never disabled, removed,
 *   demoted or denied a permission from inside labd, by anyone.
 * An admin (the built-in role admin, holding admin.users) passes these checks, even where config left
 * the admin role without some permission; only an admin makes admins or touches an admin's account.
 * The rights of an account include what its keys linked by an OIDC login carry through their IdP
 * groups (linked-roles.ts).
 */
import { PermissionDenied } from '../../core/errors.ts';
import { higherRole, type Permission, type Role } from '../../core/permissions.ts';
import { linkedRolesOf, type GroupRoles, type LinkedRole } from '../identity/linked-roles.ts';
import type { IdentityStore, User } from '../identity/store.ts';
import type { CommandContext } from '../registry.ts';
import { ADMIN_PERMISSION, type AccessControl } from './control.ts';

/** What an account can do now: its stored role and own grants, and what its linked keys raise. */
export interface AccountRights {
  permissions: Permission[];
  /** Keys whose OIDC link raises the account's role while it lasts. */
  linked: LinkedRole[];
  /** The highest role it acts as: the stored one, or one a linked key raises it to (as LoginService.byKey picks it). */
  effectiveRole: Role;
}

export class Delegation {
  constructor(
    private readonly deps: {
      control: AccessControl;
      identities: IdentityStore;
      initialAdminName: string;
      groupRoles: GroupRoles;
    },
  ) {}

  get initialAdminName(): string {
    return this.deps.initialAdminName;
  }

  /** Everything the user can do with any of its credentials labd knows of; `role`: as if it held that role instead. */
  async rightsOf(user: User, now: Date, role: Role = user.role): Promise<AccountRights> {
    const { control } = this.deps;
    const linked = await linkedRolesOf(this.deps.identities, user.id, this.deps.groupRoles, now);
    const perms = new Set(control.permissionsOf({ userId: user.id, role }));
    // A user's own denials hold whatever role a key carries (as the registry checks it).
    for (const l of linked) for (const p of control.permissionsOf({ userId: user.id, role: l.role })) perms.add(p);
    const effectiveRole = linked.reduce<Role>((r, l) => higherRole(r, l.role), user.role);
    return { permissions: [...perms].sort(), linked, effectiveRole };
  }

  /** An admin: the built-in role, with admin.users (not denied it). */
  isAdmin(ctx: CommandContext): boolean {
    return ctx.actor.role === 'admin' && ctx.can(ADMIN_PERMISSION);
  }

  /** Refuses unless the actor holds every one of `perms`; `what` completes "you cannot …". */
  requireHeld(ctx: CommandContext, perms: Iterable<Permission>, what: string): void {
    if (this.isAdmin(ctx)) return;
    const held = new Set(ctx.permissionsHeld());
    const missing = [...new Set(perms)].filter((p) => !held.has(p)).sort();
    if (missing.length) throw new PermissionDenied(`permission denied: you cannot ${what}: it needs ${missing.join(', ')}, which you do not hold`);
  }

  /** Refuses unless the actor holds every permission of the role (assigning it, inviting to it). */
  requireRoleWithin(ctx: CommandContext, role: Role, what: string): void {
    if (this.isAdmin(ctx)) return;
    if (role === 'admin') throw new PermissionDenied(`permission denied: you cannot ${what}: only an admin gives the admin role`);
    const held = new Set(ctx.permissionsHeld());
    const missing = [...this.deps.control.rolePermissions(role)].filter((p) => !held.has(p)).sort();
    if (missing.length) throw new PermissionDenied(`permission denied: you cannot ${what}: role ${role} holds ${missing.join(', ')}, which you do not hold`);
  }

  /**
   * Refuses unless the actor holds every permission the account holds now, and with `asRole`, every
   * permission it would hold with that role (a role change).
   */
  async requireAccountWithin(ctx: CommandContext, user: User, what: string, asRole?: Role): Promise<void> {
    if (this.isAdmin(ctx)) return;
    if (asRole === 'admin') throw new PermissionDenied(`permission denied: you cannot ${what}: only an admin gives the admin role`);
    const held = new Set(ctx.permissionsHeld());
    const now = ctx.clock.now();
    const rights = await this.rightsOf(user, now);
    if (user.role === 'admin' || rights.linked.some((l) => l.role === 'admin'))
      throw new PermissionDenied(`permission denied: you cannot ${what}: ${user.name} is an admin, and only an admin changes an admin's account`);
    const missing = rights.permissions.filter((p) => !held.has(p));
    if (missing.length)
      throw new PermissionDenied(
        `permission denied: you cannot ${what}: ${user.name} holds ${missing.join(', ')}, which you do not (you manage only accounts within your own rights)`,
      );
    if (asRole === undefined) return;
    const missingAfter = (await this.rightsOf(user, now, asRole)).permissions.filter((p) => !held.has(p));
    if (missingAfter.length)
      throw new PermissionDenied(`permission denied: you cannot ${what}: as ${asRole} ${user.name} would hold ${missingAfter.join(', ')}, which you do not`);
  }

  /** The initial admin is never `what` (disabled, removed, demoted, denied) from inside labd. */
  protectInitialAdmin(user: User, what: string): void {
    if (user.name === this.deps.initialAdminName)
      throw new PermissionDenied(
        `permission denied: the initial admin '${user.name}' (auth.initialAdminKeys) cannot be ${what} from inside labd; change the config instead`,
      );
  }
}
