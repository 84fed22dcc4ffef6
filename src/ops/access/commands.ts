/**
 * Roles and grants at run time (issue #14): `role ls/show/create/rm/grant/revoke` change the role →
 * permission table, `user grant/deny/clear` one user's own grants (deny beats every allow), `user show`
 * the whole picture of one user. Every change is a mutating command, so the registry audits it, and
 * each one's `authorize` keeps a delegated `admin.users` within its holder's own rights (delegation.ts).
 */
import { z } from 'zod';
import { Conflict, NotFound, UsageError } from '../../core/errors.ts';
import { isRole, type Permission } from '../../core/permissions.ts';
import type { IdentityStore } from '../identity/store.ts';
import { defineCommand, type AnyCommand } from '../registry.ts';
import { ADMIN_PERMISSION, type AccessControl } from './control.ts';
import type { AccessStore } from './store.ts';
import type { Delegation } from './delegation.ts';

export const ROLE_NAME = /^[a-z][a-z0-9_-]{0,31}$/;

export function accessCommands(deps: {
  control: AccessControl;
  identities: IdentityStore;
  store: Pick<AccessStore, 'invites'>;
  delegation: Delegation;
}): AnyCommand[] {
  const { control, identities, store, delegation } = deps;

  function requireRole(name: string): string {
    if (!control.roleExists(name)) throw new NotFound(`no role '${name.slice(0, 40)}' (roles: ${control.roleNames().join(', ')})`);
    return name;
  }
  function requirePermission(name: string): Permission {
    if (!control.isDeclared(name)) throw new NotFound(`no permission '${name.slice(0, 60)}' (known: ${control.known().join(', ')})`);
    return name;
  }
  /** How many users hold each role. */
  const usersByRole = async () => {
    const counts = new Map<string, number>();
    for (const u of await identities.listUsers()) counts.set(u.role, (counts.get(u.role) ?? 0) + 1);
    return counts;
  };
  const usersWithRole = async (role: string) => (await usersByRole()).get(role) ?? 0;

  const roleLs = defineCommand({
    path: ['role', 'ls'],
    summary: 'List the roles and the permissions each holds now',
    args: z.object({}),
    permission: 'admin.users',
    mutating: false,
    results: ['table'],
    async run() {
      const table = control.table();
      const custom = new Set(control.customRoles().map((r) => r.name));
      const holders = await usersByRole();
      const rows = control.roleNames().map((name) => ({
        role: name,
        kind: custom.has(name) ? 'custom' : 'built-in',
        users: holders.get(name) ?? 0,
        permissions: [...(table.get(name) ?? [])].sort(),
      }));
      return {
        kind: 'table',
        columns: [
          { key: 'role', label: 'ROLE', priority: 3 },
          { key: 'kind', label: 'KIND', priority: 1 },
          { key: 'users', label: 'USERS', align: 'right', priority: 2 },
          { key: 'permissions', label: 'PERMISSIONS', priority: 2 },
        ],
        rows: rows.map((r) => ({ ...r, permissions: r.permissions.join(', ') || '-' })),
        json: rows,
      };
    },
  });

  const roleShow = defineCommand({
    path: ['role', 'show'],
    summary: 'Show every permission modules declare and whether a role holds it, and why',
    args: z.object({ role: z.string().min(1).describe('a role: admin, operator, member, guest or a custom one') }),
    positionals: ['role'],
    permission: 'admin.users',
    mutating: false,
    results: ['table'],
    async run(_ctx, args) {
      const role = requireRole(args.role);
      const seed = control.seedTable().get(role) ?? new Set<Permission>();
      const now = control.rolePermissions(role);
      const rows = control.declared().map((d) => ({
        permission: d.name,
        held: now.has(d.name),
        why: now.has(d.name) === seed.has(d.name) ? (seed.has(d.name) ? 'default' : '-') : now.has(d.name) ? 'granted' : 'revoked',
        module: d.module,
        summary: d.summary,
      }));
      return {
        kind: 'table',
        columns: [
          { key: 'permission', label: 'PERMISSION', priority: 3 },
          { key: 'held', label: 'HELD', priority: 3 },
          { key: 'why', label: 'WHY', priority: 2 },
          { key: 'module', label: 'MODULE', priority: 1 },
          { key: 'summary', label: 'WHAT' },
        ],
        rows: rows.map((r) => ({ ...r, held: r.held ? 'yes' : 'no' })),
        json: { role, builtin: isRole(role), users: await usersWithRole(role), permissions: rows },
      };
    },
  });

  const roleCreate = defineCommand({
    path: ['role', 'create'],
    summary: 'Create a custom role (it starts with no permissions: role grant ROLE PERMISSION)',
    args: z.object({
      role: z.string().min(1).describe('the new role: 1-32 of a-z, 0-9, _ and -, starting with a letter'),
      description: z.array(z.string()).default([]).describe('what the role is for (the trailing words)'),
    }),
    positionals: ['role', 'description'],
    permission: 'admin.users',
    mutating: true,
    results: ['message'],
    async run(_ctx, args) {
      if (!ROLE_NAME.test(args.role))
        throw new UsageError(`invalid role name '${args.role.slice(0, 40)}': use 1-32 of a-z, 0-9, _ and -, starting with a letter`);
      if (control.roleExists(args.role)) throw new Conflict(`role '${args.role}' already exists`);
      const description = args.description.join(' ').slice(0, 200);
      await control.addCustomRole(args.role, description);
      return {
        kind: 'message',
        text: `created role ${args.role} (no permissions yet: role grant ${args.role} PERMISSION)`,
        json: { role: args.role, description },
      };
    },
  });

  const roleRm = defineCommand({
    path: ['role', 'rm'],
    summary: 'Remove a custom role (no user may hold it, no open invite may give it)',
    args: z.object({ role: z.string().min(1) }),
    positionals: ['role'],
    permission: 'admin.users',
    mutating: true,
    destructive: true,
    results: ['message'],
    authorize(ctx, args) {
      delegation.requireRoleWithin(ctx, requireRole(args.role), `remove role ${args.role}`);
    },
    async run(ctx, args) {
      requireRole(args.role);
      if (isRole(args.role)) throw new UsageError(`'${args.role}' is a built-in role and stays`);
      const holders = await usersWithRole(args.role);
      if (holders) throw new Conflict(`${holders} user(s) hold role '${args.role}': give them another role first (user role NAME ROLE)`);
      // An open invite would otherwise sign someone up with a role that no longer exists (issue #24 item 13).
      const now = ctx.clock.now();
      const open = (await store.invites()).filter((i) => i.role === args.role && i.usesLeft > 0 && (!i.expiresAt || i.expiresAt.getTime() > now.getTime()));
      if (open.length)
        throw new Conflict(
          `open invite(s) ${open.map((i) => i.id).join(', ')} give role '${args.role}': remove them first (invite rm ID) or wait until they expire`,
        );
      await control.removeCustomRole(args.role);
      return { kind: 'message', text: `removed role ${args.role}`, json: { role: args.role, removed: true } };
    },
  });

  const changeRole = (grant: boolean) =>
    defineCommand({
      path: ['role', grant ? 'grant' : 'revoke'],
      summary: grant ? 'Give a role a permission (counts from the next command on)' : 'Take a permission from a role (counts from the next command on)',
      args: z.object({ role: z.string().min(1), permission: z.string().min(1).describe('e.g. git.write; role show ROLE lists them') }),
      positionals: ['role', 'permission'],
      permission: 'admin.users',
      mutating: true,
      results: ['message'],
      authorize(ctx, args) {
        const role = requireRole(args.role);
        const permission = requirePermission(args.permission);
        if (grant) delegation.requireHeld(ctx, [permission], `grant ${permission} to role ${role}`);
        delegation.requireRoleWithin(ctx, role, `change role ${role}`);
      },
      async run(_ctx, args) {
        const role = requireRole(args.role);
        const permission = requirePermission(args.permission);
        if (!grant && role === 'admin' && permission === ADMIN_PERMISSION)
          throw new UsageError(`the admin role keeps ${ADMIN_PERMISSION}: without it nobody could undo this`);
        const inSeed = control.seedTable().get(role)?.has(permission) ?? false;
        await control.setRoleChange(role, permission, grant === inSeed ? null : grant ? 'grant' : 'revoke');
        const held = control.rolePermissions(role).has(permission);
        return {
          kind: 'message',
          text: `${role} ${held ? 'now holds' : 'no longer holds'} ${permission}`,
          json: { role, permission, held },
        };
      },
    });

  const changeUser = (effect: 'allow' | 'deny' | null) =>
    defineCommand({
      path: ['user', effect === 'allow' ? 'grant' : effect === 'deny' ? 'deny' : 'clear'],
      summary:
        effect === 'allow'
          ? 'Grant one user a permission their role lacks'
          : effect === 'deny'
            ? 'Deny one user a permission, whatever their role grants (deny beats allow)'
            : "Clear a user's own grant or denial of a permission (back to what the role says)",
      args: z.object({ name: z.string().min(1), permission: z.string().min(1).describe('e.g. git.write') }),
      positionals: ['name', 'permission'],
      permission: 'admin.users',
      mutating: true,
      results: ['message'],
      async authorize(ctx, args) {
        const user = await identities.requireUser(args.name);
        const permission = requirePermission(args.permission);
        if (effect === 'deny' && permission === ADMIN_PERMISSION && user.id === ctx.actor.userId)
          throw new UsageError(`you cannot deny yourself ${ADMIN_PERMISSION}: nobody might be left to undo it`);
        if (effect === 'deny') delegation.protectInitialAdmin(user, `denied ${permission}`);
        // Clearing a denial gives back what the role grants: a grant like any other.
        else delegation.requireHeld(ctx, [permission], `${effect === 'allow' ? 'grant' : 'clear'} ${permission} for ${user.name}`);
        await delegation.requireAccountWithin(ctx, user, `change the grants of ${user.name}`);
      },
      async run(ctx, args) {
        const user = await identities.requireUser(args.name);
        const permission = requirePermission(args.permission);
        if (effect === 'deny' && permission === ADMIN_PERMISSION && user.id === ctx.actor.userId)
          throw new UsageError(`you cannot deny yourself ${ADMIN_PERMISSION}: nobody might be left to undo it`);
        const changed = await control.setUserGrant(user.id, permission, effect);
        if (effect === null && !changed) throw new NotFound(`${user.name} has no grant or denial of ${permission} of their own`);
        const held = control.can({ userId: user.id, role: user.role }, permission);
        const how = effect === 'allow' ? 'granted' : effect === 'deny' ? 'denied' : 'back to their role for';
        return {
          kind: 'message',
          text: `${user.name}: ${how} ${permission} (${held ? 'holds it' : 'does not hold it'} now)`,
          json: { name: user.name, permission, grant: effect, held },
        };
      },
    });

  const setDisabled = (disable: boolean) =>
    defineCommand({
      path: ['user', disable ? 'disable' : 'enable'],
      summary: disable ? 'Disable an account: it keeps its keys and data, logs in no more, and its open connections close' : 'Enable a disabled account again',
      args: z.object({ name: z.string().min(1) }),
      positionals: ['name'],
      permission: 'admin.users',
      mutating: true,
      destructive: disable,
      results: ['message'],
      async authorize(ctx, args) {
        if (disable && args.name === ctx.actor.name) throw new UsageError('you cannot disable yourself');
        const user = await identities.requireUser(args.name);
        if (disable) delegation.protectInitialAdmin(user, 'disabled');
        await delegation.requireAccountWithin(ctx, user, `${disable ? 'disable' : 'enable'} ${user.name}`);
      },
      async run(ctx, args) {
        if (disable && args.name === ctx.actor.name) throw new UsageError('you cannot disable yourself');
        const user = await identities.setDisabled(args.name, disable ? ctx.clock.now() : null);
        return {
          kind: 'message',
          text: `${user.name} is ${disable ? 'disabled: it logs in no more' : 'enabled again'}`,
          json: { name: user.name, disabled: disable },
        };
      },
    });

  const userShow = defineCommand({
    path: ['user', 'show'],
    summary: 'Show a user: role (and what linked keys raise it to), permissions held, their own grants and denials, keys',
    args: z.object({ name: z.string().min(1) }),
    positionals: ['name'],
    permission: 'admin.users',
    mutating: false,
    results: ['record'],
    async run(ctx, args) {
      const user = await identities.requireUser(args.name);
      const grants = control.userGrants(user.id);
      const keys = await identities.keysOf(user.id);
      // Everything the account can do, with what a key linked by an OIDC login raises (its IdP groups):
      // never only the stored role while a key acts as more.
      const rights = await delegation.rightsOf(user, ctx.clock.now());
      const permissions = rights.permissions;
      const effectiveRole = rights.effectiveRole;
      const links = await identities.identitiesOf(user.id);
      return {
        kind: 'record',
        title: user.name,
        fields: [
          { label: 'name', value: user.name },
          { label: 'role', value: effectiveRole === user.role ? user.role : `${user.role}, acting as ${effectiveRole} through a linked key (see raised by)` },
          {
            label: 'raised by',
            value:
              rights.linked.map((l) => `${l.role}: key ${l.fingerprint} (IdP groups ${l.groups.join(', ')}) until ${l.until.toISOString()}`).join('\n') || '-',
          },
          { label: 'state', value: user.disabledAt ? `disabled since ${user.disabledAt.toISOString()}` : 'active' },
          { label: 'permissions', value: permissions.join(', ') || '-' },
          {
            label: 'granted',
            value:
              grants
                .filter((g) => g.effect === 'allow')
                .map((g) => g.permission)
                .join(', ') || '-',
          },
          {
            label: 'denied',
            value:
              grants
                .filter((g) => g.effect === 'deny')
                .map((g) => g.permission)
                .join(', ') || '-',
          },
          { label: 'keys', value: keys.map((k) => `${k.id} ${k.fingerprint}${k.comment ? ' ' + k.comment : ''}`).join('\n') || '-' },
          { label: 'identities', value: links.map((l) => `${l.provider}:${l.subject}`).join(', ') || '-' },
          { label: 'created', value: user.createdAt.toISOString() },
        ],
        json: {
          name: user.name,
          role: user.role,
          effectiveRole,
          raisedBy: rights.linked.map((l) => ({ key: l.fingerprint, role: l.role, groups: l.groups, until: l.until.toISOString() })),
          disabled: user.disabledAt !== null,
          permissions,
          rolePermissions: control.permissionsOf({ userId: user.id, role: user.role }),
          grants,
          keys: keys.map((k) => ({ id: k.id, fingerprint: k.fingerprint, algo: k.algo, comment: k.comment, lastUsed: k.lastUsedAt?.toISOString() ?? null })),
          identities: links.map((l) => ({ provider: l.provider, subject: l.subject })),
          createdAt: user.createdAt.toISOString(),
        },
      };
    },
  });

  return [
    roleLs,
    roleShow,
    roleCreate,
    roleRm,
    changeRole(true),
    changeRole(false),
    changeUser('allow'),
    changeUser('deny'),
    changeUser(null),
    setDisabled(true),
    setDisabled(false),
    userShow,
  ];
}
