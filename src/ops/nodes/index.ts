/** The node commands, the pixiecore boot route and the join watcher, on the cluster port and the inventory. */
import type { Config } from '../../config/schema.ts';
import type { Logger } from '../../core/logger.ts';
import type { OpsEventsPort } from '../events/index.ts';
import type { KubePort } from '../kube/index.ts';
import type { LabdModule } from '../module.ts';
import { withBackend } from '../backends.ts';
import { bootRoute } from './boot.ts';
import { nodeCommands } from './commands.ts';
import type { NodeInventory } from './inventory.ts';
import { JoinWatcher } from './joiner.ts';
import { lifecycleCommands } from './lifecycle.ts';

export function nodesModule(deps: { kube: KubePort; inventory: NodeInventory; events: OpsEventsPort; config: Config['nodes']; log: Logger }): LabdModule {
  const { kube, inventory, config, log } = deps;
  const watcher = new JoinWatcher(kube, inventory, log, config.joinPollInterval.ms, deps.events);
  return {
    name: 'nodes',
    permissions: [
      { name: 'ops.read', summary: 'read the cluster, deploys, alerts and seats', roles: ['admin', 'operator'] },
      { name: 'ops.nodes', summary: 'provision, cordon and remove nodes', roles: ['admin', 'operator'] },
    ],
    commands: withBackend('kubernetes', [...nodeCommands(kube), ...lifecycleCommands(kube, inventory, config)]),
    routes: [bootRoute(inventory, config, log)],
    jobs: [{ name: 'node join watcher', start: () => watcher.start(), stop: () => watcher.stop() }],
  };
}
