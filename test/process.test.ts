/**
 * Stopping labd: `npm start` runs labd as the process the signal reaches (no tsx child left holding
 * the ports), and a TUI open at shutdown gets its terminal back and the reason (real ssh in tmux).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll as after, describe, test } from 'vitest';
import { freePort, KeyLab, LabdProcess, ROOT } from './support/labd.ts';
import { TmuxTerminal } from './support/tmux.ts';
import { until } from './support/wait.ts';
import { LABD_NODE_FLAGS } from '../scripts/node-flags.mjs';

/** Every process below `pid` now (from /proc). */
function descendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // The command name is in parentheses and may hold spaces: the parent pid is the 2nd field after it.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      parentOf.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* gone meanwhile */
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [child, parent] of parentOf) if (parent === p) (out.push(child), walk(child));
  };
  walk(pid);
  return out;
}

function alive(pid: number): boolean {
  if (!existsSync(`/proc/${pid}/stat`)) return false;
  // A zombie has ended; it only waits for its parent to read its status.
  return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

describe('npm start and signals', () => {
  test('kill -TERM on the npm start process stops labd: it shuts down cleanly, frees its ports and leaves no process behind', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'labd-npm-start-'));
    const sshPort = await freePort();
    const httpPort = await freePort();
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      LABD_DATA_DIR: dataDir,
      LABD_SSH_LISTEN: `127.0.0.1:${sshPort}`,
      LABD_HTTP_LISTEN: `127.0.0.1:${httpPort}`,
    };
    const npm = spawn('npm', ['start'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    npm.stdout.on('data', (d) => (out += d));
    npm.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => npm.on('exit', (code) => r(code)));
    try {
      await until('labd started by npm start', async () => (await fetch(`http://127.0.0.1:${httpPort}/readyz`).catch(() => undefined))?.status === 200);
      const below = descendants(npm.pid!);
      // npm start runs the compiled labd (dist/, rebuilt first when src/ changed), with the Node flags users run.
      const labd = below.filter((p) => /dist\/main\.js\0serve/.test(readFileSync(`/proc/${p}/cmdline`, 'utf8')));
      assert.equal(labd.length, 1, `one labd process below npm: ${below.join(' ')}`);
      // labd is node itself, not a launcher with a second node under it.
      const launched = descendants(labd[0]!).filter((p) => /main\.[jt]s/.test(readFileSync(`/proc/${p}/cmdline`, 'utf8')));
      assert.deepEqual(launched, []);
      const argv = readFileSync(`/proc/${labd[0]!}/cmdline`, 'utf8').split('\0');
      for (const flag of LABD_NODE_FLAGS) assert.ok(argv.includes(flag), `labd runs with ${flag}: ${argv.join(' ')}`);

      process.kill(npm.pid!, 'SIGTERM');
      await exited;
      await until('every process npm start made to end', () => below.every((p) => !alive(p)));
      assert.ok(await canListen(sshPort), 'the SSH port is free');
      assert.ok(await canListen(httpPort), 'the HTTP port is free');
      assert.match(out, /"signal":"SIGTERM","msg":"shutting down"/);
    } finally {
      // Collected before npm goes: its orphans would be re-parented and out of reach.
      const left = descendants(npm.pid!);
      if (npm.exitCode === null) npm.kill('SIGKILL');
      for (const p of left) if (alive(p)) process.kill(p, 'SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('shutting down with a TUI open', () => {
  const lab = new KeyLab();
  let term: TmuxTerminal | undefined;
  let labd: LabdProcess | undefined;
  after(async () => {
    term?.kill();
    await labd?.stop();
    lab.cleanup();
  });

  test("the client's terminal leaves the alternate screen, shows its cursor, and says labd is restarting", async () => {
    const admin = lab.key('admin');
    labd = await LabdProcess.start({ adminKeys: [lab.publicKey(admin)] });
    // The shell stays after ssh ends, so the screen is read as the user sees it (a dead pane loses it).
    const ssh = ['ssh', ...labd.sshArgs(admin, { tty: true })].map((w) => `'${w}'`).join(' ');
    term = TmuxTerminal.start(['sh', '-c', `${ssh}; echo "ssh exited $?"; exec sleep 600`], { env: { LANG: 'C.UTF-8' }, term: 'tmux-256color' });
    await term.waitFor(/Welcome to labd, admin\./, 'the home menu');
    assert.equal(await term.format('#{alternate_on}'), '1');
    assert.equal(await term.format('#{cursor_flag}'), '0');

    labd.child.kill('SIGTERM');
    const lines = await term.waitFor(/ssh exited \d+/, 'ssh to end');
    assert.match(lines.join('\n'), /^labd is restarting\nssh exited 1$/m);
    assert.doesNotMatch(lines.join('\n'), /Welcome to labd|Received disconnect/);
    assert.equal(await term.format('#{alternate_on}'), '0');
    assert.equal(await term.format('#{cursor_flag}'), '1');
    assert.equal(await labd.exited, 0);
  });
});
