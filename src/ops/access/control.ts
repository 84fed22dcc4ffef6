/**
 * The live role → permission table (issue #14): modules declare their permissions with default roles,
 * config overrides them (`access.defaults` per permission, `roles` per role), and admins change the
 * table and single users' grants at run time (stored, so a change counts from the next command on,
 * on connections that are already open too). Deny beats allow.
 *
 * Permission checks are synchronous and run for every command, while the store is an async port: so
 * AccessControl answers from a snapshot of the store's rules, loaded once at start (`load`, awaited
 * before labd listens) and read again from the store after every change made through it. A change
 * goes to the store first; only what the store then answers becomes the snapshot, so a write that
 * fails changes nothing. Every change is also published on the change feed (topic `access`, sent
 * once the command's transaction committed): each replica, this one included, then loads again, so a
 * change made on one replica counts on all of them within moments (see src/ops/changes).
 */
import { isRole, ROLES, type BuiltinRole, type Grantee, type Permission, type PermissionCheck, type Role } from '../../core/permissions.ts';
import type { PermissionDecl } from '../module.ts';
import { TOPICS, type ChangeNotice } from '../changes/port.ts';
import type { AccessRules, AccessStore, CustomRole, RoleEffect, UserEffect, UserGrant } from './store.ts';

export interface AccessSeed {
  /** access.defaults: the roles a permission goes to, instead of what its module says. */
  defaults: Readonly<Record<string, readonly BuiltinRole[]>>;
  /** roles: a built-in role's whole permission list, instead of the modules' defaults. */
  roles: Readonly<Partial<Record<BuiltinRole, readonly string[]>>>;
}

/** The permission no admin can lose: without it nobody could undo a mistake. */
export const ADMIN_PERMISSION: Permission = 'admin.users';

/** The store's rules, indexed for the checks. */
interface Snapshot {
  customRoles: CustomRole[];
  roleChanges: AccessRules['roleChanges'];
  userGrants: Map<number, Omit<UserGrant, 'userId'>[]>;
}

export class AccessControl implements PermissionCheck {
  private readonly declarations = new Map<Permission, PermissionDecl & { module: string }>();
  private snapshot: Snapshot | undefined;
  /** Loads started, and the number of the newest whose answer is the snapshot: an older answer that arrives later is dropped. */
  private loadsStarted = 0;
  private loadApplied = 0;

  constructor(
    private readonly store: AccessStore,
    private readonly seed: AccessSeed,
    /** Where a change is announced to every replica (none: one process, nobody else to tell). */
    private readonly changes?: ChangeNotice,
  ) {}

  /** After a change: the snapshot here, then every replica's (through the feed, after the commit). */
  private async changed(what: string): Promise<void> {
    await this.load();
    this.changes?.publish(TOPICS.access, { what });
  }

  /** A module's permissions (called once per module at start); a permission two modules declare keeps its first roles. */
  declare(module: string, decls: readonly PermissionDecl[]): void {
    for (const d of decls) if (!this.declarations.has(d.name)) this.declarations.set(d.name, { ...d, module });
  }

  /** Reads the rules from the store into the snapshot: once at start, and after every change. */
  async load(): Promise<void> {
    const n = ++this.loadsStarted;
    const rules = await this.store.rules();
    if (n < this.loadApplied) return;
    this.loadApplied = n;
    const userGrants = new Map<number, Omit<UserGrant, 'userId'>[]>();
    for (const g of rules.userGrants) {
      const list = userGrants.get(g.userId) ?? [];
      list.push({ permission: g.permission, effect: g.effect });
      userGrants.set(g.userId, list);
    }
    this.snapshot = {
      customRoles: rules.customRoles,
      roleChanges: rules.roleChanges,
      userGrants,
    };
  }

  private get rules(): Snapshot {
    // Never the seed alone: it would hand back permissions an admin revoked.
    if (!this.snapshot) throw new Error('access rules not loaded yet (AccessControl.load)');
    return this.snapshot;
  }

  /** Creates a custom role (with no permissions). */
  async addCustomRole(name: string, description: string): Promise<void> {
    await this.store.addCustomRole(name, description);
    await this.changed('role added');
  }

  /** Removes a custom role and its run-time changes. */
  async removeCustomRole(name: string): Promise<void> {
    await this.store.removeCustomRole(name);
    await this.changed('role removed');
  }

  /** Sets (or with null clears) a role's run-time change of a permission. */
  async setRoleChange(role: Role, permission: Permission, effect: RoleEffect | null): Promise<void> {
    await this.store.setRoleChange(role, permission, effect);
    await this.changed('role permission');
  }

  /** Sets (or with null clears) one user's grant of a permission. Returns whether anything changed. */
  async setUserGrant(userId: number, permission: Permission, effect: UserEffect | null): Promise<boolean> {
    const changed = await this.store.setUserGrant(userId, permission, effect);
    await this.changed('user grant');
    return changed;
  }

  /** The custom roles, by name. */
  customRoles(): CustomRole[] {
    return [...this.rules.customRoles];
  }

  /** One user's own grants and denials, by permission. */
  userGrants(userId: number): Omit<UserGrant, 'userId'>[] {
    return [...(this.rules.userGrants.get(userId) ?? [])];
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
    return [...ROLES, ...this.rules.customRoles.map((r) => r.name)];
  }

  roleExists(name: string): boolean {
    return isRole(name) || this.rules.customRoles.some((r) => r.name === name);
  }

  /** The table now: the seed, custom roles, and every run-time grant and revocation. */
  table(): Map<Role, Set<Permission>> {
    const table = this.seedTable();
    for (const r of this.rules.customRoles) table.set(r.name, new Set());
    for (const c of this.rules.roleChanges) {
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
      const own = this.userGrants(who.userId).find((g) => g.permission === permission);
      if (own) return own.effect === 'allow';
    }
    return this.rolePermissions(who.role).has(permission);
  }

  deniedToUser(who: Grantee, permission: Permission): boolean {
    return who.userId !== null && this.userGrants(who.userId).some((g) => g.permission === permission && g.effect === 'deny');
  }

  permissionsOf(who: Grantee): Permission[] {
    const perms = new Set(this.rolePermissions(who.role));
    if (who.userId !== null)
      for (const g of this.userGrants(who.userId)) {
        if (g.effect === 'allow') perms.add(g.permission);
        else perms.delete(g.permission);
      }
    return [...perms].sort();
  }
}
