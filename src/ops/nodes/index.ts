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
  let watcher: JoinWatcher | undefined;
  return {
    name: 'nodes',
    permissions: [
      { name: 'ops.read', summary: 'read the cluster, deploys, alerts and seats', roles: ['admin', 'operator'] },
      { name: 'ops.nodes', summary: 'provision, cordon and remove nodes', roles: ['admin', 'operator'] },
    ],
    commands: withBackend('kubernetes', [...nodeCommands(kube), ...lifecycleCommands(kube, inventory, config)]),
    routes: [bootRoute(inventory, config, log)],
    // One watcher per run (a stopped one stays stopped): it runs on the leader only, so node.joined is emitted once.
    jobs: [
      {
        name: 'node join watcher',
        singleton: true,
        start: () => (watcher = new JoinWatcher(kube, inventory, log, config.joinPollInterval.ms, deps.events)).start(),
        stop: () => watcher?.stop(),
      },
    ],
  };
}
