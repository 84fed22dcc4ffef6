/** Accounts: whoami, keys, users. */
import type { LabdModule } from '../module.ts';
import { identityCommands } from './commands.ts';
import type { InitialAdmin } from './commands.ts';
import type { IdentityStore } from './store.ts';
import { oidcCommands } from './oidc-commands.ts';
import type { OidcLogin } from './oidc-login.ts';

export function identityModule(deps: { identities: IdentityStore; initialAdmin: InitialAdmin; oidc?: OidcLogin }): LabdModule {
  return {
    name: 'identity',
    commands: [...identityCommands(deps.identities, deps.initialAdmin), ...(deps.oidc ? oidcCommands(deps.oidc, deps.identities) : [])],
  };
}
