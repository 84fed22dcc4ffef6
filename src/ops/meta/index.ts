/** help and version. */
import type { LabdModule } from '../module.ts';
import { metaCommands } from './commands.ts';

export function metaModule(deps: { version: string }): LabdModule {
  return { name: 'meta', commands: metaCommands(deps.version) };
}
