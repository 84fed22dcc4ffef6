/**
 * bench/pubsub: one publisher to 1, 10 and 100 subscribers, all real OpenSSH clients against labd.
 * For each fan-out: bulk throughput (MB/s delivered, summed over subscribers, and per subscriber)
 * and the latency of small messages from the publisher's stdin to each subscriber's stdout (p50/p99).
 * With --replicas 2 the same run also measures two labd replicas joined by a nats-server (Debian's
 * /usr/sbin/nats-server): the publisher on the first, the subscribers split between both, printed
 * beside the single process. Beside the timings, the CPU time labd and the clients (the ssh processes
 * and this bench reading their pipes) spent per MiB and per message per subscriber: on the shared
 * 2-core machine it says which side saturated, and it depends far less on the load than the timings.
 *
 *   npx tsx bench/pubsub.ts [--fanout 1,10,100] [--mb N] [--messages 200] [--interval-ms 5] [--replicas 2]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { KeyLab, LabdProcess } from '../test/support/labd.ts';
import { describeWork, labdWork } from './lib/labd-work.ts';
import { NatsServer } from '../test/support/nats-server.ts';
import { median, percentile } from './lib/timing.ts';

const USAGE = `usage: npx tsx bench/pubsub.ts [options]

  --fanout LIST       subscriber counts to measure (default 1,10,100)
  --mb N              MiB each subscriber receives in the throughput run (default: 64 / fan-out, at least 2)
  --messages N        small messages in the latency run (default 200)
  --interval-ms N     pause between small messages (default 5)
  --buffer BYTES      labd's pubsub.subscriberBuffer (default: labd's default)
  --replicas N        also measure N labd replicas over NATS (2: subscribers split between both), beside one process`;

const { values } = parseArgs({
  options: {
    fanout: { type: 'string' },
    mb: { type: 'string' },
    messages: { type: 'string' },
    'interval-ms': { type: 'string' },
    buffer: { type: 'string' },
    replicas: { type: 'string' },
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
const replicas = whole(values.replicas, 1, '--replicas');

interface Sub {
  child: ChildProcess;
  bytes: number;
  exited: Promise<number | null>;
  /** The ssh client's CPU seconds when the measured phase began, and once it had every byte. */
  cpuAtStart: number;
  cpuAtEnd: number;
}

/**
 * CPU seconds (user + system) a process has used so far, from /proc (Linux's USER_HZ is 100); 0 once
 * it is gone. Timings depend on the machine's load; CPU time per MiB or per message much less, and it
 * says which side saturates: labd, or the clients (the ssh processes and this bench reading their pipes).
 */
function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

async function main(): Promise<void> {
  const lab = new KeyLab();
  const admin = lab.key('admin');
  const env: Record<string, string> = { LABD_LOG_LEVEL: 'warn' };
  if (values.buffer) env.LABD_PUBSUB_SUBSCRIBER_BUFFER = String(whole(values.buffer, 0, '--buffer'));
  const started: LabdProcess[] = [];
  let nats: NatsServer | undefined;
  const setups: { name: string; labds: LabdProcess[] }[] = [];
  const rows: string[] = [];
  let work = '';
  try {
    const single = await LabdProcess.start({ adminKeys: [lab.publicKey(admin)], env });
    started.push(single);
    setups.push({ name: '1 process', labds: [single] });
    if (replicas > 1) {
      nats = await NatsServer.start();
      const group = await Promise.all(
        Array.from({ length: replicas }, () => LabdProcess.start({ adminKeys: [lab.publicKey(admin)], env: { ...env, LABD_NATS_URL: nats!.url } })),
      );
      started.push(...group);
      setups.push({ name: `${replicas} replicas`, labds: group });
    }
    for (const n of fanouts) {
      for (const setup of setups) {
        rows.push(await measure(setup.name, setup.labds, admin, n));
        console.error(`${setup.name}: fan-out ${n} done`);
      }
    }
    work = describeWork(await labdWork(started[0]!));
  } finally {
    await Promise.all(started.map((l) => l.stop()));
    await nats?.stop();
    lab.cleanup();
  }
  console.log(`pubsub over SSH (labd, OpenSSH clients on loopback), ${messages} latency messages every ${intervalMs} ms`);
  if (replicas > 1)
    console.log(
      `${replicas} replicas: one nats-server; the publisher on the first replica, the subscribers split between all (the first on the second replica)`,
    );
  console.log(
    [
      'setup',
      'fan-out',
      'per sub',
      'total MB/s',
      'MB/s per sub',
      'complete',
      'p50 ms',
      'p99 ms',
      'latency n',
      'labd ms/MiB',
      'clients ms/MiB',
      'labd µs/msg/sub',
      'clients µs/msg/sub',
    ]
      .map((h, i) => h.padStart([11, 7, 9, 14, 12, 9, 9, 9, 14, 11, 14, 15, 18][i]!))
      .join('  '),
  );
  for (const r of rows) console.log(r);
  console.log(
    'CPU per MiB delivered (throughput run) and per message per subscriber (latency run): labd (all its processes), and the clients\n' +
      "(the subscribers' and publisher's ssh processes, and this bench reading their pipes); the side near its cores' limit is the bottleneck",
  );
  console.log(work);
}

/** One fan-out on one setup: the publisher on the first labd, subscriber i on labd (i + 1) mod count (with two replicas the first subscriber is on the other one). */
async function measure(setupName: string, labds: LabdProcess[], admin: string, n: number): Promise<string> {
  const ssh = (labd: LabdProcess, command: string[], stdio: ('pipe' | 'ignore')[]) =>
    spawn('ssh', [...labd.sshArgs(admin), '--', ...command], { stdio: stdio as never });
  const first = labds[0]!;

  const subscribers = (topic: string, count: number, onData: (i: number, d: Buffer) => void): Sub[] =>
    Array.from({ length: count }, (_, i) => {
      const child = ssh(labds[(i + 1) % labds.length]!, ['sub', topic], ['ignore', 'pipe', 'ignore']);
      const sub: Sub = { child, bytes: 0, exited: new Promise((r) => child.on('close', (code) => r(code))), cpuAtStart: 0, cpuAtEnd: 0 };
      child.stdout!.on('data', (d: Buffer) => {
        sub.bytes += d.length;
        onData(i, d);
      });
      return sub;
    });

  // Counts over every replica (topics sums them), asked of the publisher's.
  const waitForSubscribers = (topic: string, count: number) => waitForTopic(topic, (t) => t.subscribers === count);
  const waitForTopic = async (topic: string, ok: (t: { subscribers: number; publishers: number }) => boolean) => {
    for (;;) {
      const child = ssh(first, ['topics', '--json'], ['ignore', 'pipe', 'ignore']);
      let out = '';
      child.stdout!.on('data', (d) => (out += d));
      await new Promise((r) => child.on('close', r));
      const row = (JSON.parse(out || '[]') as { topic: string; subscribers: number; publishers: number }[]).find((t) => t.topic === `admin/${topic}`);
      if (row && ok(row)) return;
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  /** CPU used from now on by every labd, and by the clients: the subscribers (up to their cpuAtEnd), the publisher and this bench. */
  const cpuMeter = (subs: Sub[], publisher: ChildProcess) => {
    const labdAt = labds.reduce((sum, l) => sum + cpuSeconds(l.child.pid), 0);
    const publisherAt = cpuSeconds(publisher.pid);
    // The publisher may exit before the subscribers are done: its last reading counts.
    let publisherNow = publisherAt;
    const sampler = setInterval(() => (publisherNow = Math.max(publisherNow, cpuSeconds(publisher.pid))), 20);
    const benchAt = process.cpuUsage();
    for (const s of subs) s.cpuAtStart = cpuSeconds(s.child.pid);
    return {
      used: () => {
        clearInterval(sampler);
        publisherNow = Math.max(publisherNow, cpuSeconds(publisher.pid));
        const bench = process.cpuUsage(benchAt);
        const subscribers = subs.reduce((sum, s) => sum + Math.max(0, (s.cpuAtEnd || cpuSeconds(s.child.pid)) - s.cpuAtStart), 0);
        return {
          labd: labds.reduce((sum, l) => sum + cpuSeconds(l.child.pid), 0) - labdAt,
          clients: subscribers + publisherNow - publisherAt + (bench.user + bench.system) / 1e6,
        };
      },
    };
  };

  // Latency: small numbered lines, paced so the topic is never saturated.
  const tag = `${labds.length}x${n}`;
  const sentAt: number[] = [performance.now()];
  const latencies: number[] = [];
  const partial: string[] = Array.from({ length: n }, () => '');
  const lat = subscribers(`lat${tag}`, n, (i, d) => {
    const now = performance.now();
    const text = partial[i] + d.toString();
    const lines = text.split('\n');
    partial[i] = lines.pop()!;
    for (const line of lines) latencies.push(now - sentAt[Number(line)]!);
  });
  await waitForSubscribers(`lat${tag}`, n);
  const latPub = ssh(first, ['pub', '-c', `lat${tag}`], ['pipe', 'ignore', 'ignore']);
  // Time only messages sent once the publisher is attached (not the SSH handshake).
  latPub.stdin!.write('0\n');
  await waitForTopic(`lat${tag}`, (t) => t.publishers === 1);
  await new Promise((r) => setTimeout(r, 500));
  latencies.length = 0;
  const latCpu = cpuMeter(lat, latPub);
  for (let seq = 1; seq <= messages; seq++) {
    sentAt[seq] = performance.now();
    latPub.stdin!.write(`${seq}\n`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  // The last messages' delivery, then the CPU of the run (before the clients exit).
  await new Promise((r) => setTimeout(r, 200));
  for (const s of lat) s.cpuAtEnd = cpuSeconds(s.child.pid);
  const latUse = latCpu.used();
  latPub.stdin!.end();
  const latCodes = await Promise.all(lat.map((s) => s.exited));

  // Throughput: one bulk stream; time until every subscriber has it all and has exited.
  const mib = values.mb ? whole(values.mb, 1, '--mb') : Math.max(2, Math.round(64 / n));
  const payload = randomBytes(mib * 1024 * 1024);
  const bulk: Sub[] = subscribers(`bulk${tag}`, n, (i) => {
    const s = bulk[i]!;
    if (s.bytes === payload.length) s.cpuAtEnd = cpuSeconds(s.child.pid);
  });
  await waitForSubscribers(`bulk${tag}`, n);
  // Timed from the first byte written to an attached publisher (its SSH login is not the topic's throughput).
  const pub = ssh(first, ['pub', '-c', `bulk${tag}`], ['pipe', 'ignore', 'ignore']);
  await waitForTopic(`bulk${tag}`, (t) => t.publishers === 1);
  const bulkCpu = cpuMeter(bulk, pub);
  const started = performance.now();
  pub.stdin!.end(payload);
  const codes = await Promise.all(bulk.map((s) => s.exited));
  const seconds = (performance.now() - started) / 1000;
  const bulkUse = bulkCpu.used();
  const complete = bulk.filter((s, i) => codes[i] === 0 && s.bytes === payload.length).length;
  const delivered = bulk.reduce((sum, s) => sum + s.bytes, 0) / (1024 * 1024);
  return [
    setupName.padStart(11),
    String(n).padStart(7),
    `${mib} MiB`.padStart(9),
    (delivered / seconds).toFixed(1).padStart(14),
    (mib / seconds).toFixed(1).padStart(12),
    `${complete}/${n}`.padStart(9),
    median(latencies).toFixed(2).padStart(9),
    percentile(latencies, 99).toFixed(2).padStart(9),
    `${latencies.length}/${n * messages}${latCodes.every((c) => c === 0) ? '' : ' (sub failed)'}`.padStart(14),
    ((bulkUse.labd * 1000) / delivered).toFixed(1).padStart(11),
    ((bulkUse.clients * 1000) / delivered).toFixed(1).padStart(14),
    ((latUse.labd * 1e6) / (messages * n)).toFixed(1).padStart(15),
    ((latUse.clients * 1e6) / (messages * n)).toFixed(1).padStart(18),
  ].join('  ');
}

await main();
