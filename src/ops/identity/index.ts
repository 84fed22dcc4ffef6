/** Accounts: whoami, keys, users. */
import type { Delegation } from '../access/delegation.ts';
import type { LabdModule } from '../module.ts';
import { identityCommands } from './commands.ts';
import type { InitialAdmin, RoleNames } from './commands.ts';
import type { IdentityStore } from './store.ts';
import { oidcCommands } from './oidc-commands.ts';
import type { OidcLogin } from './oidc-login.ts';

export function identityModule(deps: {
  identities: IdentityStore;
  initialAdmin: InitialAdmin;
  roles: RoleNames;
  delegation: Delegation;
  oidc?: OidcLogin;
}): LabdModule {
  return {
    name: 'identity',
    permissions: [{ name: 'admin.users', summary: 'manage users, roles, invites; read the audit log', roles: ['admin'] }],
    commands: [
      ...identityCommands(deps.identities, deps.initialAdmin, deps.roles, deps.delegation),
      ...(deps.oidc ? oidcCommands(deps.oidc, deps.identities) : []),
    ],
  };
}
