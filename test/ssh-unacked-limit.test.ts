import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import ssh2 from 'ssh2';
import { afterAll as after, beforeAll as before, describe, test, vi } from 'vitest';
import { ConnectionFlow, SLACK_MAX, UNACKED_FLOOR, UNACKED_STALL_MS, unackedLimit } from '../src/ssh/flow-control.ts';
import { KeyLab } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';

/**
 * labd leaves at most unackedLimit bytes of channel output unacknowledged to a nearby OpenSSH
 * client (src/ssh/flow-control.ts), which acknowledges as it consumes; a client that waits longer
 * for its adjusts gets the whole window after a second. ssh2's client adjusts only once half its
 * 2 MiB window is used: posing as OpenSSH it shows the limit (it waits at 128 KiB until labd lifts
 * it), with its own name it gets the whole window at once.
 */
describe('unacknowledged output to OpenSSH clients', () => {
  const MiB = 1024 * 1024;

  test('the limit: OpenSSH 7 and later, room for 1 Gbit/s over the measured round trip, never under four packets', () => {
    const base = { peerSoftware: 'OpenSSH_9.2p1', rttMs: undefined, packetSize: 32768, window: 2 * MiB };
    assert.equal(unackedLimit(base), UNACKED_FLOOR, 'until the round trip is measured');
    assert.equal(unackedLimit({ ...base, rttMs: 1.4 }), UNACKED_FLOOR, 'about a millisecond of an answer is processing');
    assert.equal(unackedLimit({ ...base, rttMs: 5 }), 500_000);
    assert.equal(unackedLimit({ ...base, rttMs: 20 }), undefined, 'a distant client keeps its whole window');
    assert.equal(unackedLimit({ ...base, packetSize: 128 * 1024 }), 512 * 1024);
    assert.equal(unackedLimit({ ...base, peerSoftware: 'OpenSSH_6.6.1p1' }), undefined);
    assert.equal(unackedLimit({ ...base, peerSoftware: 'PuTTY_Release_0.81' }), undefined);
    assert.equal(unackedLimit({ ...base, peerSoftware: 'ssh2js1.17.0' }), undefined);
    assert.equal(unackedLimit({ ...base, window: 128 * 1024 }), undefined, 'a window under the limit is used as it is');
    assert.equal(unackedLimit({ ...base, setting: 'off' }), undefined);
    assert.equal(unackedLimit({ ...base, rttMs: 30, setting: 100_000 }), 131_072, 'a set number, never under four packets');
    assert.equal(unackedLimit({ ...base, setting: 300_000 }), 300_000);
  });

  /**
   * ConnectionFlow on a stand-in for the parts of ssh2 it wraps (its handlers, ping, one channel):
   * the window it leaves ssh2 before and after the probe's answer, and when a client does not answer.
   */
  function flowOn(o: { rttMs: number; window?: number }) {
    let now = 0;
    const adjusts: number[] = [];
    let pings = 0;
    const channel = Object.assign(new EventEmitter(), {
      incoming: { id: 7, window: 2 * MiB },
      outgoing: { window: o.window ?? 2 * MiB, packetSize: 32768 },
      _waitWindow: false,
      // ssh2 sends what the window allows and calls back; here everything is "sent" at once.
      _write: (_data: Buffer, _encoding: unknown, cb: () => void) => cb(),
      stderr: { _write: (_data: Buffer, _encoding: unknown, cb: () => void) => cb() },
    });
    const handlers: Record<string, (...args: unknown[]) => void> = {
      CHANNEL_DATA: () => undefined,
      CHANNEL_WINDOW_ADJUST: (_p, _recipient, amount) => {
        adjusts.push(amount as number);
        channel.outgoing.window += amount as number;
      },
    };
    const connection = Object.assign(new EventEmitter(), {
      _sock: Object.assign(new EventEmitter(), { writableLength: 0 }),
      _protocol: { _handlers: handlers, ping: () => pings++ },
      _chanMgr: { get: () => channel },
    });
    const flow = new ConnectionFlow(connection as never, () => undefined, { peerSoftware: 'OpenSSH_9.2p1', now: () => now });
    flow.pace(channel as never);
    const slack = flow.limitUnacknowledged(channel as never);
    const answer = () => {
      now += o.rttMs;
      handlers.REQUEST_FAILURE!();
    };
    const send = (bytes: number) => channel._write(Buffer.alloc(bytes), null, () => undefined);
    return { channel, adjusts, pings: () => pings, answer, slack, send };
  }

  test('the probe: the floor until OpenSSH answers, then room for the round trip; a distant client gets its whole window', () => {
    const near = flowOn({ rttMs: 0.5 });
    assert.equal(near.channel.outgoing.window, UNACKED_FLOOR);
    assert.equal(near.pings(), 1, 'one keepalive@openssh.com request');
    near.answer();
    assert.deepEqual(near.adjusts, [], 'a round trip of 0.5 ms needs no more than the floor');

    const farther = flowOn({ rttMs: 5 });
    farther.answer();
    assert.deepEqual(farther.adjusts, [500_000 - UNACKED_FLOOR]);
    assert.equal(farther.channel.outgoing.window, 500_000);

    const distant = flowOn({ rttMs: 50 });
    distant.answer();
    assert.equal(distant.channel.outgoing.window, 2 * MiB);
  });

  test('slack for a stream with a drop policy (pub/sub): the window held back, then what was given back until the channel sends it', () => {
    const farther = flowOn({ rttMs: 5 });
    assert.equal(farther.slack(), 2 * MiB - UNACKED_FLOOR, 'all of the window past the floor is held back');
    farther.answer();
    assert.equal(farther.channel.outgoing.window, 500_000);
    assert.equal(farther.slack(), 2 * MiB - UNACKED_FLOOR, 'given back but not used yet: still slack');
    farther.send(300_000);
    assert.equal(farther.slack(), 2 * MiB - UNACKED_FLOOR - 300_000);
    farther.send(MiB);
    assert.equal(farther.slack(), 2 * MiB - 500_000, 'what is still held back');

    // A hostile client offers a 4 GiB window and never acknowledges: its slack stays OpenSSH's 2 MiB,
    // also once the stall hands it the whole window (else pub/sub would queue gigabytes for it).
    const greedy = flowOn({ rttMs: 0.5, window: 0xffff_ffff });
    assert.equal(greedy.slack(), SLACK_MAX);

    vi.useFakeTimers();
    try {
      greedy.answer();
      greedy.channel._waitWindow = true;
      greedy.send(UNACKED_FLOOR);
      vi.advanceTimersByTime(UNACKED_STALL_MS);
      assert.equal(greedy.channel.outgoing.window, 0xffff_ffff, 'lifted');
      assert.equal(greedy.slack(), SLACK_MAX);

      const late = flowOn({ rttMs: 0.5 });
      late.answer();
      late.channel._waitWindow = true;
      late.send(UNACKED_FLOOR);
      vi.advanceTimersByTime(UNACKED_STALL_MS);
      assert.equal(late.channel.outgoing.window, 2 * MiB, 'lifted after waiting a second');
      assert.equal(late.slack(), 2 * MiB - UNACKED_FLOOR, 'the lift does not shrink the slack at once');
      late.send(MiB);
      assert.equal(late.slack(), MiB - UNACKED_FLOOR, 'it shrinks as the channel uses the window');
    } finally {
      vi.useRealTimers();
    }
  });

  describe('a 4 MiB download', () => {
    const lab = new KeyLab();
    let labd: InProcessLabd;
    let alice: string;
    const bytes = randomBytes(4 * MiB);

    before(async () => {
      const admin = lab.key('admin');
      alice = lab.key('alice');
      // A set limit: auto's grows with the measured round trip, which a loaded machine lengthens.
      labd = await InProcessLabd.start({ adminKeys: [lab.publicKey(admin)], env: { LABD_SSH_UNACKED_LIMIT: String(UNACKED_FLOOR) } });
      const added = await labd.ssh(admin, ['user', 'add', 'alice', '--role', 'member', '--key', `'${lab.publicKey(alice)}'`]);
      assert.equal(added.status, 0, added.stderr);
      const put = await labd.ssh(alice, ['paste', 'big.bin'], { input: bytes });
      assert.equal(put.status, 0, put.stderr);
    });

    after(async () => {
      await labd?.stop();
      lab.cleanup();
    });

    const lifted = async () => {
      const text = await (await fetch(`http://127.0.0.1:${labd.httpPort}/metrics`)).text();
      return Number(/^labd_ssh_unacked_limit_lifted_total (\d+)/m.exec(text)?.[1] ?? NaN);
    };

    async function downloadWithSsh2(ident?: string): Promise<{ bytes: Buffer; heldAt: number[] }> {
      const client = new ssh2.Client();
      await new Promise<void>((resolve, reject) => {
        client.once('ready', () => resolve());
        client.once('error', reject);
        client.connect({ host: '127.0.0.1', port: labd.sshPort, username: 'alice', privateKey: readFileSync(alice), ...(ident ? { ident } : {}) });
      });
      try {
        return await new Promise((resolve, reject) => {
          client.exec('paste cat big.bin', (err, channel) => {
            if (err) return reject(err);
            const chunks: Buffer[] = [];
            let received = 0;
            // Where the data paused for half a second: labd waiting for an acknowledgement.
            const heldAt: number[] = [];
            let quiet: NodeJS.Timeout | undefined;
            const watch = () => {
              clearTimeout(quiet);
              quiet = setTimeout(() => heldAt.push(received), 500);
            };
            channel.on('data', (d: Buffer) => {
              chunks.push(d);
              received += d.length;
              watch();
            });
            channel.stderr.resume();
            channel.once('close', () => {
              clearTimeout(quiet);
              resolve({ bytes: Buffer.concat(chunks), heldAt });
            });
          });
        });
      } finally {
        client.end();
      }
    }

    test('the OpenSSH client acknowledges as it reads: everything arrives, the limit is never lifted', async () => {
      const before = await lifted();
      const r = await labd.ssh(alice, ['paste', 'cat', 'big.bin']);
      assert.equal(r.status, 0, r.stderr);
      assert.ok(r.stdoutBuffer.equals(bytes), 'the bytes differ');
      assert.equal(await lifted(), before);
    });

    test('a client that says it is OpenSSH but acknowledges late waits at the limit once, then gets the whole window', async () => {
      const before = await lifted();
      const r = await downloadWithSsh2('OpenSSH_9.9');
      assert.ok(r.bytes.equals(bytes), 'the bytes differ');
      assert.equal(r.heldAt[0], UNACKED_FLOOR, 'labd stopped at the limit until it lifted it');
      assert.equal(await lifted(), before + 1);
    });

    test('any other client gets the whole window from the start', async () => {
      const before = await lifted();
      const r = await downloadWithSsh2();
      assert.ok(r.bytes.equals(bytes), 'the bytes differ');
      assert.equal(await lifted(), before);
    });
  });
});
