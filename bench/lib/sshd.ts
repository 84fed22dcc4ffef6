/**
 * A throw-away OpenSSH sshd on a free loopback port: its own host key, authorized_keys and
 * trusted user CA in a temp dir, no PAM, run in the foreground by the current user.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort, run } from '../../test/support/labd.ts';

export const SSHD_PATH = '/usr/sbin/sshd';

export interface SshdOptions {
  /** Public key lines allowed to log in as the current user. */
  authorizedKeys: string[];
  /** CA public key file trusted for user certificates (principal: the login user's name). */
  caPublicKeyFile: string;
  /**
   * Run sessions with HOME set to an empty temp dir, so the login shell (Debian's bash reads
   * ~/.bashrc under sshd) skips the user's rc files, which can cost more than sshd itself.
   */
  emptyHome: boolean;
  /** Keep Debian's MaxStartups default (10:30:100) instead of the benches' 200 (bench/abuse compares floods). */
  defaultMaxStartups?: boolean;
}

export class SshdProcess {
  private constructor(
    readonly child: ChildProcess,
    readonly dir: string,
    readonly port: number,
    readonly user: string,
    /** HOME of the sessions when `emptyHome` is set. */
    readonly home: string | undefined,
    readonly logs: () => string,
    private readonly exited: Promise<void>,
  ) {}

  static async start(o: SshdOptions): Promise<SshdProcess> {
    if (!existsSync(SSHD_PATH)) throw new Error(`${SSHD_PATH} not found: install OpenSSH's server first (apt-get update && apt-get install -y openssh-server)`);
    // As root, sshd wants its privilege separation directory; systemd normally creates it.
    if (process.getuid?.() === 0 && !existsSync('/run/sshd')) mkdirSync('/run/sshd', { mode: 0o755 });
    const dir = mkdtempSync(join(tmpdir(), 'labd-bench-sshd-'));
    const hostKey = join(dir, 'ssh_host_ed25519_key');
    const r = run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'bench sshd', '-f', hostKey]);
    if (r.status !== 0) throw new Error(`ssh-keygen failed: ${r.stderr}`);
    writeFileSync(join(dir, 'authorized_keys'), o.authorizedKeys.join('\n') + '\n', { mode: 0o600 });
    const home = join(dir, 'home');
    mkdirSync(home);
    const port = await freePort();
    const config = [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      `TrustedUserCAKeys ${o.caPublicKeyFile}`,
      'UsePAM no',
      'StrictModes no',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'UseDNS no',
      'PrintMotd no',
      'PrintLastLog no',
      // The default (10:30:100) randomly drops unauthenticated connections; labd has no such limit.
      ...(o.defaultMaxStartups ? [] : ['MaxStartups 200']),
      'LogLevel ERROR',
      ...(o.emptyHome ? [`SetEnv HOME=${home}`] : []),
    ].join('\n');
    const configFile = join(dir, 'sshd_config');
    writeFileSync(configFile, config + '\n');
    const check = run(SSHD_PATH, ['-t', '-f', configFile]);
    if (check.status !== 0) throw new Error(`sshd -t rejected the bench config: ${check.stderr.trim()}`);

    const child = spawn(SSHD_PATH, ['-D', '-e', '-f', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d) => (out = (out + d).slice(-20000)));
    child.stderr!.on('data', (d) => (out = (out + d).slice(-20000)));
    const exited = new Promise<void>((res) => child.on('exit', () => res()));
    const sshd = new SshdProcess(child, dir, port, userInfo().username, o.emptyHome ? home : undefined, () => out, exited);
    const deadline = Date.now() + 15000;
    while (!(await acceptsConnections(port))) {
      if (child.exitCode !== null) throw new Error(`sshd exited during start:\n${out}`);
      if (Date.now() > deadline) {
        await sshd.stop();
        throw new Error(`sshd did not listen on 127.0.0.1:${port}:\n${out}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return sshd;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
      await this.exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function acceptsConnections(port: number): Promise<boolean> {
  return new Promise((res) => {
    const sock = connect(port, '127.0.0.1');
    sock.once('connect', () => {
      sock.destroy();
      res(true);
    });
    sock.once('error', () => res(false));
  });
}
