/**
 * Roles and the permissions they grant (design §4). The built-in table below is where the seed starts;
 * modules declare their permissions with default roles (src/ops/module.ts), config overrides them
 * (`roles`, `access.defaults`), and admins change the table and single users' grants at run time
 * (src/ops/access).
 */
export const ROLES = ['admin', 'operator', 'member', 'guest'] as const;
export type BuiltinRole = (typeof ROLES)[number];
/** A built-in role, or a custom one an admin created (`role create`). */
export type Role = BuiltinRole | (string & {});

export const PERMISSIONS = [
  'paste',
  'pubsub',
  'git.read',
  'git.write',
  'crm',
  'ops.read',
  'ops.nodes',
  'ops.deploy',
  'ops.alerts',
  'ops.keys',
  'admin.users',
] as const;
export type KnownPermission = (typeof PERMISSIONS)[number];
/**
 * A permission: the built-in ones by name, or one a module declares (`git.read`, a new service's `wiki`).
 * labd refuses to start when a command needs a permission no module declares (src/app.ts).
 */
export type Permission = KnownPermission | (string & {});

export const DEFAULT_ROLE_PERMISSIONS: Record<BuiltinRole, readonly Permission[]> = {
  admin: PERMISSIONS,
  operator: ['paste', 'pubsub', 'git.read', 'git.write', 'crm', 'ops.read', 'ops.nodes', 'ops.deploy', 'ops.alerts', 'ops.keys'],
  member: ['paste', 'pubsub', 'git.read', 'crm'],
  guest: ['git.read'],
};

const ROLE_RANK: Record<BuiltinRole, number> = { admin: 3, operator: 2, member: 1, guest: 0 };

/** The higher of two roles; a custom role ranks below every built-in one (a principal's built-in role then wins). */
export function higherRole(a: Role, b: Role): Role {
  const rank = (r: Role) => (isRole(r) ? ROLE_RANK[r] : -1);
  return rank(a) >= rank(b) ? a : b;
}

/** Whether `v` is a built-in role. */
export function isRole(v: string): v is BuiltinRole {
  return (ROLES as readonly string[]).includes(v);
}

export type RolePermissions = Readonly<Record<string, readonly Permission[]>>;

export function roleHas(table: RolePermissions, role: Role, permission: Permission): boolean {
  return Object.hasOwn(table, role) ? table[role]!.includes(permission) : false;
}

/** Who a permission question is about: a user (its own grants count) with its current role. */
export interface Grantee {
  userId: number | null;
  role: Role;
}

/** Answers "may this actor do that" now: the role's permissions and the user's own grants (deny beats allow). */
export interface PermissionCheck {
  can(who: Grantee, permission: Permission): boolean;
  /** Every permission the actor holds, sorted. */
  permissionsOf(who: Grantee): Permission[];
  /** The user's own grants deny this permission (so a refusal can name the deny, not the role). */
  deniedToUser?(who: Grantee, permission: Permission): boolean;
}

/** A fixed role table as a PermissionCheck (tests, tools): no per-user grants. */
export function tablePermissions(table: RolePermissions): PermissionCheck {
  return {
    can: (who, permission) => roleHas(table, who.role, permission),
    permissionsOf: (who) => (Object.hasOwn(table, who.role) ? [...table[who.role]!] : []),
  };
}
