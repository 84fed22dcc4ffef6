/**
 * The live role → permission table (issue #14): modules declare their permissions with default roles,
 * config overrides them (`access.defaults` per permission, `roles` per role), and admins change the
 * table and single users' grants at run time (stored, read again for every question, so a change
 * counts from the next command on, on connections that are already open too). Deny beats allow.
 */
import { isRole, ROLES, type BuiltinRole, type Grantee, type Permission, type PermissionCheck, type Role } from '../../core/permissions.ts';
import type { PermissionDecl } from '../module.ts';
import type { AccessStore } from './sqlite-store.ts';

export interface AccessSeed {
  /** access.defaults: the roles a permission goes to, instead of what its module says. */
  defaults: Readonly<Record<string, readonly BuiltinRole[]>>;
  /** roles: a built-in role's whole permission list, instead of the modules' defaults. */
  roles: Readonly<Partial<Record<BuiltinRole, readonly string[]>>>;
}

/** The permission no admin can lose: without it nobody could undo a mistake. */
export const ADMIN_PERMISSION: Permission = 'admin.users';

export class AccessControl implements PermissionCheck {
  private readonly declarations = new Map<Permission, PermissionDecl & { module: string }>();

  constructor(
    private readonly store: AccessStore,
    private readonly seed: AccessSeed,
  ) {}

  /** A module's permissions (called once per module at start); a permission two modules declare keeps its first roles. */
  declare(module: string, decls: readonly PermissionDecl[]): void {
    for (const d of decls) if (!this.declarations.has(d.name)) this.declarations.set(d.name, { ...d, module });
  }

  /** Refuses config that names a permission no module declares (a typo would otherwise grant nothing, silently). */
  checkSeed(): void {
    for (const p of Object.keys(this.seed.defaults))
      if (!this.declarations.has(p)) throw new Error(`config: access.defaults names '${p}', which no module declares (known: ${this.known().join(', ')})`);
    for (const [role, perms] of Object.entries(this.seed.roles))
      for (const p of perms ?? [])
        if (!this.declarations.has(p)) throw new Error(`config: roles.${role} names '${p}', which no module declares (known: ${this.known().join(', ')})`);
  }

  known(): Permission[] {
    return [...this.declarations.keys()].sort();
  }

  isDeclared(permission: string): boolean {
    return this.declarations.has(permission);
  }

  declared(): (PermissionDecl & { module: string })[] {
    return [...this.declarations.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The table as modules and config make it, before any run-time change. */
  seedTable(): Map<Role, Set<Permission>> {
    const table = new Map<Role, Set<Permission>>(ROLES.map((r) => [r, new Set<Permission>()]));
    for (const d of this.declarations.values()) for (const r of this.seed.defaults[d.name] ?? d.roles) table.get(r)!.add(d.name);
    for (const [role, perms] of Object.entries(this.seed.roles)) if (perms) table.set(role, new Set(perms));
    table.get('admin')!.add(ADMIN_PERMISSION);
    return table;
  }

  roleNames(): Role[] {
    return [...ROLES, ...this.store.customRoles().map((r) => r.name)];
  }

  roleExists(name: string): boolean {
    return isRole(name) || this.store.customRoles().some((r) => r.name === name);
  }

  /** The table now: the seed, custom roles, and every run-time grant and revocation. */
  table(): Map<Role, Set<Permission>> {
    const table = this.seedTable();
    for (const r of this.store.customRoles()) table.set(r.name, new Set());
    for (const c of this.store.roleChanges()) {
      const perms = table.get(c.role);
      if (!perms) continue;
      if (c.effect === 'grant') perms.add(c.permission);
      else perms.delete(c.permission);
    }
    table.get('admin')!.add(ADMIN_PERMISSION);
    return table;
  }

  rolePermissions(role: Role): Set<Permission> {
    return this.table().get(role) ?? new Set();
  }

  can(who: Grantee, permission: Permission): boolean {
    if (who.userId !== null) {
      const own = this.store.userGrants(who.userId).find((g) => g.permission === permission);
      if (own) return own.effect === 'allow';
    }
    return this.rolePermissions(who.role).has(permission);
  }

  permissionsOf(who: Grantee): Permission[] {
    const perms = new Set(this.rolePermissions(who.role));
    if (who.userId !== null)
      for (const g of this.store.userGrants(who.userId)) {
        if (g.effect === 'allow') perms.add(g.permission);
        else perms.delete(g.permission);
      }
    return [...perms].sort();
  }
}
