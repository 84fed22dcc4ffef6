import type { LabdApp } from '../index.ts';
import { TopicBroker } from './broker.ts';
import { pubsubCommands } from './commands.ts';
import { pubsubTui } from './tui.ts';

/** Pub/sub over SSH (pico's pipe semantics): `pub`, `sub`, `pipe`, `topics`, and a TUI screen. */
export const pubsubApp: LabdApp = {
  name: 'pubsub',
  install(host) {
    const { subscriberBuffer, maxTopicsPerUser, maxBufferedBytes } = host.services.config.pubsub;
    const broker = new TopicBroker({ subscriberBuffer, maxTopicsPerUser, maxBufferedBytes });
    host.registry.register(...pubsubCommands(broker));
    host.tui.register(pubsubTui(broker));
  },
};
