import type { Config } from '../../config/schema.ts';
import type { Logger } from '../../core/logger.ts';
import type { Clock } from '../../core/clock.ts';
import { intervalJob, type LabdModule } from '../../ops/module.ts';
import type { Registry } from '../../ops/registry.ts';
import type { TokenActors } from '../../ops/tokens/actor.ts';
import type { TuiApp } from '../../ssh/tui/apps.ts';
import { crmCommands } from './commands.ts';
import { carddav } from './dav.ts';
import type { CrmStore } from './store.ts';
import { sendReminders, type ReminderChannel } from './reminders.ts';
import { crmTuiApp } from './tui.ts';

/** The personal CRM: `crm …` commands over each user's own address book, and CardDAV at /dav/. */
export function crmModule(deps: {
  store: CrmStore;
  /** CardDAV requests authenticate with app tokens, resolved to their user's actor at every request. */
  tokenActors: TokenActors;
  /** Runs each CardDAV request as a command (`carddav put`, …): authorized, measured and audited there. */
  registry: Pick<Registry, 'invoke'>;
  config: Config['crm'];
  clock: Clock;
  log: Logger;
  /** Where daily reminders can go (the Matrix bot, Apprise); none: no reminders. */
  reminderChannels: ReminderChannel[];
}): LabdModule<TuiApp> {
  const channels = deps.reminderChannels;
  const limits = { quota: deps.config.quota, maxCardBytes: deps.config.maxCardBytes };
  const dav = carddav({
    registry: deps.registry,
    store: deps.store,
    tokens: deps.tokenActors,
    region: deps.config.defaultRegion,
    log: deps.log,
    limits,
    syncPageSize: deps.config.syncPageSize,
  });
  let running = false;
  const tick = () => {
    if (running) return;
    running = true;
    sendReminders({ store: deps.store, clock: deps.clock, log: deps.log, remindAt: deps.config.remindAt, channels })
      .then((n) => n && deps.log.info({ sent: n }, 'crm reminders sent'))
      .catch((err: unknown) => deps.log.warn({ err: (err as Error).message }, 'crm reminders failed; trying again at the next check'))
      .finally(() => (running = false));
  };
  return {
    name: 'crm',
    permissions: [{ name: 'crm', summary: 'your personal CRM', roles: ['admin', 'operator', 'member'] }],
    jobs: channels.length ? [{ ...intervalJob('crm reminders', deps.config.reminderCheckInterval.ms, tick, true), singleton: true }] : [],
    commands: [
      ...crmCommands({
        store: deps.store,
        region: deps.config.defaultRegion,
        maxImportBytes: deps.config.maxImportBytes,
        limits,
        reminderChannels: channels.map((c) => c.name),
      }),
      ...dav.commands,
    ],
    screens: [crmTuiApp],
    routes: dav.routes,
  };
}
