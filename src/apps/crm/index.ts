import type { Config } from '../../config/schema.ts';
import type { Logger } from '../../core/logger.ts';
import type { LabdModule } from '../../ops/module.ts';
import type { TokenStore } from '../../ops/tokens/store.ts';
import type { TuiApp } from '../../ssh/tui/apps.ts';
import { crmCommands } from './commands.ts';
import { davRoutes } from './dav.ts';
import type { CrmStore } from './store.ts';
import { crmTuiApp } from './tui.ts';

/** The personal CRM: `crm …` commands over each user's own address book, and CardDAV at /dav/. */
export function crmModule(deps: { store: CrmStore; tokens: TokenStore; config: Config['crm']; log: Logger }): LabdModule<TuiApp> {
  return {
    name: 'crm',
    commands: crmCommands({ store: deps.store, region: deps.config.defaultRegion, maxImportBytes: deps.config.maxImportBytes }),
    screens: [crmTuiApp],
    routes: davRoutes({ store: deps.store, tokens: deps.tokens, region: deps.config.defaultRegion, log: deps.log }),
  };
}
