import type { Clock } from '../../core/clock.ts';
import type { Highlighter } from '../../core/highlight/index.ts';
import type { Logger } from '../../core/logger.ts';
import type { Config } from '../../config/schema.ts';
import type { IdentityStore } from '../../ops/identity/store.ts';
import { intervalJob, type LabdModule } from '../../ops/module.ts';
import type { Registry } from '../../ops/registry.ts';
import type { TuiApp } from '../../ssh/tui/apps.ts';
import { pasteCommands } from './commands.ts';
import { pasteRoutes } from './routes.ts';
import type { PasteStore } from './store.ts';
import { pasteTuiApp } from './tui.ts';

/** The pastebin: `paste` commands, the /p/USER/NAME pages, a TUI screen, and the expiry sweeper. */
export function pasteModule(deps: {
  registry: Pick<Registry, 'invoke'>;
  store: PasteStore;
  identities: IdentityStore;
  config: Config['paste'];
  publicUrl: string;
  highlighter: Highlighter;
  clock: Clock;
  log: Logger;
}): LabdModule<TuiApp> {
  const { store, config, log } = deps;
  const sweep = () => {
    store.sweep().then(
      ({ expired, orphans }) => {
        if (expired || orphans) log.info({ expired, orphans }, 'paste sweep removed files');
      },
      (err: unknown) => log.error({ err }, 'paste sweep failed'),
    );
  };
  return {
    name: 'paste',
    permissions: [{ name: 'paste', summary: 'create, list and remove your pastes', roles: ['admin', 'operator', 'member'] }],
    commands: pasteCommands({
      store,
      identities: deps.identities,
      publicUrl: deps.publicUrl,
      maxSize: config.maxSize,
      quota: config.quota,
      defaultExpirySeconds: config.defaultExpiry === 'none' ? null : config.defaultExpiry.seconds,
    }),
    routes: pasteRoutes({ registry: deps.registry, store, highlighter: deps.highlighter, clock: deps.clock }),
    screens: [pasteTuiApp],
    jobs: [{ ...intervalJob('paste sweeper', config.sweepInterval.ms, sweep, true), singleton: true }],
  };
}
