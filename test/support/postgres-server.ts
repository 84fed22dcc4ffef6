/**
 * A real PostgreSQL server for tests: Debian's postgresql-15 (`/usr/lib/postgresql/15/bin`), a fresh
 * cluster in a temp dir (a copy of one initdb made once, see clusterTemplate), listening on 127.0.0.1 on a free port (password auth, scram-sha-256) and on a
 * unix socket in that temp dir (trust). For what PGlite (test/support/pglite.ts) cannot show: several
 * connections and pools at once, the migration advisory lock, authentication, `labd migrate`.
 *
 * PostgreSQL refuses to run as root, and tests run as root here and in CI: as root the cluster is
 * made and run as an unprivileged user (LABD_TEST_PG_USER, default `nobody`) through `setpriv`,
 * which owns the temp dir; as any other user, as that user.
 *
 *   const pg = await startPostgresServer();   // throws PostgresUnavailable without postgresql-15
 *   await pg.createDatabase('t1');
 *   pg.url('t1')                              // postgres://postgres:PASSWORD@127.0.0.1:PORT/t1
 *   await pg.stop();
 *
 * Tests skip with POSTGRES_SKIP (a reason, or undefined when the server can be started):
 *   describe.skipIf(POSTGRES_SKIP)(...)
 *
 * By hand: `node --import tsx test/support/postgres-server.ts [DBNAME]` starts one, creates DBNAME
 * (default labd), prints its URL and waits; Ctrl-C stops it and removes its files.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

export const PG_BIN = process.env.LABD_TEST_PG_BIN ?? '/usr/lib/postgresql/15/bin';

/** Why tests that need the server are skipped, or undefined when postgresql-15 is installed. */
export const POSTGRES_SKIP: string | undefined = ['initdb', 'postgres'].every((b) => existsSync(join(PG_BIN, b)))
  ? undefined
  : `PostgreSQL 15 is not installed (no ${PG_BIN}/initdb): apt-get install postgresql-15 (.ci/run does)`;

export class PostgresUnavailable extends Error {}

export interface PostgresServer {
  readonly port: number;
  /** The superuser's password (it is in url()). */
  readonly password: string;
  readonly user: string;
  /** The cluster's unix socket directory. */
  readonly socketDir: string;
  /** postgres://USER:PASSWORD@127.0.0.1:PORT/DB (TCP, password auth). */
  url(dbName: string, o?: { password?: string; user?: string }): string;
  createDatabase(name: string): Promise<void>;
  /** Fast shutdown, then the temp dir goes. */
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

interface RunAs {
  /** The command line that runs `cmd` as the cluster's user. */
  argv(cmd: string, args: string[]): [string, string[]];
  uid: number;
  gid: number;
  name: string;
}

function runAs(): RunAs {
  if (process.getuid?.() !== 0) {
    return { argv: (cmd, args) => [cmd, args], uid: process.getuid?.() ?? -1, gid: process.getgid?.() ?? -1, name: userInfo().username };
  }
  const name = process.env.LABD_TEST_PG_USER ?? 'nobody';
  const id = (flag: string) => {
    const r = spawnSync('id', [flag, name], { encoding: 'utf8' });
    if (r.status !== 0) throw new PostgresUnavailable(`no user ${name} to run PostgreSQL as (LABD_TEST_PG_USER): ${r.stderr.trim()}`);
    return Number(r.stdout.trim());
  };
  const uid = id('-u');
  const gid = id('-g');
  // setpriv execs the command itself (no process in between): signals reach postgres directly.
  return { argv: (cmd, args) => ['setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--', cmd, ...args]], uid, gid, name };
}

async function waitReady(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`postgres exited (${child.exitCode ?? child.signalCode}):\n${log()}`);
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
    try {
      await c.connect();
      await c.query('select 1');
      await c.end();
      return;
    } catch {
      await c.end().catch(() => undefined);
    }
    if (Date.now() > deadline) throw new Error(`postgres did not accept connections within 30 s:\n${log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** What initdb is run with; the template's name depends on it. */
function initdbArgs(dataDir: string, pwfile: string): string[] {
  return ['-D', dataDir, '-U', 'postgres', '--pwfile', pwfile, '--auth-local=trust', '--auth-host=scram-sha-256', '--encoding=UTF8', '--locale=C', '--no-sync'];
}

interface Template {
  dataDir: string;
  password: string;
}
let template: Template | undefined;

/**
 * A cluster made by initdb once on this machine, copied for each server (`cp -a`: owner and modes
 * kept): initdb took about a CPU-second and four seconds of wall time every time, a copy a third of
 * a second. It lives in the temp dir under a name made from the binaries, the user and initdb's
 * arguments, so test workers and later runs share it; a worker that loses the race to make it uses
 * the winner's. Every server so has the template's superuser password (in the template's dir).
 */
function clusterTemplate(as: RunAs): Template {
  if (template && existsSync(template.dataDir)) return template;
  const key = createHash('sha256')
    .update(JSON.stringify([PG_BIN, as.name, initdbArgs('', '')]))
    .digest('hex')
    .slice(0, 16);
  const home = join(tmpdir(), `labd-pg-template-${key}`);
  const read = (): Template | undefined =>
    existsSync(join(home, 'data', 'PG_VERSION')) && existsSync(join(home, 'password'))
      ? { dataDir: join(home, 'data'), password: readFileSync(join(home, 'password'), 'utf8').trim() }
      : undefined;
  template = read();
  if (template) return template;
  const dir = mkdtempSync(join(tmpdir(), 'labd-pg-template-new-'));
  try {
    const password = randomBytes(12).toString('hex');
    const pwfile = join(dir, 'pwfile');
    writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
    if (as.uid >= 0) for (const p of [dir, pwfile]) chownSync(p, as.uid, as.gid);
    chmodSync(dir, 0o700);
    const [initCmd, initArgs] = as.argv(join(PG_BIN, 'initdb'), initdbArgs(join(dir, 'data'), pwfile));
    const init = spawnSync(initCmd, initArgs, { encoding: 'utf8', cwd: dir });
    if (init.status !== 0) throw new Error(`initdb failed (${init.status}): ${init.stderr}${init.stdout}`);
    rmSync(pwfile);
    writeFileSync(join(dir, 'password'), `${password}\n`, { mode: 0o600 });
    try {
      renameSync(dir, home);
    } catch {
      // Another worker made it meanwhile: its template is as good.
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  template = read();
  if (!template) throw new Error(`no PostgreSQL template cluster in ${home}`);
  return template;
}

export async function startPostgresServer(): Promise<PostgresServer> {
  if (POSTGRES_SKIP) throw new PostgresUnavailable(POSTGRES_SKIP);
  const as = runAs();
  const { dataDir: templateDir, password } = clusterTemplate(as);
  const dir = mkdtempSync(join(tmpdir(), 'labd-pg-'));
  const dataDir = join(dir, 'data');
  const socketDir = join(dir, 'sock');
  mkdirSync(socketDir);
  if (as.uid >= 0) for (const p of [dir, socketDir]) chownSync(p, as.uid, as.gid);
  chmodSync(dir, 0o700);
  const user = 'postgres';
  let child: ChildProcess | undefined;
  const cleanupOnExit = () => child?.kill('SIGKILL');
  try {
    const copy = spawnSync('cp', ['-a', templateDir, dataDir], { encoding: 'utf8' });
    if (copy.status !== 0) throw new Error(`copying the template cluster failed (${copy.status}): ${copy.stderr}`);

    let lastErr: Error | undefined;
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = await freePort();
      let out = '';
      const [cmd, args] = as.argv(join(PG_BIN, 'postgres'), [
        '-D',
        dataDir,
        '-p',
        String(port),
        '-k',
        socketDir,
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'fsync=off',
        '-c',
        'synchronous_commit=off',
        '-c',
        'full_page_writes=off',
        '-c',
        'max_connections=200',
        '-c',
        'log_min_messages=warning',
      ]);
      child = spawn(cmd, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
      process.once('exit', cleanupOnExit);
      const url = (db: string, o: { password?: string; user?: string } = {}) =>
        `postgres://${encodeURIComponent(o.user ?? user)}:${encodeURIComponent(o.password ?? password)}@127.0.0.1:${port}/${encodeURIComponent(db)}`;
      try {
        await waitReady(url('postgres'), child, () => out);
      } catch (err) {
        lastErr = err as Error;
        child.kill('SIGKILL');
        process.off('exit', cleanupOnExit);
        if (/could not bind|Address already in use/i.test(out)) continue;
        throw err;
      }
      const proc = child;
      let stopped: Promise<void> | undefined;
      return {
        port,
        password,
        user,
        socketDir,
        url,
        async createDatabase(name) {
          const c = new pg.Client({ connectionString: url('postgres') });
          await c.connect();
          try {
            await c.query(`create database ${pg.escapeIdentifier(name)}`);
          } finally {
            await c.end();
          }
        },
        stop() {
          stopped ??= new Promise<void>((resolve) => {
            process.off('exit', cleanupOnExit);
            const done = () => {
              rmSync(dir, { recursive: true, force: true });
              resolve();
            };
            if (proc.exitCode !== null || proc.signalCode !== null) return done();
            const kill = setTimeout(() => proc.kill('SIGKILL'), 10_000);
            proc.once('exit', () => {
              clearTimeout(kill);
              done();
            });
            // SIGINT: fast shutdown (active connections are ended).
            proc.kill('SIGINT');
          });
          return stopped;
        },
      };
    }
    throw lastErr ?? new Error('postgres did not start');
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const name = process.argv[2] ?? 'labd';
  const server = await startPostgresServer();
  await server.createDatabase(name);
  process.stdout.write(`${server.url(name)}\n(socket dir ${server.socketDir}; Ctrl-C stops the server and removes its files)\n`);
  const stop = () => void server.stop().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
