/**
 * Test harness: boots the real labd (`node dist/main.js serve`, as `npm start` runs it) on free loopback ports with a
 * throw-away data dir, a CA made by ssh-keygen, and drives it with the real OpenSSH client.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { sshClientOptions } from './ssh-options.ts';
import { LABD_NODE_FLAGS } from '../../scripts/node-flags.mjs';

export const ROOT = resolve(import.meta.dirname, '../..');

/**
 * The Node flags labd is started with: the ones users run (scripts/node-flags.mjs), or, for a bench
 * comparing flags, LABD_BENCH_NODE_FLAGS (space-separated; empty: none).
 */
export function labdNodeFlags(): string[] {
  const override = process.env.LABD_BENCH_NODE_FLAGS;
  return override === undefined ? [...LABD_NODE_FLAGS] : override.split(/\s+/).filter(Boolean);
}

/**
 * Settings a bench comparing labd's own settings adds to every labd it starts: LABD_BENCH_ENV,
 * space-separated NAME=value pairs of LABD_ variables (e.g. "LABD_SSH_UNACKED_LIMIT=off").
 */
export function labdBenchEnv(): Record<string, string> {
  const pairs = (process.env.LABD_BENCH_ENV ?? '').split(/\s+/).filter(Boolean);
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const m = /^(LABD_[A-Z0-9_]+)=(.*)$/.exec(pair);
    if (!m) throw new Error(`LABD_BENCH_ENV: expected NAME=value with a LABD_ name, got ${pair}`);
    env[m[1]!] = m[2]!;
  }
  return env;
}

let distChecked = false;

/**
 * `node FLAGS dist/main.js ARGS…`: labd compiled, as `npm start` runs it (a tsx start compiled all of
 * src/ again in every spawned labd, a second or more of CPU each). dist/ is rebuilt first when src/
 * changed since the last build (scripts/build-dist.mjs --if-stale: a walk of src/ when nothing did);
 * vitest does it once before its workers start (test/support/build-dist-setup.ts), so workers only look.
 */
export function labdCommand(args: string[]): string[] {
  // A bench comparing two builds runs each in turn: LABD_BENCH_DIST names the other build's dist/ (in a
  // checkout of its own, with node_modules and migrations beside it), taken as it is.
  const benchDist = process.env.LABD_BENCH_DIST;
  if (benchDist) return [...labdNodeFlags(), join(resolve(benchDist), 'main.js'), ...args];
  if (!distChecked) {
    const built = spawnSync(process.execPath, [join(ROOT, 'scripts/build-dist.mjs'), '--if-stale'], { cwd: ROOT, encoding: 'utf8' });
    if (built.status !== 0) throw new Error(`scripts/build-dist.mjs failed:\n${built.stderr}`);
    distChecked = true;
  }
  return [...labdNodeFlags(), join(ROOT, 'dist/main.js'), ...args];
}

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
  });
}

export function run(cmd: string, args: string[], opts: { input?: string | Buffer; cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const r = spawnSync(cmd, args, { input: opts.input, cwd: opts.cwd, env: opts.env ?? process.env, maxBuffer: 256 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString(), stdoutBuffer: r.stdout };
}

/**
 * `run` without blocking this process's event loop: for peers that talk to a labd (or a fake)
 * running in this process. A generous bound kills a hung child so the test fails, not stalls.
 */
export function runAsync(
  cmd: string,
  args: string[],
  opts: { input?: string | Buffer; cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<{ status: number | null; stdout: string; stderr: string; stdoutBuffer: Buffer }> {
  const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout!.on('data', (d: Buffer) => out.push(d));
  child.stderr!.on('data', (d: Buffer) => err.push(d));
  // A child that exits without reading its input must not fail the test with EPIPE.
  child.stdin!.on('error', () => {});
  child.stdin!.end(opts.input ?? '');
  return new Promise((resolve, reject) => {
    const killer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', (e) => {
      clearTimeout(killer);
      reject(e);
    });
    child.on('close', (status) => {
      clearTimeout(killer);
      const stdoutBuffer = Buffer.concat(out);
      resolve({ status, stdout: stdoutBuffer.toString(), stderr: Buffer.concat(err).toString(), stdoutBuffer });
    });
  });
}

/** A scratch directory with helpers to make keys and certificates with ssh-keygen. */
export class KeyLab {
  readonly dir = mkdtempSync(join(tmpdir(), 'labd-keys-'));

  /** Creates a key pair (ed25519, ecdsa, rsa) and returns the private key path. */
  key(name: string, type: 'ed25519' | 'ecdsa' | 'rsa' = 'ed25519'): string {
    const path = join(this.dir, name);
    const extra = type === 'rsa' ? ['-b', '2048'] : type === 'ecdsa' ? ['-b', '256'] : [];
    const r = run('ssh-keygen', ['-q', '-t', type, ...extra, '-N', '', '-C', name, '-f', path]);
    if (r.status !== 0) throw new Error(r.stderr);
    return path;
  }

  publicKey(path: string): string {
    return readFileSync(`${path}.pub`, 'utf8').trim();
  }

  /**
   * Signs `keyPath`.pub with the CA key at `caPath` (ssh-keygen -s), like step-ca would.
   * Returns the certificate path (KEY-cert.pub). `options` are -O values.
   */
  sign(
    caPath: string,
    keyPath: string,
    o: { id?: string; principals?: string[]; validity?: string; serial?: number; host?: boolean; options?: string[]; out?: string } = {},
  ): string {
    const args = ['-q', '-s', caPath, '-I', o.id ?? 'test@example.com', '-V', o.validity ?? '-1m:+1h', '-z', String(o.serial ?? 1)];
    if (o.principals && o.principals.length) args.push('-n', o.principals.join(','));
    if (o.host) args.push('-h');
    for (const opt of o.options ?? []) args.push('-O', opt);
    args.push(`${keyPath}.pub`);
    const r = run('ssh-keygen', args);
    if (r.status !== 0) throw new Error(`ssh-keygen -s failed: ${r.stderr}`);
    const cert = `${keyPath}-cert.pub`;
    if (o.out) {
      writeFileSync(o.out, readFileSync(cert));
      return o.out;
    }
    return cert;
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface LabdOptions {
  env?: Record<string, string>;
  /** CA public key files trusted for user certificates. */
  caKeys?: string[];
  /** Public key lines for the initial admin. */
  adminKeys?: string[];
  /** Use (and keep) this data dir instead of a throw-away one. */
  dataDir?: string;
}

export interface SshResult {
  status: number | null;
  stdout: string;
  stderr: string;
  stdoutBuffer: Buffer;
}

/** The JSON a `--json` command printed; a failed command fails the test with ssh's stderr. */
export function jsonOf<T>(r: SshResult): T {
  if (r.status !== 0) throw new Error(`ssh exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** One row of `audit --json` (ARGS is the JSON text of the arguments, as the audit log keeps it). */
export interface AuditRow {
  command: string;
  actor: string;
  outcome: string;
  error: string | null;
  credential: string | null;
  args: string;
}

/** An ssh client started by sshStart. */
export interface RunningSsh {
  stderr(): string;
  kill(): void;
  done: Promise<SshResult>;
}

/** What a labd under test is started with: a data dir, free ports, and the environment `loadConfig` reads. */
export async function labdEnv(opts: LabdOptions): Promise<{ dataDir: string; sshPort: number; httpPort: number; env: NodeJS.ProcessEnv }> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'labd-data-'));
  const sshPort = await freePort();
  const httpPort = await freePort();
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LABD_DATA_DIR: dataDir,
    LABD_SSH_LISTEN: `127.0.0.1:${sshPort}`,
    LABD_HTTP_LISTEN: `127.0.0.1:${httpPort}`,
    LABD_PUBLIC_URL: `http://127.0.0.1:${httpPort}`,
    LABD_LOG_LEVEL: 'debug',
    // Every test client comes from 127.0.0.1: a dozen parallel logins are a test, not a flood.
    LABD_SSH_MAX_STARTUPS_PER_SOURCE: '100',
    ...opts.env,
    ...labdBenchEnv(),
  };
  if (opts.caKeys?.length) {
    const file = join(dataDir, 'user_ca_keys');
    writeFileSync(file, opts.caKeys.map((p) => readFileSync(p, 'utf8').trim()).join('\n') + '\n');
    env.LABD_USER_CA_KEYS = file;
  }
  if (opts.adminKeys?.length) env.LABD_INITIAL_ADMIN_KEYS = opts.adminKeys.join('\n');
  return { dataDir, sshPort, httpPort, env };
}

/** Waits (generously) until labd's /readyz answers 200; `failed` tells why to give up early. */
export async function waitReady(httpPort: number, failed: () => string | undefined): Promise<void> {
  const deadline = Date.now() + 60000;
  for (;;) {
    const why = failed();
    if (why) throw new Error(why);
    if (Date.now() > deadline) throw new Error('labd did not become ready');
    try {
      const res = await fetch(`http://127.0.0.1:${httpPort}/readyz`);
      if (res.status === 200) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Drives a labd's SSH front door with the real OpenSSH client, without blocking this process's
 * event loop (shared by LabdProcess and InProcessLabd).
 */
export abstract class LabdSsh {
  abstract readonly sshPort: number;

  /** ssh arguments for this server with one identity (and its certificate, when given). */
  sshArgs(identity: string, o: { user?: string; cert?: string; tty?: boolean; extra?: string[] } = {}): string[] {
    const args = [...sshClientOptions({ identity, connectTimeout: 10 }), '-p', String(this.sshPort)];
    if (o.cert) args.push('-o', `CertificateFile=${o.cert}`);
    args.push(o.tty ? '-tt' : '-T');
    args.push(...(o.extra ?? []));
    args.push(`${o.user ?? 'labd'}@127.0.0.1`);
    return args;
  }

  /**
   * Starts `ssh HOST COMMAND…` without blocking this process's event loop (for tests whose fakes
   * answer from this process). A generous bound kills a hung client so the test fails, not stalls.
   * `input` is written to its stdin (then closed); without it stdin is /dev/null.
   */
  sshStart(
    identity: string,
    command: string[],
    o: { user?: string; cert?: string; tty?: boolean; input?: string | Buffer; extra?: string[] } = {},
  ): RunningSsh {
    const child = spawn('ssh', [...this.sshArgs(identity, o), '--', ...command], { stdio: [o.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    if (o.input !== undefined) {
      // ssh may exit (e.g. refused) before reading its input: not an error of the test.
      child.stdin!.on('error', () => {});
      child.stdin!.end(o.input);
    }
    const out: Buffer[] = [];
    let err = '';
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d) => (err += d));
    const done = new Promise<SshResult>((resolve, reject) => {
      const killer = setTimeout(() => child.kill('SIGKILL'), 120_000);
      child.on('error', reject);
      child.on('close', (status) => {
        clearTimeout(killer);
        const stdoutBuffer = Buffer.concat(out);
        resolve({ status, stdout: stdoutBuffer.toString(), stderr: err, stdoutBuffer });
      });
    });
    return { stderr: () => err, kill: () => child.kill('SIGKILL'), done };
  }

  /** `ssh HOST COMMAND…` as a promise (see sshStart). */
  sshAsync(identity: string, command: string[], o: { user?: string; cert?: string; tty?: boolean } = {}): Promise<SshResult> {
    return this.sshStart(identity, command, o).done;
  }

  /**
   * `ssh HOST COMMAND…` through an OpenSSH master connection at `controlPath` (made by the first call,
   * kept 120 s): later calls are new sessions on one open connection. Resolves on the client's exit,
   * not on its pipes closing: a persisting master inherits them and keeps them open.
   */
  sshShared(identity: string, controlPath: string, command: string[], o: { user?: string; cert?: string } = {}): Promise<SshResult> {
    const extra = ['-o', 'ControlMaster=auto', '-o', `ControlPath=${controlPath}`, '-o', 'ControlPersist=120'];
    const child = spawn('ssh', [...this.sshArgs(identity, { ...o, extra }), '--', ...command], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (err += d));
    return new Promise((resolve, reject) => {
      const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('error', reject);
      child.on('exit', (status) => {
        clearTimeout(killer);
        // Give the pipes a moment to deliver what the client wrote before it exited.
        setImmediate(() => resolve({ status, stdout: out, stderr: err, stdoutBuffer: Buffer.from(out) }));
      });
    });
  }
}

/** A running labd process. */
export class LabdProcess extends LabdSsh {
  private constructor(
    readonly child: ChildProcess,
    readonly dataDir: string,
    readonly sshPort: number,
    readonly httpPort: number,
    readonly logs: () => string,
    readonly exited: Promise<number | null>,
    private readonly keepData: boolean,
  ) {
    super();
  }

  static async start(opts: LabdOptions = {}): Promise<LabdProcess> {
    const { dataDir, sshPort, httpPort, env } = await labdEnv(opts);
    const child = spawn(process.execPath, labdCommand(['serve']), {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    const labd = new LabdProcess(child, dataDir, sshPort, httpPort, () => out, exited, opts.dataDir !== undefined);
    const deadline = Date.now() + 60000;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`labd exited during start (${child.exitCode ?? child.signalCode}):\n${out}`);
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
        throw new Error(`labd did not become ready:\n${out}`);
      }
      try {
        const res = await fetch(`http://127.0.0.1:${httpPort}/readyz`);
        if (res.status === 200) break;
      } catch {
        /* not up yet */
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return labd;
  }

  /** Runs `ssh HOST COMMAND…` with the real OpenSSH client. */
  ssh(identity: string, command: string[], o: { user?: string; cert?: string; input?: string | Buffer; extra?: string[] } = {}): SshResult {
    const args = this.sshArgs(identity, o);
    args.push('--', ...command);
    return run('ssh', args, { input: o.input ?? '' });
  }

  /** The audit log as `admin` reads it, newest first. */
  auditRows(admin: string, limit = 1000): AuditRow[] {
    return jsonOf<AuditRow[]>(this.ssh(admin, ['audit', '--json', '--limit', String(limit)]));
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 8000);
      await this.exited;
      clearTimeout(timer);
    }
    if (!this.keepData) rmSync(this.dataDir, { recursive: true, force: true });
  }
}
