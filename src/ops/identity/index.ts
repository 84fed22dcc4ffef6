/** Accounts: whoami, keys, users. */
import type { LabdModule } from '../module.ts';
import { identityCommands } from './commands.ts';
import type { InitialAdmin } from './commands.ts';
import type { IdentityStore } from './store.ts';

export function identityModule(deps: { identities: IdentityStore; initialAdmin: InitialAdmin }): LabdModule {
  return { name: 'identity', commands: identityCommands(deps.identities, deps.initialAdmin) };
}
