/** Installs the node commands, wired to the cluster port built from config. */
import type { LabdApp } from '../../apps/index.ts';
import { kubeFor } from '../kube/index.ts';
import { nodeCommands } from './commands.ts';

export const nodesModule: LabdApp = {
  name: 'nodes',
  install(host) {
    host.registry.register(...nodeCommands(kubeFor(host.services)));
  },
};
