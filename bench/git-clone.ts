/**
 * bench/git-clone: clones a generated repository (about 50 MB packed, many commits and files)
 * with the real git client through labd's SSH (git-upload-pack run by labd) and through Debian's
 * OpenSSH sshd running git-upload-pack, alternating, in the same run; prints the medians and the
 * ratio (aim: labd ≤ 1.0× sshd), then labd's peak RSS (the node process, sampled from /proc)
 * during 10 concurrent clones. The client is pinned to the key exchange labd negotiates
 * (curve25519-sha256) for both targets: sshd's default post-quantum one costs ≈ 0.5 s per connection here.
 *
 *   npm run bench:git-clone -- [--runs 3] [--mb 50] [--concurrent 10]
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { KeyLab, LabdProcess, run } from '../test/support/labd.ts';
import { sshClientOptions } from '../test/support/ssh-options.ts';
import { runtimeLine } from './lib/runtime.ts';
import { SshdProcess } from './lib/sshd.ts';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '3' }, mb: { type: 'string', default: '50' }, concurrent: { type: 'string', default: '10' } },
});
const RUNS = Math.min(Math.max(Number(values.runs), 1), 20);
const MB = Math.min(Math.max(Number(values.mb), 1), 500);
const CONCURRENT = Math.min(Math.max(Number(values.concurrent), 1), 50);

const KEX = 'curve25519-sha256';
const scratch = mkdtempSync(join(tmpdir(), 'labd-bench-git-'));
const gitEnv = (identity: string): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: scratch,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_SSH_COMMAND: ['ssh', ...sshClientOptions({ identity }), '-o', `KexAlgorithms=${KEX}`].join(' '),
});

/** A bare repository of about `mb` MB: 200 commits, each adding files of incompressible bytes. */
function generate(path: string, mb: number): void {
  if (run('git', ['init', '-q', '--bare', '-b', 'main', path]).status !== 0) throw new Error('git init failed');
  const commits = 200;
  const filesPerCommit = 5;
  const fileBytes = Math.floor((mb * 1024 * 1024) / (commits * filesPerCommit));
  const parts: Buffer[] = [];
  let mark = 0;
  const random = (n: number) => randomBytes(n);
  for (let c = 0; c < commits; c++) {
    const blobs: number[] = [];
    for (let f = 0; f < filesPerCommit; f++) {
      const data = random(fileBytes);
      parts.push(Buffer.from(`blob\nmark :${++mark}\ndata ${data.length}\n`), data, Buffer.from('\n'));
      blobs.push(mark);
    }
    const msg = `commit ${c}`;
    parts.push(Buffer.from(`commit refs/heads/main\ncommitter Bench <bench@example.com> ${1700000000 + c} +0000\ndata ${msg.length}\n${msg}\n`));
    blobs.forEach((m, f) => parts.push(Buffer.from(`M 100644 :${m} dir${c % 20}/file-${c}-${f}.bin\n`)));
    parts.push(Buffer.from('\n'));
  }
  const r = spawnSync('git', ['--git-dir', path, 'fast-import', '--quiet'], { input: Buffer.concat(parts), maxBuffer: 1024 ** 3 });
  if (r.status !== 0) throw new Error(`fast-import failed: ${r.stderr}`);
  run('git', ['--git-dir', path, 'repack', '-adq']);
}

function cloneOnce(url: string, identity: string, dest: string): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['clone', '-q', '--bare', url, dest], { env: gitEnv(identity), stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => {
      rmSync(dest, { recursive: true, force: true });
      if (code === 0) resolve(performance.now() - started);
      else reject(new Error(`clone of ${url} failed: ${err}`));
    });
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
/**
 * CPU seconds from /proc/PID/stat: the process's own (user + system) and that of its children it has
 * waited for. Load on the machine stretches wall time, not these: labd's own CPU per clone beside
 * sshd's session processes (git-upload-pack is in both targets' children) says which transport costs more.
 */
const TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
function cpu(pid: number): { self: number; children: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const n = (i: number) => Number(fields[i - 3]);
  return { self: (n(14) + n(15)) / TICKS, children: (n(16) + n(17)) / TICKS };
}
const rssKb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);

const lab = new KeyLab();
let labd: LabdProcess | undefined;
let sshd: SshdProcess | undefined;
try {
  const key = lab.key('bench');
  const source = join(scratch, 'source.git');
  let t = performance.now();
  generate(source, MB);
  const packed = run('du', ['-sm', source]).stdout.split('\t')[0];
  console.log(runtimeLine());
  console.log(`generated ${source}: ${packed} MB on disk, 200 commits, 1000 files (${((performance.now() - t) / 1000).toFixed(1)} s)`);

  // One user's concurrent clones are over git.maxProcessesPerClient (8) by design: raised for the bench.
  labd = await LabdProcess.start({
    adminKeys: [lab.publicKey(key)],
    env: { LABD_LOG_LEVEL: 'warn', LABD_GIT_MAX_PROCESSES_PER_CLIENT: String(Math.max(8, CONCURRENT)) },
  });
  t = performance.now();
  const imported = labd.ssh(key, ['repo', 'import', 'bench', source]);
  if (imported.status !== 0) throw new Error(imported.stderr);
  sshd = await SshdProcess.start({ authorizedKeys: [lab.publicKey(key)], caPublicKeyFile: '/dev/null', emptyHome: true });
  const labdUrl = `ssh://labd@127.0.0.1:${labd.sshPort}/bench.git`;
  // sshd serves the very repository labd stores (same packs, same index, no bitmap unless labd wrote
  // one): the generated source was repacked with a bitmap, which alone makes git's object counting
  // faster, and would compare two repositories instead of two transports.
  const stored = join(labd.dataDir, 'repos', 'bench.git');
  const sshdUrl = `ssh://${sshd.user}@127.0.0.1:${sshd.port}${stored}`;

  await cloneOnce(labdUrl, key, join(scratch, 'warm-labd'));
  await cloneOnce(sshdUrl, key, join(scratch, 'warm-sshd'));
  const viaLabd: number[] = [];
  const viaSshd: number[] = [];
  const labdPid = labd.child.pid!;
  const sshdPid = sshd.child.pid!;
  const cpuLabd = { self: 0, children: 0 };
  let cpuSshd = 0;
  // The client's side (git clone, its ssh and index-pack): this process's waited-for children.
  const client = { labd: 0, sshd: 0 };
  for (let i = 0; i < RUNS; i++) {
    const l0 = cpu(labdPid);
    const c0 = cpu(process.pid).children;
    viaLabd.push(await cloneOnce(labdUrl, key, join(scratch, `labd-${i}`)));
    const l1 = cpu(labdPid);
    cpuLabd.self += l1.self - l0.self;
    cpuLabd.children += l1.children - l0.children;
    const c1 = cpu(process.pid).children;
    client.labd += c1 - c0;
    const s0 = cpu(sshdPid);
    viaSshd.push(await cloneOnce(sshdUrl, key, join(scratch, `sshd-${i}`)));
    client.sshd += cpu(process.pid).children - c1;
    // sshd reaps its session process (and that one its shell and git) when the connection ends.
    await new Promise((r) => setTimeout(r, 200));
    cpuSshd += cpu(sshdPid).children - s0.children;
  }
  const l = median(viaLabd);
  const s = median(viaSshd);
  console.log(`clone, median of ${RUNS}: labd ${(l / 1000).toFixed(2)} s, sshd ${(s / 1000).toFixed(2)} s, ratio labd/sshd ${(l / s).toFixed(2)} (aim ≤ 1.00)`);
  console.log(
    `CPU per clone: labd ${(cpuLabd.self / RUNS).toFixed(2)} s + its git ${(cpuLabd.children / RUNS).toFixed(2)} s = ${((cpuLabd.self + cpuLabd.children) / RUNS).toFixed(2)} s; ` +
      `sshd's session processes with their git ${(cpuSshd / RUNS).toFixed(2)} s`,
  );
  console.log(
    `client CPU per clone (git clone, ssh, index-pack): from labd ${(client.labd / RUNS).toFixed(2)} s, from sshd ${(client.sshd / RUNS).toFixed(2)} s`,
  );

  const pid = labd.child.pid!;
  const before = rssKb(pid);
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, rssKb(pid))), 50);
  t = performance.now();
  await Promise.all(Array.from({ length: CONCURRENT }, (_, i) => cloneOnce(labdUrl, key, join(scratch, `conc-${i}`))));
  clearInterval(sampler);
  console.log(
    `${CONCURRENT} concurrent clones through labd: ${((performance.now() - t) / 1000).toFixed(1)} s; labd RSS ${Math.round(before / 1024)} MB before, peak ${Math.round(peak / 1024)} MB (git upload-pack processes not counted)`,
  );
} finally {
  await labd?.stop();
  await sshd?.stop();
  lab.cleanup();
  rmSync(scratch, { recursive: true, force: true });
}
