/**
 * bench/pubsub: one publisher to 1, 10 and 100 subscribers, all real OpenSSH clients against labd.
 * For each fan-out: bulk throughput (MB/s delivered, summed over subscribers, and per subscriber)
 * and the latency of small messages from the publisher's stdin to each subscriber's stdout (p50/p99).
 *
 *   npx tsx bench/pubsub.ts [--fanout 1,10,100] [--mb N] [--messages 200] [--interval-ms 5]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { KeyLab, LabdProcess } from '../test/support/labd.ts';
import { median, percentile } from './lib/timing.ts';

const USAGE = `usage: npx tsx bench/pubsub.ts [options]

  --fanout LIST       subscriber counts to measure (default 1,10,100)
  --mb N              MiB each subscriber receives in the throughput run (default: 64 / fan-out, at least 2)
  --messages N        small messages in the latency run (default 200)
  --interval-ms N     pause between small messages (default 5)
  --buffer BYTES      labd's pubsub.subscriberBuffer (default: labd's default)`;

const { values } = parseArgs({
  options: {
    fanout: { type: 'string' },
    mb: { type: 'string' },
    messages: { type: 'string' },
    'interval-ms': { type: 'string' },
    buffer: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const whole = (v: string | undefined, fallback: number, what: string): number => {
  if (v === undefined) return fallback;
  if (!/^\d+$/.test(v) || Number(v) < 1) {
    console.error(`error: ${what}: expected a positive whole number, got '${v}'\n\n${USAGE}`);
    process.exit(2);
  }
  return Number(v);
};
const fanouts = (values.fanout ?? '1,10,100').split(',').map((n) => whole(n, 1, '--fanout'));
const messages = whole(values.messages, 200, '--messages');
const intervalMs = whole(values['interval-ms'], 5, '--interval-ms');

interface Sub {
  child: ChildProcess;
  bytes: number;
  exited: Promise<number | null>;
}

async function main(): Promise<void> {
  const lab = new KeyLab();
  const admin = lab.key('admin');
  const env: Record<string, string> = { LABD_LOG_LEVEL: 'warn' };
  if (values.buffer) env.LABD_PUBSUB_SUBSCRIBER_BUFFER = String(whole(values.buffer, 0, '--buffer'));
  const labd = await LabdProcess.start({ adminKeys: [lab.publicKey(admin)], env });
  const ssh = (command: string[], stdio: ('pipe' | 'ignore')[]) => spawn('ssh', [...labd.sshArgs(admin), '--', ...command], { stdio: stdio as never });

  const subscribers = (topic: string, n: number, onData: (i: number, d: Buffer) => void): Sub[] =>
    Array.from({ length: n }, (_, i) => {
      const child = ssh(['sub', topic], ['ignore', 'pipe', 'ignore']);
      const sub: Sub = { child, bytes: 0, exited: new Promise((r) => child.on('close', (code) => r(code))) };
      child.stdout!.on('data', (d: Buffer) => {
        sub.bytes += d.length;
        onData(i, d);
      });
      return sub;
    });

  const waitForSubscribers = (topic: string, n: number) => waitForTopic(topic, (t) => t.subscribers === n);
  const waitForTopic = async (topic: string, ok: (t: { subscribers: number; publishers: number }) => boolean) => {
    for (;;) {
      const child = ssh(['topics', '--json'], ['ignore', 'pipe', 'ignore']);
      let out = '';
      child.stdout!.on('data', (d) => (out += d));
      await new Promise((r) => child.on('close', r));
      const row = (JSON.parse(out || '[]') as { topic: string; subscribers: number; publishers: number }[]).find((t) => t.topic === `admin/${topic}`);
      if (row && ok(row)) return;
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  const rows: string[] = [];
  try {
    for (const n of fanouts) {
      // Latency: small numbered lines, paced so the topic is never saturated.
      const sentAt: number[] = [performance.now()];
      const latencies: number[] = [];
      const partial: string[] = Array.from({ length: n }, () => '');
      const lat = subscribers(`lat${n}`, n, (i, d) => {
        const now = performance.now();
        const text = partial[i] + d.toString();
        const lines = text.split('\n');
        partial[i] = lines.pop()!;
        for (const line of lines) latencies.push(now - sentAt[Number(line)]!);
      });
      await waitForSubscribers(`lat${n}`, n);
      const latPub = ssh(['pub', '-c', `lat${n}`], ['pipe', 'ignore', 'ignore']);
      // Time only messages sent once the publisher is attached (not the SSH handshake).
      latPub.stdin!.write('0\n');
      await waitForTopic(`lat${n}`, (t) => t.publishers === 1);
      await new Promise((r) => setTimeout(r, 500));
      latencies.length = 0;
      for (let seq = 1; seq <= messages; seq++) {
        sentAt[seq] = performance.now();
        latPub.stdin!.write(`${seq}\n`);
        await new Promise((r) => setTimeout(r, intervalMs));
      }
      latPub.stdin!.end();
      const latCodes = await Promise.all(lat.map((s) => s.exited));

      // Throughput: one bulk stream; time until every subscriber has it all and has exited.
      const mib = values.mb ? whole(values.mb, 1, '--mb') : Math.max(2, Math.round(64 / n));
      const payload = randomBytes(mib * 1024 * 1024);
      const bulk = subscribers(`bulk${n}`, n, () => {});
      await waitForSubscribers(`bulk${n}`, n);
      const started = performance.now();
      const pub = ssh(['pub', '-c', `bulk${n}`], ['pipe', 'ignore', 'ignore']);
      pub.stdin!.end(payload);
      const codes = await Promise.all(bulk.map((s) => s.exited));
      const seconds = (performance.now() - started) / 1000;
      const complete = bulk.filter((s, i) => codes[i] === 0 && s.bytes === payload.length).length;
      const delivered = bulk.reduce((sum, s) => sum + s.bytes, 0) / (1024 * 1024);
      rows.push(
        [
          String(n).padStart(7),
          `${mib} MiB`.padStart(9),
          (delivered / seconds).toFixed(1).padStart(14),
          (mib / seconds).toFixed(1).padStart(12),
          `${complete}/${n}`.padStart(9),
          median(latencies).toFixed(2).padStart(9),
          percentile(latencies, 99).toFixed(2).padStart(9),
          `${latencies.length}/${n * messages}${latCodes.every((c) => c === 0) ? '' : ' (sub failed)'}`.padStart(14),
        ].join('  '),
      );
      console.error(`fan-out ${n} done`);
    }
  } finally {
    await labd.stop();
    lab.cleanup();
  }
  console.log(`pubsub over SSH (labd, OpenSSH clients on loopback), ${messages} latency messages every ${intervalMs} ms`);
  console.log(
    ['fan-out', 'per sub', 'total MB/s', 'MB/s per sub', 'complete', 'p50 ms', 'p99 ms', 'latency n']
      .map((h, i) => h.padStart([7, 9, 14, 12, 9, 9, 9, 14][i]!))
      .join('  '),
  );
  for (const r of rows) console.log(r);
}

await main();
