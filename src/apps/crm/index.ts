import type { Config } from '../../config/schema.ts';
import type { LabdModule } from '../../ops/module.ts';
import { crmCommands } from './commands.ts';
import type { CrmStore } from './store.ts';

/** The personal CRM: `crm …` commands over each user's own address book. */
export function crmModule<Screen = never>(deps: { store: CrmStore; config: Config['crm'] }): LabdModule<Screen> {
  return {
    name: 'crm',
    commands: crmCommands({ store: deps.store, region: deps.config.defaultRegion, maxImportBytes: deps.config.maxImportBytes }),
  };
}
