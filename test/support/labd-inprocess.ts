/**
 * Test harness: labd booted in THIS process through the same composition root as `npm start`
 * (`loadConfig` → `createLogger` → `startLabd`), on free loopback ports with a throw-away data dir,
 * driven with the real OpenSSH client. Much cheaper to boot than LabdProcess; tests of the CLI or
 * the process itself (signals, exit codes, stdout) keep LabdProcess.
 *
 * labd shares this process's event loop, so nothing here blocks it: `ssh` and `auditRows` are
 * async, and peers that talk to labd must be spawned with `runAsync`, never `run`/`spawnSync`.
 */
import { rmSync } from 'node:fs';
import { Writable } from 'node:stream';
import { startLabd, type Labd, type LabdDeps } from '../../src/app.ts';
import { loadConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/core/logger.ts';
import { jsonOf, labdEnv, LabdSsh, waitReady, type AuditRow, type LabdOptions, type SshResult } from './labd.ts';

/** A labd running in this process. */
export class InProcessLabd extends LabdSsh {
  private stopped: Promise<void> | undefined;

  private constructor(
    /** The running service (its registry, db, config) as the composition root returned it. */
    readonly app: Labd,
    readonly dataDir: string,
    readonly sshPort: number,
    readonly httpPort: number,
    /**
     * Everything labd logged (its JSON lines) and the process warnings Node emitted while it ran
     * (e.g. MaxListenersExceededWarning, which a labd process prints on its stderr). Unlike
     * LabdProcess.logs() it holds no other stdout/stderr text: libraries' console output stays
     * with the test runner.
     */
    readonly logs: () => string,
    private readonly keepData: boolean,
    private readonly unhook: () => void,
  ) {
    super();
  }

  /** `deps`: what labd gets instead of the real thing, e.g. a clock the test moves. */
  static async start(opts: LabdOptions = {}, deps: LabdDeps = {}): Promise<InProcessLabd> {
    const { dataDir, sshPort, httpPort, env } = await labdEnv(opts);
    const cleanup = () => {
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    };
    let out = '';
    const sink = new Writable({
      write(chunk: Buffer | string, _enc, done) {
        out += String(chunk);
        done();
      },
    });
    // Node prints process warnings on a labd process's stderr; here they go to its log too.
    const onWarning = (w: Error) => (out += `(node) ${w.name}: ${w.message}\n`);
    process.on('warning', onWarning);
    const unhook = () => process.off('warning', onWarning);
    let app: Labd;
    try {
      const config = loadConfig(env);
      app = await startLabd(config, createLogger(config.log.level, sink), deps);
    } catch (err) {
      unhook();
      cleanup();
      throw new Error(`labd did not start: ${(err as Error).message}\n${out}`, { cause: err });
    }
    const labd = new InProcessLabd(app, dataDir, sshPort, httpPort, () => out, opts.dataDir !== undefined, unhook);
    try {
      await waitReady(httpPort, () => undefined);
    } catch (err) {
      await labd.stop();
      throw new Error(`${(err as Error).message}:\n${out}`, { cause: err });
    }
    return labd;
  }

  /** Runs `ssh HOST COMMAND…` with the real OpenSSH client; `input` is written to its stdin. */
  ssh(identity: string, command: string[], o: { user?: string; cert?: string; input?: string | Buffer; extra?: string[] } = {}): Promise<SshResult> {
    return this.sshStart(identity, command, o).done;
  }

  /** The audit log as `admin` reads it, newest first. */
  async auditRows(admin: string, limit = 1000): Promise<AuditRow[]> {
    return jsonOf<AuditRow[]>(await this.ssh(admin, ['audit', '--json', '--limit', String(limit)]));
  }

  /** Stops labd (as SIGTERM does for the process) and removes the throw-away data dir. */
  stop(): Promise<void> {
    this.stopped ??= this.app.stop().finally(() => {
      this.unhook();
      if (!this.keepData) rmSync(this.dataDir, { recursive: true, force: true });
    });
    return this.stopped;
  }
}
