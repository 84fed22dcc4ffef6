import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import ssh2 from 'ssh2';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { KeyLab } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';

/**
 * scripts/patch-ssh2.mjs makes ssh2 reuse the buffer of a large outbound packet once the socket wrote
 * it synchronously. A buffer handed out again while the kernel or a socket queue still held it would
 * put one stream's bytes into another's: downloads through a client that stops reading its socket for
 * a while (so labd's socket queues packets) and others at the same time must each come back byte for byte.
 */
describe('ssh2 reuses outbound packet buffers only once they are written', () => {
  const lab = new KeyLab();
  let labd: InProcessLabd;
  let alice: string;
  const pastes = new Map<string, Buffer>();

  before(async () => {
    const admin = lab.key('admin');
    alice = lab.key('alice');
    labd = await InProcessLabd.start({ adminKeys: [lab.publicKey(admin)], env: { LABD_PASTE_MAX_SIZE: String(8 * 1024 * 1024) } });
    const added = await labd.ssh(admin, ['user', 'add', 'alice', '--role', 'member', '--key', `'${lab.publicKey(alice)}'`]);
    assert.equal(added.status, 0, added.stderr);
    for (const name of ['a.bin', 'b.bin', 'c.bin', 'd.bin']) {
      const bytes = randomBytes(6 * 1024 * 1024);
      const r = await labd.ssh(alice, ['paste', name], { input: bytes });
      assert.equal(r.status, 0, r.stderr);
      pastes.set(name, bytes);
    }
  });

  after(async () => {
    await labd?.stop();
    lab.cleanup();
  });

  test('ssh2 is patched (node scripts/patch-ssh2.mjs, run by npm postinstall)', () => {
    const lib = join(dirname(createRequire(import.meta.url).resolve('ssh2/package.json')), 'lib');
    assert.match(readFileSync(join(lib, 'protocol', 'crypto.js'), 'utf8'), /function labdTakePacket\(/);
    assert.doesNotMatch(readFileSync(join(lib, 'protocol', 'crypto.js'), 'utf8'), /randomFillSync\(packet/, 'padding comes from the pool');
    assert.match(readFileSync(join(lib, 'server.js'), 'utf8'), /return socket\.writableLength === 0;/);
  });

  test('eight downloads on one connection whose client stops reading its socket, and two more, each get their own bytes', async () => {
    // Each channel's window is opened 64 MiB wide, so the eight pastes (48 MiB) are more than
    // loopback's socket buffers hold: while the client reads nothing, labd's socket queues packets
    // (up to its 1 MiB bound, src/ssh/flow-control.ts), and those must not be reused.
    const names = [...pastes.keys()];
    const WIDE = 64 * 1024 * 1024;
    const client = new ssh2.Client();
    await new Promise<void>((resolve, reject) => {
      client.once('ready', () => resolve());
      client.once('error', reject);
      client.connect({ host: '127.0.0.1', port: labd.sshPort, username: 'alice', privateKey: readFileSync(alice) });
    });
    // A corrupted packet fails the client's MAC check: the comparison below tells which stream.
    client.on('error', () => undefined);
    try {
      let flowing = 0;
      let allFlowing!: () => void;
      const everyChannelFlows = new Promise<void>((r) => (allFlowing = r));
      const download = (name: string) =>
        new Promise<Buffer>((resolve, reject) => {
          client.exec(`paste cat ${name}`, (err, channel) => {
            if (err) return reject(err);
            const internals = channel as unknown as { incoming: { window: number }; outgoing: { id: number } };
            internals.incoming.window += WIDE;
            (client as unknown as { _protocol: { channelWindowAdjust(id: number, n: number): void } })._protocol.channelWindowAdjust(
              internals.outgoing.id,
              WIDE,
            );
            const chunks: Buffer[] = [];
            channel.once('data', () => ++flowing === 8 && allFlowing());
            channel.on('data', (d: Buffer) => chunks.push(d));
            channel.stderr.resume();
            channel.once('close', () => resolve(Buffer.concat(chunks)));
          });
        });
      const socket = (client as unknown as { _sock: NodeJS.ReadableStream })._sock;
      const stalled = Array.from({ length: 8 }, (_, i) => download(names[i % names.length]!));
      await everyChannelFlows;
      socket.pause();
      const others = names.slice(0, 2).map((name) => labd.ssh(alice, ['paste', 'cat', name]));
      await new Promise((r) => setTimeout(r, 1500));
      socket.resume();
      const got = await Promise.all(stalled);
      got.forEach((bytes, i) => assert.ok(bytes.equals(pastes.get(names[i % names.length]!)!), `channel ${i}: the bytes differ`));
      for (const [i, r] of (await Promise.all(others)).entries()) assert.ok(r.stdoutBuffer.equals(pastes.get(names[i]!)!), `${names[i]}: the bytes differ`);
    } finally {
      client.end();
    }
  });
});
