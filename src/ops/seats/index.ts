/** Installs the seat and key-rotation commands, wired to the cluster port and labd's database. */
import type { LabdApp } from '../../apps/index.ts';
import { kubeFor } from '../kube/index.ts';
import { withBackend } from '../backends.ts';
import { seatCommands } from './commands.ts';
import { joinTokenCommands } from './join-tokens.ts';
import { SeatStore } from './store.ts';

export const seatsModule: LabdApp = {
  name: 'seats',
  install(host) {
    const kube = kubeFor(host.services);
    host.registry.register(...withBackend('kubernetes', [...seatCommands(kube, new SeatStore(host.services.db)), ...joinTokenCommands(kube)]));
  },
};
