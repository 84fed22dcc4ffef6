import { parseDuration } from '../../core/duration.ts';
import type { LabdApp } from '../index.ts';
import { pasteCommands } from './commands.ts';
import { registerPasteRoutes } from './routes.ts';
import { PasteStore } from './store.ts';
import { pasteTuiApp } from './tui.ts';

/** The pastebin: `paste` commands, the /p/USER/NAME pages, a TUI screen, and the expiry sweeper. */
export const pasteApp: LabdApp = {
  name: 'paste',
  install(host) {
    const { db, config, clock, log } = host.services;
    const store = new PasteStore(db, config.dataDir, clock);
    store.prepare();
    host.registry.register(...pasteCommands({ store, publicUrl: host.publicUrl }));
    registerPasteRoutes(host.http, store, clock);
    host.tui.register(pasteTuiApp);

    const sweep = () => {
      try {
        const { expired, orphans } = store.sweep();
        if (expired || orphans) log.info({ expired, orphans }, 'paste sweep removed files');
      } catch (err) {
        log.error({ err }, 'paste sweep failed');
      }
    };
    sweep();
    const timer = setInterval(sweep, parseDuration(config.paste.sweepInterval) * 1000);
    timer.unref();
    host.onStop(() => clearInterval(timer));
  },
};
