/** One process without a shared database: it is the only replica, so it is always the leader (labd's behaviour before #21). */
import { LeaderListeners, type Leadership } from './port.ts';

export function singleLeadership(identity: string): Leadership {
  let leader = false;
  const listeners = new LeaderListeners(() => {});
  return {
    engine: 'single',
    identity,
    isLeader: () => leader,
    onChange: (l) => listeners.add(l),
    start() {
      if (leader) return;
      leader = true;
      listeners.emit(true);
    },
    async stop() {
      if (!leader) return;
      leader = false;
      listeners.emit(false);
    },
  };
}
