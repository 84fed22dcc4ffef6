/** The seat and key-rotation commands, on the cluster port and the seat store. */
import type { Config } from '../../config/schema.ts';
import type { KubePort } from '../kube/index.ts';
import type { LabdModule } from '../module.ts';
import type { NodeInventory } from '../nodes/inventory.ts';
import { withBackend } from '../backends.ts';
import { seatCommands } from './commands.ts';
import { joinTokenCommands } from './join-tokens.ts';
import type { SeatStore } from './store.ts';

export function seatsModule(deps: { kube: KubePort; seats: SeatStore; inventory: NodeInventory; config: Config['seats'] }): LabdModule {
  // Seat commands check their own section first (seats.endpoint, then the cluster), and `seat ls` reads
  // only labd's store: they carry no backend mark, so their one-line hint names what is missing.
  return {
    name: 'seats',
    permissions: [
      { name: 'ops.read', summary: 'read the cluster, deploys, alerts and seats', roles: ['admin', 'operator'] },
      { name: 'ops.keys', summary: 'WireGuard seats and rotating keys and join tokens', roles: ['admin', 'operator'] },
    ],
    commands: [...seatCommands(deps.kube, deps.seats, deps.config), ...withBackend('kubernetes', joinTokenCommands(deps.kube, deps.inventory))],
  };
}
