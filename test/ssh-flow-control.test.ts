/**
 * SSH flow control both ways (issue 10, item 3), attacked with a hand-driven ssh2 client:
 * (a) a subscriber advertises a huge window and stops reading its TCP socket while a publisher
 *     pushes 300 MiB; (b) a publisher sends CHANNEL_DATA past the window labd advertised.
 * labd runs as its own process; its VmRSS is sampled while the attack runs. The bound
 * (< 100 MiB growth for 300 MiB pushed) is about buffering, not time.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type ssh2 from 'ssh2';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { KeyLab, LabdProcess } from './support/labd.ts';
import { MiB, RssSampler } from './support/rss.ts';
import { execChannel, keyClient, rawChannel } from './support/ssh2-client.ts';
import { until } from './support/wait.ts';

const PUSHED = 300 * MiB;
const GROWTH_BOUND = 100 * MiB;

describe('SSH flow control: a peer cannot make labd buffer without bound', () => {
  const lab = new KeyLab();
  let key: string;
  let labd: LabdProcess;
  const clients: ssh2.Client[] = [];

  before(async () => {
    key = lab.key('admin');
    labd = await LabdProcess.start({ adminKeys: [lab.publicKey(key)] });
  });

  after(async () => {
    for (const c of clients) c.end();
    await labd?.stop();
    lab.cleanup();
  });

  async function connect(): Promise<ssh2.Client> {
    const c = await keyClient(labd.sshPort, key);
    c.on('error', () => undefined);
    clients.push(c);
    return c;
  }

  async function subscribers(topic: string): Promise<number | undefined> {
    const r = await labd.sshAsync(key, ['topics', '--json']);
    const list = JSON.parse(r.stdout) as { topic: string; subscribers: number }[];
    return list.find((t) => t.topic === topic)?.subscribers;
  }

  test('(a) a subscriber with a huge window that stops reading its socket is dropped; labd does not buffer what is published', async () => {
    // Stop reading: the kernel's receive buffer fills, then labd's socket can only buffer.
    await stalledSubscriberAttack('flood', 'stops reading its socket', (_client, attacker) => attacker.socket.pause());
  });

  test('(a) a subscriber with a huge window that starts a key re-exchange and never finishes it is dropped; labd does not queue what is published', async () => {
    // The client sends KEXINIT, then nothing: labd answers with its own KEXINIT and, until the
    // exchange completes, holds every outgoing packet in ssh2's queue instead of the socket.
    await stalledSubscriberAttack('rekey', 'stalls a key re-exchange', (client, attacker) => {
      (client as unknown as { _protocol: { rekey(): void } })._protocol.rekey();
      attacker.socket.write = (() => true) as typeof attacker.socket.write;
    });
  });

  async function stalledSubscriberAttack(
    name: string,
    how: string,
    stall: (client: ssh2.Client, attacker: ReturnType<typeof rawChannel>) => void,
  ): Promise<void> {
    const topic = `admin/${name}`;
    const subClient = await connect();
    const subChannel = await execChannel(subClient, `sub ${name}`);
    const attacker = rawChannel(subClient, subChannel);
    // ssh2 adds any CHANNEL_WINDOW_ADJUST to the window, uncapped: 8 × 2^31 bytes of window.
    for (let i = 0; i < 8; i++) attacker.adjustWindow(0x7fffffff);
    await until('labd to register the attacking subscriber', async () => (await subscribers(topic)) === 1);
    stall(subClient, attacker);

    // A healthy subscriber (OpenSSH) sets the publisher's pace, as in the attack.
    const healthy = spawn('ssh', [...labd.sshArgs(key), '--', 'sub', name], { stdio: ['ignore', 'pipe', 'pipe'] });
    let received = 0;
    healthy.stdout!.on('data', (d: Buffer) => (received += d.length));
    const healthyDone = new Promise<number | null>((res) => healthy.on('close', (code) => res(code)));
    await until('labd to register the healthy subscriber', async () => (await subscribers(topic)) === 2);

    const rss = new RssSampler(labd.child.pid!);
    const source = spawn('head', ['-c', String(PUSHED), '/dev/urandom'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const publisher = spawn('ssh', [...labd.sshArgs(key), '--', 'pub', name], { stdio: [source.stdout!, 'ignore', 'pipe'] });
    const published = new Promise<number | null>((res) => publisher.on('close', (code) => res(code)));
    let pubExited = false;
    void published.then(() => (pubExited = true));
    let leastSubscribers = 2;
    const killer = setTimeout(() => publisher.kill('SIGKILL'), 170_000);
    // About once a second, how many subscribers labd holds, until the publisher is done (not a second later).
    while (!pubExited) {
      const n = await subscribers(topic).catch(() => undefined);
      if (n !== undefined && n < leastSubscribers) leastSubscribers = n;
      let tick: NodeJS.Timeout | undefined;
      await Promise.race([published, new Promise((r) => (tick = setTimeout(r, 1000)))]);
      clearTimeout(tick);
    }
    clearTimeout(killer);
    const pubStatus = await published;
    const growth = rss.stop();
    await healthyDone;
    const dropped = leastSubscribers < 2;
    console.log(
      `(a) huge window + a subscriber that ${how}: published ${(PUSHED / MiB).toFixed(0)} MiB (pub exit ${pubStatus}), healthy subscriber got ${(received / MiB).toFixed(1)} MiB, stalled subscriber dropped: ${dropped}, labd RSS grew ${(growth / MiB).toFixed(1)} MiB (peak ${(rss.peak / MiB).toFixed(0)} MiB)`,
    );
    assert.equal(pubStatus, 0);
    assert.ok(growth < GROWTH_BOUND, `labd grew by ${(growth / MiB).toFixed(1)} MiB while a subscriber did not read`);
    assert.ok(dropped, 'the subscriber that stopped reading was never dropped');
    assert.equal(received, PUSHED, 'the healthy subscriber missed data');
    subClient.end();
  }

  test('(b) CHANNEL_DATA beyond the advertised window closes the connection; labd does not buffer it', async () => {
    const pubClient = await connect();
    const closed = new Promise<void>((res) => pubClient.on('close', () => res()));
    let isClosed = false;
    void closed.then(() => (isClosed = true));
    const channel = await execChannel(pubClient, 'pub ignored');
    let stderr = '';
    channel.stderr.on('data', (d: Buffer) => (stderr += d));
    // pub blocks until a subscriber comes: labd stops reading the channel and its window runs out.
    await until('pub to wait for a subscriber', () => stderr.includes('waiting for a subscriber'));
    const raw = rawChannel(pubClient, channel);
    const rss = new RssSampler(labd.child.pid!);
    // One odd-sized packet first: later full packets then take the window below zero, not to it.
    raw.sendData(Buffer.alloc(100, 1));
    const packet = randomBytes(32 * 1024);
    let sent = 100;
    while (sent < PUSHED && !isClosed && raw.socket.writable) {
      raw.sendData(packet);
      sent += packet.length;
      if (sent % MiB < packet.length) await new Promise((r) => setImmediate(r));
      if (raw.socket.writableLength > 4 * MiB) {
        await new Promise<void>((res) => {
          const go = () => {
            raw.socket.off('drain', go);
            res();
          };
          raw.socket.on('drain', go);
          void closed.then(go);
        });
      }
    }
    await Promise.race([closed, new Promise((r) => setTimeout(r, 10_000))]);
    const growth = rss.stop();
    const onWire = raw.socket.bytesWritten;
    console.log(
      `(b) data past the window: ${(onWire / MiB).toFixed(1)} MiB on the wire before labd closed the connection (closed: ${isClosed}; window 2 MiB), labd RSS grew ${(growth / MiB).toFixed(1)} MiB`,
    );
    assert.ok(growth < GROWTH_BOUND, `labd grew by ${(growth / MiB).toFixed(1)} MiB from data sent past its window`);
    assert.ok(isClosed, 'labd kept the connection of a peer that ignored its window');
    await until('labd to log the window violation', () => /beyond the channel window/.test(labd.logs()), { timeoutMs: 20_000 });
  });
});
