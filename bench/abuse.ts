/**
 * bench/abuse: the floods of issue 10 against labd, on loopback, in bounded loops. For each flood:
 * labd's peak RSS (VmRSS, sampled every 50 ms), /healthz p99 while it runs, and whether a real
 * OpenSSH login (`ssh … whoami`) started during the flood succeeds. The silent-socket flood is
 * also run against Debian's sshd (MaxStartups default 10:30:100) for comparison.
 *
 *   npm run bench:abuse [-- --silent 300 --sources 30 --hold-ms 5000 --rate 1000 --seconds 10 --window-mib 100 --resizes 300]
 *
 * Floods:
 *   silent      --silent sockets from --sources loopback addresses (127.0.2.x) that send nothing, held --hold-ms
 *   handshakes  --rate new connections per second for --seconds: each connects, sends its identification
 *               line, and closes once labd's identification and KEXINIT arrive (or after 2 s)
 *   resize      a guest at the TUI sends --resizes window changes (400x200 / 399x199 alternating), 3 sessions
 *   window      (a) a subscriber advertises 16 GiB of window and stops reading its socket while OpenSSH
 *               publishes --window-mib MiB to it and a healthy subscriber; (b) a publisher sends --window-mib
 *               MiB of CHANNEL_DATA past labd's window
 *   highlighting, gzip bombs, upload-pack hold: issue #24's floods (bench/abuse/*.ts, each says what it does)
 *   crm         issue 24's CRM floods as one member (bench/abuse/crm.ts): a --crm-cards import, three
 *               paged whole-book syncs at once, 3,000-prop-filter queries, 4 MiB PUTs, a JSON export
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type ssh2 from 'ssh2';
import { KeyLab, LabdProcess } from '../test/support/labd.ts';
import { sshClientOptions } from '../test/support/ssh-options.ts';
import { MiB, RssSampler } from '../test/support/rss.ts';
import { execChannel, keyClient, rawChannel } from '../test/support/ssh2-client.ts';
import { gzipFlood } from './abuse/gzip.ts';
import { highlightFlood } from './abuse/highlight.ts';
import { uploadPackHold } from './abuse/upload-pack-hold.ts';
import { GitLab } from '../test/support/git.ts';
import { crmFloods } from './abuse/crm.ts';
import { SshdProcess } from './lib/sshd.ts';
import { percentile, timeSsh } from './lib/timing.ts';

const USAGE = `usage: npm run bench:abuse [-- options]

  --silent N        silent sockets in the silent flood (default 300)
  --sources N       loopback source addresses they come from (default 30)
  --hold-ms N       how long the silent flood is held (default 5000)
  --rate N          new connections per second in the handshake flood (default 1000)
  --seconds N       length of the handshake flood (default 10)
  --resizes N       window changes per TUI session in the resize flood (default 300)
  --window-mib N    MiB pushed in each window flood (default 100)
  --crm-cards N     cards in the CRM import flood (default 30000)
  --no-crm          skip the CRM floods
  --no-sshd         skip the sshd comparison`;

const { values } = parseArgs({
  options: {
    silent: { type: 'string' },
    sources: { type: 'string' },
    'hold-ms': { type: 'string' },
    rate: { type: 'string' },
    seconds: { type: 'string' },
    resizes: { type: 'string' },
    'window-mib': { type: 'string' },
    'crm-cards': { type: 'string' },
    'no-crm': { type: 'boolean' },
    'no-sshd': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const whole = (v: string | undefined, fallback: number, what: string, max: number): number => {
  if (v === undefined) return fallback;
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > max) {
    console.error(`error: ${what}: expected a whole number from 1 to ${max}, got '${v}'\n\n${USAGE}`);
    process.exit(2);
  }
  return Number(v);
};
const o = {
  silent: whole(values.silent, 300, '--silent', 5000),
  sources: whole(values.sources, 30, '--sources', 250),
  holdMs: whole(values['hold-ms'], 5000, '--hold-ms', 60_000),
  rate: whole(values.rate, 1000, '--rate', 5000),
  seconds: whole(values.seconds, 10, '--seconds', 30),
  resizes: whole(values.resizes, 300, '--resizes', 5000),
  windowMib: whole(values['window-mib'], 100, '--window-mib', 1024),
  crmCards: whole(values['crm-cards'], 30_000, '--crm-cards', 200_000),
};

const progress = (msg: string) => process.stderr.write(`${msg}\n`);

interface Figures {
  flood: string;
  target: string;
  what: string;
  peakRssMiB?: number;
  growthMiB?: number;
  healthzP99?: number;
  healthzMax?: number;
  healthzFailed?: number;
  login: string;
}

/** /healthz back to back (20 ms apart) until stopped. */
function healthzProbe(httpPort: number) {
  const latencies: number[] = [];
  let failures = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const t0 = performance.now();
      try {
        const res = await fetch(`http://127.0.0.1:${httpPort}/healthz`, { signal: AbortSignal.timeout(30_000) });
        await res.arrayBuffer();
        if (res.status === 200) latencies.push(performance.now() - t0);
        else failures++;
      } catch {
        failures++;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { p99: latencies.length ? percentile(latencies, 99) : NaN, max: latencies.length ? Math.max(...latencies) : NaN, failures };
    },
  };
}

/** Runs `flood` against labd while sampling RSS and /healthz and trying one OpenSSH login. */
async function measure(
  labd: LabdProcess,
  sshLogin: () => Promise<{ status: number | null; ms: number }>,
  flood: (atFullStrength: () => void) => Promise<string>,
): Promise<Omit<Figures, 'flood' | 'target'>> {
  const rss = new RssSampler(labd.child.pid!);
  const probe = healthzProbe(labd.httpPort);
  let markPeak!: () => void;
  const peak = new Promise<void>((r) => (markPeak = r));
  const login = peak.then(() => sshLogin());
  const what = await flood(markPeak);
  markPeak();
  const l = await login;
  const h = await probe.stop();
  const growth = rss.stop();
  return {
    what,
    peakRssMiB: rss.peak / MiB,
    growthMiB: growth / MiB,
    healthzP99: h.p99,
    healthzMax: h.max,
    healthzFailed: h.failures,
    login: l.status === 0 ? `ok (${(l.ms / 1000).toFixed(1)} s)` : `failed (status ${l.status}, ${(l.ms / 1000).toFixed(1)} s)`,
  };
}

/** A socket from `localAddress` that sends nothing; resolves whether the server sent an SSH identification line. */
function silentSocket(port: number, localAddress: string, sockets: Socket[]): Promise<'held' | 'refused' | 'error'> {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1', localAddress });
    sockets.push(s);
    let settled = false;
    let got = '';
    const done = (v: 'held' | 'refused' | 'error') => {
      if (!settled) {
        settled = true;
        resolve(v);
      }
    };
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (got.startsWith('SSH-')) done('held');
    });
    s.on('close', () => done('refused'));
    s.on('error', () => done('error'));
    setTimeout(() => done('refused'), 10_000).unref();
  });
}

async function silentFlood(port: number, atFullStrength: () => void): Promise<string> {
  const sockets: Socket[] = [];
  const verdicts = await Promise.all(Array.from({ length: o.silent }, (_, i) => silentSocket(port, `127.0.2.${1 + (i % o.sources)}`, sockets)));
  atFullStrength();
  await new Promise((r) => setTimeout(r, o.holdMs));
  const stillOpen = sockets.filter((s) => !s.destroyed && s.readyState === 'open').length;
  for (const s of sockets) s.destroy();
  const held = verdicts.filter((v) => v === 'held').length;
  return `${o.silent} silent sockets from ${o.sources} addresses: ${held} got an SSH identification line, ${stillOpen} held open after ${o.holdMs} ms`;
}

async function handshakeFlood(port: number, atFullStrength: () => void): Promise<string> {
  let opened = 0;
  let kexinit = 0;
  let refused = 0;
  let errors = 0;
  const all: Promise<void>[] = [];
  const one = () =>
    new Promise<void>((resolve) => {
      const s = connect({ port, host: '127.0.0.1', localAddress: `127.0.3.${1 + (opened % 200)}` });
      opened++;
      let got = Buffer.alloc(0);
      let verdict: 'kex' | 'refused' | 'error' | undefined;
      let finished = false;
      const finish = () => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        if (verdict === 'kex') kexinit++;
        else if (verdict === 'error') errors++;
        else refused++;
        s.destroy();
        resolve();
      };
      const timer = setTimeout(finish, 2000);
      s.on('connect', () => s.write('SSH-2.0-abuse_bench\r\n'));
      s.on('data', (d: Buffer) => {
        got = Buffer.concat([got, d]);
        const nl = got.indexOf('\n');
        // After the identification line, a binary packet whose type byte (offset 5) is 20: KEXINIT.
        if (nl >= 0 && got.length >= nl + 1 + 6 && got[nl + 1 + 5] === 20) {
          verdict = 'kex';
          finish();
        }
      });
      s.on('error', () => (verdict ??= 'error'));
      s.on('close', () => verdict !== 'kex' && finish());
    });
  const perTick = Math.max(1, Math.round(o.rate / 100));
  const t0 = Date.now();
  for (let tick = 0; tick < o.seconds * 100; tick++) {
    if (tick === 100) atFullStrength();
    for (let i = 0; i < perTick; i++) all.push(one());
    const next = t0 + (tick + 1) * 10;
    await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
  }
  const elapsed = (Date.now() - t0) / 1000;
  await Promise.all(all);
  return `${opened} connections in ${elapsed.toFixed(1)} s (${(opened / elapsed).toFixed(0)}/s): ${kexinit} reached KEXINIT, ${refused} closed first, ${errors} errors`;
}

async function resizeFlood(labd: LabdProcess, guestKey: string, atFullStrength: () => void): Promise<string> {
  const clients: ssh2.Client[] = [];
  let redrawMarkers = 0;
  await Promise.all(
    [0, 1, 2].map(async () => {
      const client = await keyClient(labd.sshPort, guestKey, 'eve');
      client.on('error', () => undefined);
      clients.push(client);
      const shell = await new Promise<ssh2.ClientChannel>((res, rej) =>
        client.shell({ term: 'xterm', cols: 100, rows: 30 }, (err, ch) => (err ? rej(err) : res(ch))),
      );
      let screen = '';
      shell.on('data', (d: Buffer) => (screen += d.toString('latin1')));
      const closed = new Promise<void>((r) => shell.on('close', () => r()));
      while (!screen.includes('Welcome to labd')) await new Promise((r) => setTimeout(r, 50));
      const before = screen.split('Welcome to labd').length;
      for (let i = 0; i < o.resizes; i++) shell.setWindow(i % 2 ? 199 : 200, i % 2 ? 399 : 400, 0, 0);
      atFullStrength();
      shell.write('q');
      await closed;
      redrawMarkers += screen.split('Welcome to labd').length - before;
    }),
  );
  for (const c of clients) c.end();
  return `3 guest TUI sessions × ${o.resizes} window changes: ${redrawMarkers} redraws in all`;
}

async function windowFloodStalledReader(labd: LabdProcess, key: string, atFullStrength: () => void): Promise<string> {
  const subClient = await keyClient(labd.sshPort, key);
  subClient.on('error', () => undefined);
  const attacker = rawChannel(subClient, await execChannel(subClient, 'sub abuse'));
  for (let i = 0; i < 8; i++) attacker.adjustWindow(0x7fffffff);
  const topics = async () => JSON.parse((await labd.sshAsync(key, ['topics', '--json'])).stdout) as { topic: string; subscribers: number }[];
  while (((await topics()).find((t) => t.topic === 'admin/abuse')?.subscribers ?? 0) < 1) await new Promise((r) => setTimeout(r, 100));
  attacker.socket.pause();
  const healthy = spawn('ssh', [...labd.sshArgs(key), '--', 'sub', 'abuse'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let received = 0;
  healthy.stdout!.on('data', (d: Buffer) => (received += d.length));
  const healthyDone = new Promise((r) => healthy.on('close', r));
  while (((await topics()).find((t) => t.topic === 'admin/abuse')?.subscribers ?? 0) < 2) await new Promise((r) => setTimeout(r, 100));
  const source = spawn('head', ['-c', String(o.windowMib * MiB), '/dev/urandom'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const pub = spawn('ssh', [...labd.sshArgs(key), '--', 'pub', 'abuse'], { stdio: [source.stdout!, 'ignore', 'ignore'] });
  atFullStrength();
  const killer = setTimeout(() => pub.kill('SIGKILL'), 120_000);
  const code = await new Promise((r) => pub.on('close', r));
  clearTimeout(killer);
  await healthyDone;
  subClient.end();
  return `(a) stalled reader with 16 GiB window: pub exit ${code}, healthy subscriber got ${(received / MiB).toFixed(0)} of ${o.windowMib} MiB`;
}

async function windowFloodPastWindow(labd: LabdProcess, key: string, atFullStrength: () => void): Promise<string> {
  const client = await keyClient(labd.sshPort, key);
  client.on('error', () => undefined);
  let closed = false;
  const whenClosed = new Promise<void>((r) => client.on('close', () => ((closed = true), r())));
  const channel = await execChannel(client, 'pub ignored-window');
  let stderr = '';
  channel.stderr.on('data', (d: Buffer) => (stderr += d));
  while (!stderr.includes('waiting for a subscriber')) await new Promise((r) => setTimeout(r, 50));
  const raw = rawChannel(client, channel);
  raw.sendData(Buffer.alloc(100, 1));
  atFullStrength();
  const packet = randomBytes(32 * 1024);
  let sent = 100;
  while (sent < o.windowMib * MiB && !closed && raw.socket.writable) {
    raw.sendData(packet);
    sent += packet.length;
    if (sent % MiB < packet.length) await new Promise((r) => setImmediate(r));
    if (raw.socket.writableLength > 4 * MiB) await Promise.race([new Promise((r) => raw.socket.once('drain', r)), whenClosed]);
  }
  await Promise.race([whenClosed, new Promise((r) => setTimeout(r, 5000))]);
  client.end();
  return `(b) data past the window: ${(raw.socket.bytesWritten / MiB).toFixed(1)} MiB on the wire, connection closed by labd: ${closed}`;
}

async function main(): Promise<void> {
  const lab = new KeyLab();
  const admin = lab.key('admin');
  const guest = lab.key('guest');
  const figures: Figures[] = [];
  // labd's own defaults for the pre-auth limits (the test harness raises the per-source one).
  const labd = await LabdProcess.start({
    adminKeys: [lab.publicKey(admin)],
    env: { LABD_LOG_LEVEL: 'warn', LABD_SSH_MAX_STARTUPS: '100', LABD_SSH_MAX_STARTUPS_PER_SOURCE: '10', LABD_GIT_ANON_ACCESS: 'read-only' },
  });
  let sshd: SshdProcess | undefined;
  try {
    const add = labd.ssh(admin, ['user', 'add', 'eve', '--role', 'guest', '--key', `'${lab.publicKey(guest)}'`]);
    if (add.status !== 0) throw new Error(`user add failed: ${add.stderr}`);
    const labdLogin = () => timeSsh([...labd.sshArgs(admin), '--', 'whoami'], 30_000);
    const run = async (flood: string, fn: (atFullStrength: () => void) => Promise<string>) => {
      progress(`labd: ${flood} …`);
      const f = { flood, target: 'labd', ...(await measure(labd, labdLogin, fn)) };
      progress(`  ${f.what}`);
      figures.push(f);
      // Let the flood's leftovers (grace timers, closing sockets) settle before the next one.
      while ((await metricValue(labd.httpPort, /^labd_ssh_preauth_connections /)) > 0) await new Promise((r) => setTimeout(r, 200));
    };

    await run('silent sockets', (s) => silentFlood(labd.sshPort, s));
    await run('handshakes', (s) => handshakeFlood(labd.sshPort, s));
    await run('resize', (s) => resizeFlood(labd, guest, s));
    await run('window (a)', (s) => windowFloodStalledReader(labd, admin, s));
    await run('window (b)', (s) => windowFloodPastWindow(labd, admin, s));

    // Issue #24: a public repository with one commit, and pastes by the admin.
    if (labd.ssh(admin, ['repo', 'create', 'flood']).status !== 0) throw new Error('repo create failed');
    const git = new GitLab(labd);
    const pushed = git.git(admin, ['push', git.url('flood'), 'main'], { cwd: git.workTree({ 'README.md': '# flood\n' }) });
    if (pushed.status !== 0) throw new Error(`push failed: ${pushed.stderr}`);
    const pid = labd.child.pid!;
    await run('highlighting', (s) =>
      highlightFlood({ httpPort: labd.httpPort, user: 'admin', ssh: (args, input) => labd.sshStart(admin, args, { input }).done }, s),
    );
    await run('gzip bombs', (s) => gzipFlood({ pid, httpPort: labd.httpPort, repo: 'flood' }, s));
    await run('upload-pack hold', (s) => uploadPackHold({ pid, sshPort: labd.sshPort, repo: 'flood' }, s, { holdMs: o.holdMs }));
    if (!values['no-crm']) {
      const member = lab.key('mallory');
      const made = labd.ssh(admin, ['user', 'add', 'mallory', '--role', 'member', '--key', `'${lab.publicKey(member)}'`]);
      if (made.status !== 0) throw new Error(`user add failed: ${made.stderr}`);
      progress('labd: CRM floods …');
      for (const f of await crmFloods({ labd, key: member, user: 'mallory', cards: o.crmCards })) {
        progress(`  ${f.flood}: ${f.what}`);
        figures.push({ ...f, target: 'labd', login: '-' });
      }
    }

    if (!values['no-sshd']) {
      const ca = lab.key('ca');
      sshd = await SshdProcess.start({ authorizedKeys: [lab.publicKey(admin)], caPublicKeyFile: `${ca}.pub`, emptyHome: true, defaultMaxStartups: true });
      const sshdArgs = [...sshClientOptions({ identity: admin, connectTimeout: 10 }), '-p', String(sshd.port), '-T', `${sshd.user}@127.0.0.1`, '--', 'whoami'];
      progress('sshd: silent sockets …');
      let markPeak!: () => void;
      const peak = new Promise<void>((r) => (markPeak = r));
      const login = peak.then(() => timeSsh(sshdArgs, 30_000));
      const what = await silentFlood(sshd.port, markPeak);
      const l = await login;
      progress(`  ${what}`);
      figures.push({
        flood: 'silent sockets',
        target: 'sshd (MaxStartups 10:30:100)',
        what,
        login: l.status === 0 ? `ok (${(l.ms / 1000).toFixed(1)} s)` : `failed (status ${l.status}, ${(l.ms / 1000).toFixed(1)} s)`,
      });
    }
  } finally {
    await sshd?.stop();
    await labd.stop();
    lab.cleanup();
  }

  const fmt = (n: number | undefined, d = 1) => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(d));
  console.log("| flood | target | labd peak RSS MiB (growth) | /healthz p99 ms (max) | healthz failed | OpenSSH login at the flood's peak |");
  console.log('|---|---|---|---|---|---|');
  for (const f of figures)
    console.log(
      `| ${f.flood} | ${f.target} | ${f.peakRssMiB === undefined ? '-' : `${fmt(f.peakRssMiB, 0)} (+${fmt(f.growthMiB)})`} | ${f.healthzP99 === undefined ? '-' : `${fmt(f.healthzP99)} (${fmt(f.healthzMax)})`} | ${f.healthzFailed ?? '-'} | ${f.login} |`,
    );
  console.log('');
  for (const f of figures) console.log(`- ${f.target}, ${f.flood}: ${f.what}`);
}

async function metricValue(httpPort: number, line: RegExp): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const m = text.split('\n').find((l) => line.test(l));
  return m ? Number(m.split(' ').pop()) : 0;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
