/** Installs the node commands, wired to the cluster port built from config, the pixiecore boot route and the join watcher. */
import type { LabdApp } from '../../apps/index.ts';
import { parseDuration } from '../../core/duration.ts';
import { eventsFor } from '../events/index.ts';
import { kubeFor } from '../kube/index.ts';
import { withBackend } from '../backends.ts';
import { bootRoute } from './boot.ts';
import { nodeCommands } from './commands.ts';
import { NodeInventory } from './inventory.ts';
import { JoinWatcher } from './joiner.ts';
import { lifecycleCommands } from './lifecycle.ts';

export const nodesModule: LabdApp = {
  name: 'nodes',
  install(host) {
    const { config, db, clock, log } = host.services;
    const kube = kubeFor(host.services);
    const inventory = new NodeInventory(db, clock);
    host.registry.register(...withBackend('kubernetes', [...nodeCommands(kube), ...lifecycleCommands(kube, inventory, config.nodes)]));
    host.http.route('GET', '/v1/boot/:mac', bootRoute(inventory, config.nodes, log));
    const watcher = new JoinWatcher(kube, inventory, log, parseDuration(config.nodes.joinPollInterval) * 1000, eventsFor(host.services));
    watcher.start();
    host.onStop(() => watcher.stop());
  },
};
