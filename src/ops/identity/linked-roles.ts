/**
 * The role a key linked by an OIDC login carries on top of its account's stored role: its IdP groups
 * grant roles (auth.oidc.groupRoles) for as long as the link lasts. One place answers it, so the login
 * (LoginService.byKey), `user show` and the delegation rules (src/ops/access) never disagree about
 * what an account can do (issue #24 item 7: no hidden effective role).
 */
import { higherRole, type Role } from '../../core/permissions.ts';
import type { IdentityStore, SshKeyRow } from './store.ts';

/** auth.oidc.groupRoles as a lookup (empty when OIDC is off: no group grants anything). */
export type GroupRoles = ReadonlyMap<string, Role>;

/** A linked key that raises its account's role while its link lasts. */
export interface LinkedRole {
  keyId: number;
  fingerprint: string;
  role: Role;
  groups: string[];
  until: Date;
}

/** The role a key's IdP groups grant now, or undefined (no claims, no group maps to a role, or the link expired). */
export function linkedKeyRole(key: Pick<SshKeyRow, 'claims' | 'expiresAt'>, groupRoles: GroupRoles, now: Date): Role | undefined {
  if (!key.claims || !key.expiresAt || key.expiresAt.getTime() <= now.getTime()) return undefined;
  let role: Role = 'guest';
  for (const g of key.claims.groups) {
    const mapped = groupRoles.get(g);
    if (mapped) role = higherRole(role, mapped);
  }
  return role === 'guest' ? undefined : role;
}

/** Every key of a user whose link grants a role now. */
export async function linkedRolesOf(identities: IdentityStore, userId: number, groupRoles: GroupRoles, now: Date): Promise<LinkedRole[]> {
  if (!groupRoles.size) return [];
  const out: LinkedRole[] = [];
  for (const k of await identities.keysOf(userId)) {
    const role = linkedKeyRole(k, groupRoles, now);
    if (role) out.push({ keyId: k.id, fingerprint: k.fingerprint, role, groups: k.claims!.groups, until: k.expiresAt! });
  }
  return out;
}
