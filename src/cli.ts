import { ConfigError, loadConfig } from './config/load.ts';
import type { Config } from './config/schema.ts';
import { createLogger } from './core/logger.ts';
import { openDatabase } from './db/engine.ts';
import { redactDatabaseUrl } from './db/database-url.ts';
import { collectStartupGarbage, resumeOptimizingCompilers } from './core/v8-tuning.ts';
import { startLabd } from './app.ts';
import { parseArgs } from 'node:util';
import { VERSION } from './version.ts';

const USAGE = `usage: labd COMMAND

commands:
  serve      run the service (SSH, HTTP) on the configured addresses
  migrate    apply database migrations and exit (labd migrate --help: also moving a lab to PostgreSQL)
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

const MIGRATE_USAGE = `usage: labd migrate
       labd migrate --from-sqlite DATA_DIR [--to postgres://USER:PASSWORD@HOST/DB] [--json]

Without options: applies the migrations to the configured database (SQLite in the data dir, or
PostgreSQL when database.url / LABD_DATABASE_URL is set) and exits.

--from-sqlite DATA_DIR   copy the lab in DATA_DIR/labd.db (migrated to the latest schema first) into
                         an EMPTY PostgreSQL database (migrated first), every table in one
                         transaction: on any failure nothing is copied. Stop labd first.
--to URL                 the PostgreSQL database (TLS: ?sslmode=verify-full&sslrootcert=FILE);
                         default database.url (LABD_DATABASE_URL), which keeps the password off
                         the command line
--json                   print the rows copied per table as JSON

Exit codes: 0 copied, 1 failed (nothing copied), 2 usage, 3 the target holds rows (nothing copied).`;

async function migrateCommand(args: string[]): Promise<void> {
  let opts;
  try {
    opts = parseArgs({
      args,
      options: { 'from-sqlite': { type: 'string' }, to: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: false,
    }).values;
  } catch (err) {
    process.stderr.write(`labd migrate: ${(err as Error).message}\n${MIGRATE_USAGE}\n`);
    process.exit(2);
  }
  if (opts.help) {
    process.stdout.write(MIGRATE_USAGE + '\n');
    return;
  }
  const from = opts['from-sqlite'];
  if (from === undefined) {
    if (opts.to !== undefined || opts.json) {
      process.stderr.write(`labd migrate: --to and --json go with --from-sqlite\n${MIGRATE_USAGE}\n`);
      process.exit(2);
    }
    const cfg = config();
    try {
      const database = await openDatabase({ dataDir: cfg.dataDir, url: cfg.database.url, poolSize: 1 });
      await database.close();
      process.stdout.write(`migrations applied to ${database.where}\n`);
    } catch (err) {
      process.stderr.write(`labd migrate: ${(err as Error).message}\n`);
      process.exit(1);
    }
    return;
  }
  const url = opts.to ?? config().database.url;
  if (!url) {
    process.stderr.write(`labd migrate: --from-sqlite needs --to postgres://… (or database.url / LABD_DATABASE_URL)\n`);
    process.exit(2);
  }
  if (!/^postgres(ql)?:\/\//.test(url)) {
    process.stderr.write(`labd migrate: --to must be a postgres:// URL, not ${redactDatabaseUrl(url)}\n`);
    process.exit(2);
  }
  const json = opts.json === true;
  // Loaded here: it brings the PostgreSQL driver, which `labd serve` on SQLite never needs.
  const { migrateFromSqlite, TargetNotEmptyError } = await import('./db/migrate-from-sqlite.ts');
  try {
    const r = await migrateFromSqlite({
      dataDir: from,
      url,
      onTable: json ? undefined : (table, rows) => process.stdout.write(`  ${table.padEnd(24)} ${rows}\n`),
    });
    if (json)
      process.stdout.write(
        JSON.stringify({ source: r.source, target: r.target, tables: Object.fromEntries(r.tables.map((t) => [t.table, t.rows])), total: r.total }) + '\n',
      );
    else process.stdout.write(`copied ${r.total} rows in ${r.tables.length} tables from ${r.source} to ${r.target}\n`);
  } catch (err) {
    process.stderr.write(`labd migrate: ${(err as Error).message}${err instanceof TargetNotEmptyError ? '' : ' (nothing was copied)'}\n`);
    process.exit(err instanceof TargetNotEmptyError ? 3 : 1);
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
      // After the signal handlers: a Ctrl-C right after "labd listening" must find them in place.
      resumeOptimizingCompilers();
      collectStartupGarbage();
      return;
    }
    case 'migrate':
      await migrateCommand(argv.slice(1));
      return;
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
