import { ConfigError, loadConfig } from './config/load.ts';
import type { Config } from './config/schema.ts';
import { createLogger } from './core/logger.ts';
import { migrateDb, openDb } from './db/client.ts';
import { startLabd } from './app.ts';
import { VERSION } from './version.ts';

const USAGE = `usage: labd COMMAND

commands:
  serve      run the service (SSH, HTTP) on the configured addresses
  migrate    apply database migrations and exit
  version    print the version

Configuration: an optional YAML file named by LABD_CONFIG, and LABD_* environment variables (see README).`;

function config(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`labd: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

async function main(argv: string[]): Promise<void> {
  const command = argv[0] ?? 'serve';
  switch (command) {
    case 'serve': {
      // A closed log pipe (e.g. `labd serve | head`) must neither crash the service nor make every log line another error.
      process.stdout.on('error', () => {});
      const cfg = config();
      const log = createLogger(cfg.log.level, process.stdout, cfg.log.format);
      let labd;
      try {
        labd = await startLabd(cfg, log);
      } catch (err) {
        process.stderr.write(`labd: ${(err as Error).message}\n`);
        process.exit(1);
      }
      process.on('uncaughtException', (err) => {
        if ((err as NodeJS.ErrnoException).code === 'EPIPE') return;
        log.error({ err }, 'uncaught exception (kept running)');
      });
      process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection (kept running)'));
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        log.info({ signal }, 'shutting down');
        labd.stop().then(
          () => {
            log.info('stopped');
            process.exit(0);
          },
          (err: unknown) => {
            log.error({ err }, 'stopped, with an error while stopping');
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
      return;
    }
    case 'migrate': {
      const cfg = config();
      const db = openDb(cfg.dataDir);
      migrateDb(db);
      db.$client.close();
      process.stdout.write(`migrations applied to ${cfg.dataDir}/labd.db\n`);
      return;
    }
    case 'version':
    case '--version':
      process.stdout.write(`labd ${VERSION}\n`);
      return;
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE + '\n');
      return;
    default:
      process.stderr.write(`labd: unknown command '${command}'\n${USAGE}\n`);
      process.exit(2);
  }
}

await main(process.argv.slice(2));
