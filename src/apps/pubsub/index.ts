import type { LabdModule } from '../../ops/module.ts';
import type { TuiApp } from '../../ssh/tui/apps.ts';
import type { TopicBroker } from './broker.ts';
import { pubsubCommands } from './commands.ts';
import { pubsubTui } from './tui.ts';

/** Pub/sub over SSH (pico's pipe semantics): `pub`, `sub`, `pipe`, `topics`, and a TUI screen. */
export function pubsubModule(deps: { broker: TopicBroker }): LabdModule<TuiApp> {
  return {
    name: 'pubsub',
    permissions: [{ name: 'pubsub', summary: 'publish and subscribe to topics', roles: ['admin', 'operator', 'member'] }],
    commands: pubsubCommands(deps.broker),
    screens: [pubsubTui(deps.broker)],
  };
}
