/** Access management (issue #14): roles and grants at run time, invites and sign-up by key. */
import type { IdentityStore } from '../identity/store.ts';
import type { LabdModule } from '../module.ts';
import type { Transactions } from '../storage.ts';
import { accessCommands } from './commands.ts';
import type { AccessControl } from './control.ts';
import type { Delegation } from './delegation.ts';
import { inviteCommands, type SignupConfig } from './invites.ts';
import type { AccessStore } from './store.ts';
import type { WrongCodeLog } from './wrong-codes.ts';

export { AccessControl } from './control.ts';
export { Delegation } from './delegation.ts';
export type { AccessStore } from './store.ts';

export function accessModule(deps: {
  control: AccessControl;
  store: AccessStore;
  identities: IdentityStore;
  signup: SignupConfig;
  wrongCodes: WrongCodeLog;
  delegation: Delegation;
  transactions: Transactions;
}): LabdModule {
  return {
    name: 'access',
    permissions: [{ name: 'admin.users', summary: 'manage users, roles, invites; read the audit log', roles: ['admin'] }],
    commands: [...accessCommands(deps), ...inviteCommands(deps)],
  };
}
