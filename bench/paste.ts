/**
 * bench/paste: upload throughput of one big paste through labd (`ssh HOST paste NAME < file`)
 * and through Debian's OpenSSH sshd (`ssh HOST 'cat > file'`), with the same OpenSSH client,
 * the same random input and alternating runs in one process; prints MB/s and the ratio.
 *
 *   npx tsx bench/paste.ts [--mb 100] [--runs 3]
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { KeyLab, LabdProcess } from '../test/support/labd.ts';
import { describeWork, labdWork } from './lib/labd-work.ts';
import { sshClientOptions } from '../test/support/ssh-options.ts';
import { runtimeLine } from './lib/runtime.ts';
import { SshdProcess } from './lib/sshd.ts';
import { median } from './lib/timing.ts';

const USAGE = `usage: npx tsx bench/paste.ts [--mb N] [--runs N]

  --mb N     size of the upload in MB (10^6 bytes; default 100, max 1000)
  --runs N   timed uploads per target, alternating labd and sshd (default 3, max 20)`;

function count(name: string, raw: string | undefined, dflt: number, max: number): number {
  if (raw === undefined) return dflt;
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > max) {
    process.stderr.write(`error: --${name}: expected a whole number from 1 to ${max}, got '${raw}'\n${USAGE}\n`);
    process.exit(2);
  }
  return Number(raw);
}

/** The key exchange labd (ssh2) and OpenSSH agree on. */
const KEX = 'curve25519-sha256';

/** Wall time of `ssh ARGS < file`, from spawn to exit. */
function timeUpload(args: string[], file: string, timeoutMs: number): Promise<{ ms: number; status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const input = openSync(file, 'r');
    const start = process.hrtime.bigint();
    const child = spawn('ssh', args, { stdio: [input, 'ignore', 'pipe'] });
    closeSync(input);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => (stderr += String(err)));
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ ms: Number(process.hrtime.bigint() - start) / 1e6, status, stderr });
    });
  });
}

function writeRandomFile(path: string, bytes: number): void {
  const fd = openSync(path, 'w');
  const chunk = 1024 * 1024;
  for (let done = 0; done < bytes; done += chunk) writeSync(fd, randomBytes(Math.min(chunk, bytes - done)));
  closeSync(fd);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { mb: { type: 'string' }, runs: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  const mb = count('mb', values.mb, 100, 1000);
  const runs = count('runs', values.runs, 3, 20);
  const bytes = mb * 1_000_000;
  const timeoutMs = 60_000 + bytes / 1000; // generous: at least 1 MB/s

  const scratch = mkdtempSync(join(tmpdir(), 'labd-bench-paste-'));
  const lab = new KeyLab();
  let labd: LabdProcess | undefined;
  let sshd: SshdProcess | undefined;
  try {
    const input = join(scratch, 'input.bin');
    writeRandomFile(input, bytes);
    const key = lab.key('bench');
    const ca = lab.key('ca');
    labd = await LabdProcess.start({ adminKeys: [lab.publicKey(key)], env: { LABD_PASTE_MAX_SIZE: String(bytes), LABD_LOG_LEVEL: 'warn' } });
    sshd = await SshdProcess.start({ authorizedKeys: [lab.publicKey(key)], caPublicKeyFile: `${ca}.pub`, emptyHome: true });
    const sshdArgs = (command: string) => [
      ...sshClientOptions({ identity: key }),
      '-p',
      String(sshd!.port),
      '-T',
      // The key exchange labd negotiates: sshd's default (sntrup761x25519) costs ~0.5 s more per
      // connection here, which would flatter labd on an upload of a second or two.
      '-o',
      `KexAlgorithms=${KEX}`,
      `${sshd!.user}@127.0.0.1`,
      '--',
      command,
    ];
    const target = join(scratch, 'sshd-upload.bin');
    const targets = {
      labd: { args: [...labd.sshArgs(key), '--', 'paste', 'bench.bin'], check: () => storedLabdSize(labd!, key) },
      sshd: { args: sshdArgs(`cat > '${target}'`), check: () => statSync(target).size },
    };
    const samples: Record<keyof typeof targets, number[]> = { labd: [], sshd: [] };
    process.stdout.write(`${runtimeLine()}\n`);
    process.stdout.write(`upload of ${mb} MB (random bytes), ${runs} runs per target, alternating; sshd with KexAlgorithms=${KEX} as labd\n`);
    for (let i = 0; i < runs; i++) {
      for (const name of ['labd', 'sshd'] as const) {
        const r = await timeUpload(targets[name].args, input, timeoutMs);
        if (r.status !== 0) throw new Error(`${name} upload failed (exit ${r.status}): ${r.stderr.trim()}`);
        const stored = targets[name].check();
        if (stored !== bytes) throw new Error(`${name} stored ${stored} bytes, expected ${bytes}`);
        samples[name].push(r.ms);
        process.stdout.write(`  run ${i + 1} ${name}: ${(r.ms / 1000).toFixed(2)} s, ${(bytes / 1e6 / (r.ms / 1000)).toFixed(1)} MB/s\n`);
      }
    }
    const rate = (name: keyof typeof targets) => bytes / 1e6 / (median(samples[name]) / 1000);
    const labdRate = rate('labd');
    const sshdRate = rate('sshd');
    process.stdout.write(`median labd: ${labdRate.toFixed(1)} MB/s\n`);
    process.stdout.write(`median sshd: ${sshdRate.toFixed(1)} MB/s\n`);
    process.stdout.write(`ratio labd/sshd: ${(labdRate / sshdRate).toFixed(2)} (aim: at least 0.70)\n`);
    process.stdout.write(`${describeWork(await labdWork(labd))}\n`);
  } finally {
    await labd?.stop();
    await sshd?.stop();
    lab.cleanup();
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The size labd recorded for the uploaded paste (after it replaced the previous run's). */
function storedLabdSize(labd: LabdProcess, key: string): number {
  const r = labd.ssh(key, ['paste', 'ls', '--json']);
  if (r.status !== 0) throw new Error(`paste ls failed: ${r.stderr.trim()}`);
  const paste = (JSON.parse(r.stdout) as { name: string; size: number }[]).find((p) => p.name === 'bench.bin');
  return paste?.size ?? -1;
}

main().catch((err: unknown) => {
  process.stderr.write(`error: ${(err as Error).message}\n`);
  process.exit(1);
});
