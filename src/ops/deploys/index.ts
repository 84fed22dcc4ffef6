/** Installs the deploy commands, wired to the cluster port built from config. */
import type { LabdApp } from '../../apps/index.ts';
import { eventsFor } from '../events/index.ts';
import { kubeFor } from '../kube/index.ts';
import { withBackend } from '../backends.ts';
import { deployCommands } from './commands.ts';

export const deploysModule: LabdApp = {
  name: 'deploys',
  install(host) {
    host.registry.register(...withBackend('kubernetes', deployCommands(kubeFor(host.services), eventsFor(host.services))));
  },
};
