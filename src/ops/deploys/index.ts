/** The deploy commands, on the cluster port and the ops events bus. */
import type { OpsEventsPort } from '../events/index.ts';
import type { KubePort } from '../kube/index.ts';
import type { LabdModule } from '../module.ts';
import { withBackend } from '../backends.ts';
import { deployCommands } from './commands.ts';

export function deploysModule(deps: { kube: KubePort; events: Pick<OpsEventsPort, 'emit'> }): LabdModule {
  return {
    name: 'deploys',
    permissions: [
      { name: 'ops.read', summary: 'read the cluster, deploys, alerts and seats', roles: ['admin', 'operator'] },
      { name: 'ops.deploy', summary: 'deploy, restart and roll back workloads', roles: ['admin', 'operator'] },
    ],
    commands: withBackend('kubernetes', deployCommands(deps.kube, deps.events)),
  };
}
