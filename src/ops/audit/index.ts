/** The audit log's reader (`audit`); the registry writes it. */
import type { LabdModule } from '../module.ts';
import { auditCommands } from './commands.ts';
import type { AuditLog } from './store.ts';

export type { AuditLog, AuditEntry } from './store.ts';

export function auditModule(deps: { audit: AuditLog }): LabdModule {
  return {
    name: 'audit',
    permissions: [{ name: 'admin.users', summary: 'manage users, roles, invites; read the audit log', roles: ['admin'] }],
    commands: auditCommands(deps.audit),
  };
}
