/** Roles and the permissions they grant (design §4). Config may override the table. */
export const ROLES = ['admin', 'operator', 'member', 'guest'] as const;
export type Role = (typeof ROLES)[number];

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
export type Permission = (typeof PERMISSIONS)[number];

export const DEFAULT_ROLE_PERMISSIONS: Record<Role, readonly Permission[]> = {
  admin: PERMISSIONS,
  operator: ['paste', 'pubsub', 'git.read', 'git.write', 'crm', 'ops.read', 'ops.nodes', 'ops.deploy', 'ops.alerts', 'ops.keys'],
  member: ['paste', 'pubsub', 'git.read', 'crm'],
  guest: ['git.read'],
};

const ROLE_RANK: Record<Role, number> = { admin: 3, operator: 2, member: 1, guest: 0 };

export function higherRole(a: Role, b: Role): Role {
  return ROLE_RANK[a] >= ROLE_RANK[b] ? a : b;
}

export function isRole(v: string): v is Role {
  return (ROLES as readonly string[]).includes(v);
}

export type RolePermissions = Record<Role, readonly Permission[]>;

export function roleHas(table: RolePermissions, role: Role, permission: Permission): boolean {
  return table[role].includes(permission);
}
