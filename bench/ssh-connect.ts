/**
 * bench/ssh-connect: connect + authenticate + `whoami` with the real OpenSSH client against labd
 * and against Debian's OpenSSH sshd (throw-away config on a loopback port) in the same run;
 * connections per second at a fixed concurrency; labd's memory with idle sessions open.
 *
 *   npm run bench:ssh-connect -- [--runs 200] [--warmup 10] [--conns 200] [--concurrency 8] [--idle 200] [--idle-tui]
 *   npm run bench:ssh-connect -- --idle 10000 --idle-only     (10,000 concurrent idle sessions, sshd's figure beside)
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { freePort, KeyLab, LabdProcess, run } from '../test/support/labd.ts';
import { describeWork, labdWork } from './lib/labd-work.ts';
import { sshClientOptions } from '../test/support/ssh-options.ts';
import { IDLE_CELLS_MS } from '../src/ssh/tui/idle-cells.ts';
import { collectGarbage, inspectorUrl } from './lib/inspector-gc.ts';
import { IdleSessions, type IdleKind } from './lib/idle-sessions.ts';
import { account, shellStartupMs } from './lib/login-shell.ts';
import { SSHD_PATH, SshdProcess } from './lib/sshd.ts';
import { median, percentile, runConcurrently, timeSsh } from './lib/timing.ts';
import { addCpuSplits, describeCpuSplit, measureCpu, type CpuSplit } from './lib/cpu-split.ts';

const USAGE = `usage: npm run bench:ssh-connect -- [options]

  --runs N          timed connect+auth+whoami runs per target (default 200, max 5000)
  --warmup N        untimed runs per target first (default 10)
  --conns N         connections per target for the conn/s figure (default 200, max 5000)
  --concurrency N   parallel clients for the conn/s figure (default 8, max 64)
  --idle N          idle sessions held open against labd for the memory figure (default 200, max 20000);
                    the file-descriptor limits of labd and of the bench are raised to fit
  --idle-tui        also measure idle TUI sessions (PTY + shell at the home menu)
  --idle-only       only the idle-session figures (no timed logins, no conn/s)
  --idle-logins N   OpenSSH logins timed on an idle labd and again with the idle sessions open (default 20)
  --idle-sshd N     bare idle sessions held against sshd for its per-session memory (default min(idle, 200); 0: none)
  --labd-node-options S  extra NODE_OPTIONS for labd (e.g. --max-semi-space-size=1)
  --sshd-user-rc    let sshd's sessions read the user's own rc files (default: HOME is an empty dir,
                    so a slow ~/.bashrc, which Debian's bash reads under sshd, is not counted)`;

interface Options {
  runs: number;
  warmup: number;
  conns: number;
  concurrency: number;
  idle: number;
  idleTui: boolean;
  idleOnly: boolean;
  idleLogins: number;
  idleSshd: number;
  labdNodeOptions: string;
  sshdUserRc: boolean;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string' },
      warmup: { type: 'string' },
      conns: { type: 'string' },
      concurrency: { type: 'string' },
      idle: { type: 'string' },
      'idle-tui': { type: 'boolean' },
      'idle-only': { type: 'boolean' },
      'idle-logins': { type: 'string' },
      'idle-sshd': { type: 'string' },
      'labd-node-options': { type: 'string' },
      'sshd-user-rc': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    process.exit(0);
  }
  const count = (name: string, raw: string | undefined, dflt: number, min: number, max: number) => {
    if (raw === undefined) return dflt;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max)
      throw new UsageError(`--${name}: expected a whole number from ${min} to ${max}, got '${raw}'`);
    return Number(raw);
  };
  const idle = count('idle', values.idle, 200, 1, 20000);
  return {
    runs: count('runs', values.runs, 200, 1, 5000),
    warmup: count('warmup', values.warmup, 10, 0, 1000),
    conns: count('conns', values.conns, 200, 1, 5000),
    concurrency: count('concurrency', values.concurrency, 8, 1, 64),
    idle,
    idleTui: values['idle-tui'] ?? false,
    idleOnly: values['idle-only'] ?? false,
    idleLogins: count('idle-logins', values['idle-logins'], 20, 0, 1000),
    idleSshd: count('idle-sshd', values['idle-sshd'], Math.min(idle, 200), 0, 2000),
    labdNodeOptions: values['labd-node-options'] ?? '',
    sshdUserRc: values['sshd-user-rc'] ?? false,
  };
}

class UsageError extends Error {}

/** The conn/s runs come in this many slices per target, the targets taking turns. */
const THROUGHPUT_SLICES = 4;

/** One way of logging in to one server: the ssh arguments up to the command, and what whoami must print. */
interface Target {
  name: string;
  args: string[];
  expect: RegExp;
  /** Counted in the connections-per-second figure. */
  throughput: boolean;
  /** The server's process, for the CPU split of the connections-per-second figure. */
  pid: number;
}

/** The same client options for every target, so only the server differs. */
function clientArgs(port: number, user: string, identity: string, o: { cert?: string; kex?: string; verbose?: boolean } = {}): string[] {
  const args = [...sshClientOptions({ identity, logLevel: o.verbose ? 'DEBUG1' : 'ERROR', connectTimeout: 10 }), '-p', String(port), '-T'];
  if (o.cert) args.push('-o', `CertificateFile=${o.cert}`);
  if (o.kex) args.push('-o', `KexAlgorithms=${o.kex}`);
  args.push(`${user}@127.0.0.1`, '--', 'whoami');
  return args;
}

/** The key exchange the OpenSSH client settles on with a server, from its debug output. */
async function negotiatedKex(args: string[]): Promise<string> {
  const r = await timeSsh(args);
  const m = /kex: algorithm: (\S+)/.exec(r.stderr);
  if (!m) throw new Error(`could not read the negotiated key exchange: ${r.stderr.slice(-500)}`);
  return m[1]!;
}

async function once(t: Target): Promise<{ ok: boolean; ms: number; detail: string }> {
  const r = await timeSsh(t.args);
  const ok = r.status === 0 && t.expect.test(r.stdout);
  return { ok, ms: r.ms, detail: ok ? '' : `exit ${r.status}: ${(r.stderr || r.stdout).trim().slice(0, 300)}` };
}

function rssKb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]);
}

/** Waits until labd has no SSH connection open (the idle sessions closed). */
async function connectionsClosed(labd: LabdProcess): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if ((await gauge(labd, 'labd_ssh_connections_active')) === 0) return;
    await sleep(100);
  }
  throw new Error('labd still has connections open 30 s after the idle sessions closed');
}

/** V8's committed size of each heap space in labd (MB), from its /metrics. */
async function heapSpaces(labd: LabdProcess): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${labd.httpPort}/metrics`)).text();
  const spaces: Record<string, number> = {};
  for (const m of text.matchAll(/^labd_nodejs_heap_space_size_total_bytes\{space="([^"]+)"\} (\S+)/gm)) spaces[m[1]!] = Number(m[2]) / 1024 / 1024;
  return spaces;
}

async function gauge(labd: LabdProcess, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${labd.httpPort}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) if (line.startsWith(name)) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  return total;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const say = (line: string) => process.stderr.write(line + '\n');

interface IdleFigure {
  kind: IdleKind;
  sessions: number;
  beforeKb: number;
  afterKb: number;
  heapBeforeMb: number;
  heapAfterMb: number;
  /** The second round of the same sessions, after the first closed. */
  again?: boolean;
  /** V8's committed size per heap space (MB), which RSS counts whether in use or not. */
  spacesBefore: Record<string, number>;
  spacesAfter: Record<string, number>;
  /** OpenSSH key logins (ms) on labd without these sessions, then with them all open. */
  loginsIdle: number[];
  loginsDuring: number[];
  openSeconds: number;
  /** labd's CPU time over a few seconds with the sessions open and nothing else happening, as a share of one core. */
  idleCpu: number;
}

/** A process's CPU time (user + system) in seconds, from /proc/PID/stat. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of stat (12 and 13 after the state field), in clock ticks.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** labd's CPU use while nothing asks anything of it, as a share of one core over `ms`. */
async function idleCpuShare(pid: number, ms = 5000): Promise<number> {
  const before = cpuSeconds(pid);
  await sleep(ms);
  return (cpuSeconds(pid) - before) / (ms / 1000);
}

/** Median of a few samples of `read` a moment apart, after a full GC in labd and a pause. */
async function settled(inspector: string, read: () => Promise<number> | number): Promise<number> {
  await collectGarbage(inspector);
  await sleep(2000);
  const samples: number[] = [];
  for (let i = 0; i < 3; i++) {
    samples.push(await read());
    await sleep(500);
  }
  return median(samples);
}

/** Raises a running process's open-file limit (soft and hard) to `n`, when it is lower: labd holds a socket per session. */
function raiseFileLimit(pid: number, n: number): void {
  const current = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
  if (current && (current[1] === 'unlimited' || Number(current[1]) >= n)) return;
  // Raising the hard limit needs root (CAP_SYS_RESOURCE); up to the hard limit anyone may.
  const hard = current && current[2] !== 'unlimited' ? Number(current[2]) : Infinity;
  const r = run('prlimit', ['--pid', String(pid), `--nofile=${n}:${Math.max(n, hard === Infinity ? n : hard)}`]);
  if (r.status !== 0) throw new Error(`could not raise the open-file limit of ${pid} to ${n}: ${r.stderr.trim()} (run as root, or raise the hard limit)`);
}

/** Timed OpenSSH logins, one after another. */
async function timedLogins(t: Target, n: number): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await once(t);
    if (!r.ok) throw new Error(`${t.name}: login failed (${r.detail})`);
    ms.push(r.ms);
  }
  return ms;
}

/** Child processes opening idle sessions: one per 2,500, and none for a few hundred. */
const idleProcesses = (n: number) => (n <= 500 ? 0 : Math.ceil(n / 2500));

/** labd's RSS (and V8 heap in use) before and with `n` idle sessions of one kind open; logins timed before and during. */
async function measureIdle(labd: LabdProcess, inspector: string, key: string, kind: IdleKind, n: number, o: Options, login: Target): Promise<IdleFigure> {
  const pid = labd.child.pid!;
  const heapMb = async () => (await gauge(labd, 'labd_nodejs_heap_size_used_bytes')) / 1024 / 1024;
  const loginsIdle = await timedLogins(login, o.idleLogins);
  const beforeKb = await settled(inspector, () => rssKb(pid));
  const heapBeforeMb = await heapMb();
  const spacesBefore = await heapSpaces(labd);
  const sessions = new IdleSessions();
  try {
    const started = performance.now();
    let shown = 0;
    await sessions.open({ port: labd.sshPort, user: 'labd', privateKeyFile: key }, kind, n, {
      // Under labd's pre-auth caps (ssh.maxStartups 100 in all; the test harness allows 100 per source).
      concurrency: Math.min(o.concurrency * 4, 32),
      processes: idleProcesses(n),
      progress: (opened) => {
        if (opened - shown < 1000 && opened !== n) return;
        shown = opened;
        say(`bench: ${opened}/${n} ${kind} sessions open (${fmt((performance.now() - started) / 1000)} s, labd RSS ${fmt(rssKb(pid) / 1024)} MB)`);
      },
    });
    const openSeconds = (performance.now() - started) / 1000;
    // A screen left alone gives its cell buffers back after IDLE_CELLS_MS: measured as a user who sits there.
    if (kind === 'tui') await sleep(IDLE_CELLS_MS + 1000);
    const seen = await gauge(labd, 'labd_ssh_connections_active');
    if (seen < n) throw new Error(`labd reports ${seen} connections open, expected at least ${n}`);
    const afterKb = await settled(inspector, () => rssKb(pid));
    const heapAfterMb = await heapMb();
    const spacesAfter = await heapSpaces(labd);
    const idleCpu = await idleCpuShare(pid);
    const loginsDuring = await timedLogins(login, o.idleLogins);
    return {
      kind,
      sessions: sessions.count,
      beforeKb,
      afterKb,
      heapBeforeMb,
      heapAfterMb,
      spacesBefore,
      spacesAfter,
      loginsIdle,
      loginsDuring,
      openSeconds,
      idleCpu,
    };
  } finally {
    sessions.closeAll();
  }
}

interface SshdIdleFigure {
  sessions: number;
  processes: number;
  rssKb: number;
  pssKb: number;
}

/** Every process below `root` (sshd's per-connection processes below its listener). */
function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Field 4 of stat, after the command name in parentheses (which may hold spaces).
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* gone meanwhile */
    }
  }
  const found: number[] = [];
  const walk = (pid: number) => {
    for (const [child, ppid] of parent) if (ppid === pid) (found.push(child), walk(child));
  };
  walk(root);
  return found;
}

/** Rss and Pss (kB) of a process, from smaps_rollup (Pss shares each shared page among its users). */
function rssPssKb(pid: number): { rss: number; pss: number } {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
    return { rss: field('Rss'), pss: field('Pss') };
  } catch {
    return { rss: 0, pss: 0 };
  }
}

/** sshd forks per connection: the memory of the processes under its listener with `n` bare sessions open. */
async function measureSshdIdle(sshd: SshdProcess, key: string, n: number, o: Options): Promise<SshdIdleFigure> {
  const sessions = new IdleSessions();
  try {
    // sshd's MaxStartups (10:30:100) drops early from 10 unauthenticated: open them a few at a time.
    await sessions.open({ port: sshd.port, user: sshd.user, privateKeyFile: key }, 'bare', n, { concurrency: Math.min(o.concurrency, 8) });
    await sleep(1000);
    const pids = descendants(sshd.child.pid!);
    let rss = 0;
    let pss = 0;
    for (const pid of pids) {
      const m = rssPssKb(pid);
      rss += m.rss;
      pss += m.pss;
    }
    return { sessions: sessions.count, processes: pids.length, rssKb: rss, pssKb: pss };
  } finally {
    sessions.closeAll();
  }
}

async function main(): Promise<void> {
  const o = options();
  if (!existsSync(SSHD_PATH)) {
    say(
      `bench: ${SSHD_PATH} not found. This bench compares labd with Debian's OpenSSH server; install it with:\n  apt-get update && apt-get install -y openssh-server`,
    );
    process.exit(1);
  }
  if (run('ssh', ['-V']).status !== 0) {
    say('bench: the OpenSSH client (ssh) is not installed: apt-get install -y openssh-client');
    process.exit(1);
  }

  const lab = new KeyLab();
  let labd: LabdProcess | undefined;
  let sshd: SshdProcess | undefined;
  const cleanup = async () => {
    await Promise.allSettled([labd?.stop(), sshd?.stop()]);
    lab.cleanup();
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  try {
    const plainKey = lab.key('bench-plain');
    const certKey = lab.key('bench-cert');
    const ca = lab.key('bench-ca');
    const localUser = userInfo().username;
    // One certificate for both servers: sshd matches its login user, labd the `benchcert` principal.
    const cert = lab.sign(ca, certKey, { id: 'bench@example.com', principals: [localUser, 'benchcert'], validity: '-5m:+2h' });

    say('bench: starting labd and sshd…');
    // The inspector (loopback only) lets the bench force a GC before reading labd's memory.
    const inspectorPort = await freePort();
    labd = await LabdProcess.start({
      adminKeys: [lab.publicKey(plainKey)],
      caKeys: [`${ca}.pub`],
      env: { LABD_LOG_LEVEL: 'info', NODE_OPTIONS: `--inspect=127.0.0.1:${inspectorPort} ${o.labdNodeOptions}`.trim() },
    });
    // A socket per session in labd, and one per session in the bench's processes (its children inherit the limit).
    const files = o.idle + 1024;
    raiseFileLimit(labd.child.pid!, files);
    raiseFileLimit(process.pid, files);
    const inspector = await inspectorUrl(inspectorPort);
    // Base RSS: labd started as npm start does (node --import tsx), no backend configured, no connection yet.
    const baseKb = await settled(inspector, () => rssKb(labd!.child.pid!));
    sshd = await SshdProcess.start({ authorizedKeys: [lab.publicKey(plainKey)], caPublicKeyFile: `${ca}.pub`, emptyHome: !o.sshdUserRc });
    const loginAccount = account(localUser);
    if (!loginAccount) throw new Error(`no passwd entry for '${localUser}'`);
    const shell = {
      account: localUser,
      shell: loginAccount.shell,
      home: sshd.home ?? loginAccount.home,
      ms: shellStartupMs(loginAccount, sshd.home ?? loginAccount.home),
    };

    // OpenSSH's default key exchange with sshd (sntrup761x25519, post-quantum) costs far more
    // than the one labd offers, so sshd is measured both with labd's and with its own default.
    const labdKex = await negotiatedKex(clientArgs(labd.sshPort, 'labd', plainKey, { verbose: true }));
    const sshdKex = await negotiatedKex(clientArgs(sshd.port, localUser, plainKey, { verbose: true }));
    const whoamiLine = new RegExp(`^${localUser}\\n$`);
    const labdPid = labd.child.pid!;
    const sshdPid = sshd.child.pid!;
    const targets: Target[] = [
      { name: 'labd key', args: clientArgs(labd.sshPort, 'labd', plainKey), expect: /admin/, throughput: true, pid: labdPid },
      { name: 'sshd key', args: clientArgs(sshd.port, localUser, plainKey, { kex: labdKex }), expect: whoamiLine, throughput: true, pid: sshdPid },
      {
        name: 'labd cert',
        args: clientArgs(labd.sshPort, 'benchcert', certKey, { cert }),
        expect: /benchcert[\s\S]*certificate/,
        throughput: false,
        pid: labdPid,
      },
      { name: 'sshd cert', args: clientArgs(sshd.port, localUser, certKey, { cert, kex: labdKex }), expect: whoamiLine, throughput: false, pid: sshdPid },
      { name: 'sshd key, default kex', args: clientArgs(sshd.port, localUser, plainKey), expect: whoamiLine, throughput: true, pid: sshdPid },
    ];

    // Correctness first: every target logs in the intended way.
    for (const t of targets) {
      const r = await once(t);
      if (!r.ok)
        throw new Error(`${t.name}: whoami failed (${r.detail})\nlabd log tail:\n${labd.logs().slice(-2000)}\nsshd log tail:\n${sshd.logs().slice(-2000)}`);
    }

    // Memory first, before the timed runs have grown labd's heap (a forced GC cannot shrink RSS back).
    say(`bench: ${o.idle} idle sessions against labd…`);
    const login = targets[0]!;
    // Bare sessions twice: from a labd that never had them, then once those closed. The first round's
    // RSS also counts what the allocator grows once (malloc's arenas, V8's spaces); the second is what
    // the same sessions cost a labd that has served as many before, as a running one has.
    const idle: IdleFigure[] = [await measureIdle(labd, inspector, plainKey, 'bare', o.idle, o, login)];
    if (o.idle <= 2000) {
      await connectionsClosed(labd);
      idle.push({ ...(await measureIdle(labd, inspector, plainKey, 'bare', o.idle, o, login)), again: true });
    }
    if (o.idleTui) idle.push(await measureIdle(labd, inspector, plainKey, 'tui', o.idle, o, login));
    let sshdIdle: SshdIdleFigure | undefined;
    if (o.idleSshd > 0) {
      say(`bench: ${o.idleSshd} idle sessions against sshd…`);
      sshdIdle = await measureSshdIdle(sshd, plainKey, o.idleSshd, o);
    }
    if (o.idleOnly) {
      process.stdout.write(idleReport(o, idle, sshdIdle, baseKb).join('\n') + '\n');
      return;
    }

    say(`bench: warm-up, ${o.warmup} runs per target…`);
    for (let i = 0; i < o.warmup; i++) for (const t of targets) await once(t);

    // Interleaved and rotated, so load from other work on the machine hits every target alike.
    say(`bench: ${o.runs} timed runs per target…`);
    const samples = new Map<string, number[]>(targets.map((t) => [t.name, []]));
    const failures = new Map<string, number>(targets.map((t) => [t.name, 0]));
    for (let i = 0; i < o.runs; i++) {
      for (let j = 0; j < targets.length; j++) {
        const t = targets[(i + j) % targets.length]!;
        const r = await once(t);
        if (r.ok) samples.get(t.name)!.push(r.ms);
        else {
          failures.set(t.name, failures.get(t.name)! + 1);
          if (failures.get(t.name)! > Math.max(5, o.runs / 20)) throw new Error(`${t.name}: too many failed runs, last: ${r.detail}`);
        }
      }
    }

    say(`bench: ${o.conns} connections per target, ${o.concurrency} at a time, in ${THROUGHPUT_SLICES} interleaved slices…`);
    const throughput = new Map<string, { ms: number; failures: number; cpu: CpuSplit }>();
    // In slices, the targets taking turns (rotated), like the timed runs: the machine's speed drifts
    // (sshd's own figure moved 35–48 conn/s between runs), and one target's whole run at a slow moment
    // moved the ratio by a fifth.
    const throughputTargets = targets.filter((x) => x.throughput);
    for (let slice = 0; slice < THROUGHPUT_SLICES; slice++) {
      const conns = Math.floor(o.conns / THROUGHPUT_SLICES) + (slice < o.conns % THROUGHPUT_SLICES ? 1 : 0);
      if (!conns) continue;
      for (let j = 0; j < throughputTargets.length; j++) {
        const t = throughputTargets[(slice + j) % throughputTargets.length]!;
        const cpu = measureCpu(t.pid);
        const r = await runConcurrently(conns, o.concurrency, async () => (await once(t)).ok);
        const split = cpu();
        const sum = throughput.get(t.name);
        throughput.set(t.name, sum ? { ms: sum.ms + r.ms, failures: sum.failures + r.failures, cpu: addCpuSplits(sum.cpu, split) } : { ...r, cpu: split });
      }
    }

    report(o, samples, failures, throughput, idle, sshdIdle, shell, { labd: labdKex, sshd: sshdKex }, baseKb);
    console.log(`\n${describeWork(await labdWork(labd))}`);
  } finally {
    await cleanup();
  }
}

function report(
  o: Options,
  samples: Map<string, number[]>,
  failures: Map<string, number>,
  throughput: Map<string, { ms: number; failures: number; cpu: CpuSplit }>,
  idle: IdleFigure[],
  sshdIdle: SshdIdleFigure | undefined,
  shell: { account: string; shell: string; home: string; ms: number },
  kex: { labd: string; sshd: string },
  baseKb: number,
): void {
  const lines: string[] = [];
  const row = (cells: string[], widths: number[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const w = [22, 8, 9, 9, 9, 9];
  lines.push('', `connect + authenticate + whoami, OpenSSH client, ${o.runs} runs each (ms)`);
  lines.push(row(['target', 'ok', 'median', 'p99', 'min', 'max'], w));
  for (const [name, s] of samples) {
    lines.push(
      row([name, `${s.length}/${s.length + failures.get(name)!}`, fmt(median(s)), fmt(percentile(s, 99)), fmt(Math.min(...s)), fmt(Math.max(...s))], w),
    );
  }
  lines.push(`key exchange: labd ${kex.labd}; sshd ${kex.labd} (pinned by the client) and ${kex.sshd} (\"default kex\")`);
  lines.push(
    `sshd runs whoami as '${shell.account}' through ${shell.shell} -c with HOME=${shell.home}${o.sshdUserRc ? " (the user's own rc files)" : ' (empty: no rc files)'}; that shell start alone takes ${fmt(shell.ms)} ms`,
  );
  lines.push('', 'ratio labd / sshd (target: median ≤ 1.5)');
  for (const [a, b] of [
    ['labd key', 'sshd key'],
    ['labd cert', 'sshd cert'],
    ['labd key', 'sshd key, default kex'],
  ] as const) {
    const l = samples.get(a)!;
    const s = samples.get(b)!;
    const ratio = median(l) / median(s);
    lines.push(
      `  ${a.padEnd(9)} / ${b.padEnd(21)} median ${fmt(ratio, 2)}×  p99 ${fmt(percentile(l, 99) / percentile(s, 99), 2)}×  ${ratio <= 1.5 ? 'ok' : 'OVER TARGET'}`,
    );
  }
  lines.push('', `connections per second, key login + whoami, ${o.conns} connections, ${o.concurrency} in parallel`);
  const perSecond = (t: { ms: number; failures: number }) => (o.conns - t.failures) / (t.ms / 1000);
  for (const [name, t] of throughput) {
    lines.push(`  ${name.padEnd(22)} ${fmt(perSecond(t)).padStart(7)} conn/s  (${fmt(t.ms / 1000, 2)} s, ${t.failures} failed)`);
    lines.push(`  ${''.padEnd(22)} ${describeCpuSplit(t.cpu, o.conns)}`);
  }
  const l = throughput.get('labd key')!;
  for (const b of ['sshd key', 'sshd key, default kex']) lines.push(`  ratio labd / ${b.padEnd(21)} ${fmt(perSecond(l) / perSecond(throughput.get(b)!), 2)}×`);
  lines.push(...idleReport(o, idle, sshdIdle, baseKb));
  process.stdout.write(lines.join('\n') + '\n');
}

function idleReport(o: Options, idle: IdleFigure[], sshdIdle: SshdIdleFigure | undefined, baseKb: number): string[] {
  const lines: string[] = [];
  const uptime = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  lines.push('', `labd base RSS, no backend configured, no connection yet, after a forced full GC: ${fmt(baseKb / 1024)} MB`);
  if (o.labdNodeOptions) lines.push(`labd's extra NODE_OPTIONS: ${o.labdNodeOptions}`);
  lines.push('', `labd memory with idle sessions open, each read after a forced full GC (load average at the end ${uptime})`);
  lines.push('  aims: ≤ 0.05 MB per bare session, ≤ 0.5 MB per session at the TUI home, 10,000 bare sessions in < 600 MB');
  for (const f of idle) {
    const perSession = (f.afterKb - f.beforeKb) / 1024 / f.sessions;
    const aim = f.kind === 'bare' ? 0.05 : 0.5;
    const label = f.kind === 'tui' ? 'TUI at the home menu' : f.again ? '… again, after those closed' : 'session channel, no command';
    const heapPerSession = (f.heapAfterMb - f.heapBeforeMb) / f.sessions;
    lines.push(
      `  ${label.padEnd(28)} ${f.sessions} sessions (opened in ${fmt(f.openSeconds)} s): RSS ${fmt(f.beforeKb / 1024)} → ${fmt(f.afterKb / 1024)} MB = ${fmt(perSession, 3)} MB/session  ${perSession <= aim ? 'ok' : 'OVER AIM'}`,
    );
    lines.push(`  ${''.padEnd(28)} V8 heap in use ${fmt(f.heapBeforeMb)} → ${fmt(f.heapAfterMb)} MB = ${fmt(heapPerSession, 3)} MB/session`);
    const grew = Object.keys(f.spacesAfter)
      .map((space) => ({ space, before: f.spacesBefore[space] ?? 0, after: f.spacesAfter[space]! }))
      .filter((g) => Math.abs(g.after - g.before) >= 0.5)
      .map((g) => `${g.space} ${fmt(g.before)} → ${fmt(g.after)}`);
    if (grew.length) lines.push(`  ${''.padEnd(28)} V8 heap committed (MB): ${grew.join(', ')}`);
    lines.push(`  ${''.padEnd(28)} labd's CPU with them open and nothing asked: ${fmt(f.idleCpu * 100)} % of a core`);
    if (f.loginsIdle.length && f.loginsDuring.length) {
      const ratio = median(f.loginsDuring) / median(f.loginsIdle);
      lines.push(
        `  ${''.padEnd(28)} OpenSSH key login, median of ${f.loginsIdle.length}: ${fmt(median(f.loginsIdle))} ms on labd without them, ${fmt(median(f.loginsDuring))} ms with them open = ${fmt(ratio, 2)}×  ${ratio < 2 ? 'ok' : 'OVER AIM (< 2×)'}`,
      );
    }
  }
  if (sshdIdle) {
    const rss = sshdIdle.rssKb / 1024 / sshdIdle.sessions;
    const pss = sshdIdle.pssKb / 1024 / sshdIdle.sessions;
    lines.push(
      `  sshd, bare session channel    ${sshdIdle.sessions} sessions: ${sshdIdle.processes} processes (${fmt(sshdIdle.processes / sshdIdle.sessions, 1)} per session), ` +
        `PSS ${fmt(pss, 3)} MB/session (RSS ${fmt(rss, 3)}); × ${o.idle}: PSS ${fmt(pss * o.idle, 0)} MB, ${Math.round((sshdIdle.processes / sshdIdle.sessions) * o.idle)} processes`,
    );
  }
  return lines;
}

main().catch((err) => {
  say(`bench: ${err instanceof UsageError ? err.message + '\n' + USAGE : ((err as Error).stack ?? String(err))}`);
  process.exit(err instanceof UsageError ? 2 : 1);
});
