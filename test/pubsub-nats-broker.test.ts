/**
 * Two topic brokers joined over a real nats-server: two replicas of labd's pub/sub in one process
 * (streams in, streams out). The SSH-level test with two labd instances is pubsub-replicas.test.ts.
 */
import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { TopicBroker } from '../src/apps/pubsub/broker.ts';
import { parseTopic } from '../src/apps/pubsub/names.ts';
import { PubsubPeers } from '../src/apps/pubsub/nats-peers.ts';
import { createLogger } from '../src/core/logger.ts';
import { NatsServer, natsServerAvailable } from './support/nats-server.ts';
import { collector, stalled } from './support/stream-outputs.ts';
import { until } from './support/wait.ts';

const never = new AbortController().signal;
const log = createLogger('silent');
let n = 0;

describe.skipIf(!natsServerAvailable())('topic brokers on two replicas over NATS', () => {
  let nats: NatsServer;
  const peers: PubsubPeers[] = [];
  beforeAll(async () => {
    nats = await NatsServer.start();
  });
  afterAll(async () => {
    for (const p of peers) await p.close();
    await nats?.stop();
  });

  /** Two brokers that see each other, on their own subject prefix. */
  const pair = async (subscriberBuffer = 256 * 1024) => {
    const prefix = `t${++n}`;
    const a = new TopicBroker({ subscriberBuffer });
    const b = new TopicBroker({ subscriberBuffer });
    peers.push(await PubsubPeers.connect(a, { url: nats.url }, log, { prefix }));
    peers.push(await PubsubPeers.connect(b, { url: nats.url }, log, { prefix }));
    return { a, b };
  };

  test('pub on one waits for a sub on the other, then the data arrives; the sub ends with the publisher', async () => {
    const { a, b } = await pair();
    const topic = parseTopic('alice/news', 'alice');
    const input = new PassThrough();
    let waiting = false;
    const pub = a.publish({ user: 'alice', topic, input, block: true, signal: never, onWaiting: () => (waiting = true) });
    input.end('hello\n');
    await until('the publisher to wait', () => waiting);
    await until('b to see the waiting publisher', () => b.visibleTo('alice').find((t) => t.topic === 'alice/news' && t.publishers === 1));
    const got = collector();
    const sub = b.subscribe({ user: 'alice', topic, out: got.out, keep: false, signal: never });
    await Promise.all([pub, sub]);
    assert.equal(got.data().toString(), 'hello\n');
    await until('the topic to go on both', () => !a.visibleTo('alice').length && !b.visibleTo('alice').length);
  });

  test('multicast: subscribers on both replicas get every byte, in order', async () => {
    const { a, b } = await pair();
    const topic = parseTopic('alice/bulk', 'alice');
    const outs = [collector(), collector(), collector()];
    const subs = [
      a.subscribe({ user: 'alice', topic, out: outs[0]!.out, keep: false, signal: never }),
      b.subscribe({ user: 'alice', topic, out: outs[1]!.out, keep: false, signal: never }),
      b.subscribe({ user: 'alice', topic, out: outs[2]!.out, keep: false, signal: never }),
    ];
    await until('a to see all three subscribers', () => a.visibleTo('alice').find((t) => t.subscribers === 3));
    const input = new PassThrough();
    const pub = a.publish({ user: 'alice', topic, input, block: true, signal: never });
    const payload = Buffer.from(Array.from({ length: 3 * 1024 * 1024 }, (_, i) => (i * 7) % 251));
    for (let i = 0; i < payload.length; i += 16 * 1024) input.write(payload.subarray(i, i + 16 * 1024));
    input.end();
    await Promise.all([pub, ...subs]);
    for (const o of outs) assert.ok(o.data().equals(payload), `got ${o.data().length} of ${payload.length} bytes`);
  });

  test('a stalled subscriber on one replica is dropped; a healthy one on the other gets everything', async () => {
    const { a, b } = await pair();
    const topic = parseTopic('alice/slow', 'alice');
    const slow = stalled();
    const healthy = collector();
    const stuck = a.subscribe({ user: 'alice', topic, out: slow.out, keep: false, signal: never });
    const ok = b.subscribe({ user: 'alice', topic, out: healthy.out, keep: false, signal: never });
    await until('a to see both subscribers', () => a.visibleTo('alice').find((t) => t.subscribers === 2));
    const input = new PassThrough();
    const pub = a.publish({ user: 'alice', topic, input, block: true, signal: never });
    const payload = Buffer.alloc(4 * 1024 * 1024, 3);
    for (let i = 0; i < payload.length; i += 16 * 1024) input.write(payload.subarray(i, i + 16 * 1024));
    input.end();
    await Promise.all([pub, ok]);
    assert.ok(healthy.data().equals(payload), `healthy got ${healthy.data().length} of ${payload.length}`);
    slow.release();
    await assert.rejects(stuck, /dropped from alice\/slow: fell more than 262144 bytes behind/);
  });

  test('a publisher is paced by a subscriber on the other replica that reads slowly, and nothing is lost', async () => {
    const { a, b } = await pair();
    const topic = parseTopic('alice/paced', 'alice');
    const chunks: Buffer[] = [];
    // Takes 64 KiB at a time, a little later each time: slower than the publisher could write.
    const out = new Writable({
      highWaterMark: 1,
      write(chunk: Buffer, _e, done) {
        chunks.push(chunk);
        setTimeout(done, 2);
      },
    });
    const sub = b.subscribe({ user: 'alice', topic, out, keep: false, signal: never });
    await until('a to see the subscriber', () => a.visibleTo('alice').find((t) => t.subscribers === 1));
    const input = new PassThrough();
    const pub = a.publish({ user: 'alice', topic, input, block: true, signal: never });
    const payload = Buffer.from(Array.from({ length: 4 * 1024 * 1024 }, (_, i) => i % 253));
    for (let i = 0; i < payload.length; i += 16 * 1024) input.write(payload.subarray(i, i + 16 * 1024));
    input.end();
    await Promise.all([pub, sub]);
    assert.ok(Buffer.concat(chunks).equals(payload));
  });

  test('private and shared topics: grants made on one replica hold on the other', async () => {
    const { a, b } = await pair();
    const topic = (u: string) => parseTopic('alice/secret', u);
    const own = a.subscribe({ user: 'alice', topic: topic('alice'), out: collector().out, keep: true, signal: new AbortController().signal });
    await until('b to know the topic', () => b.visibleTo('alice').length === 1);
    assert.throws(() => b.authorize('bob', topic('bob')), /permission denied: alice\/secret is alice's topic and is not shared with you/);
    assert.deepEqual(b.visibleTo('bob'), []);
    const stop = new AbortController();
    const shared = a.subscribe({ user: 'alice', topic: topic('alice'), grant: { share: ['bob'] }, out: collector().out, keep: true, signal: stop.signal });
    await until('b to hear of the grant', () => b.visibleTo('bob').find((t) => t.access === 'shared'));
    b.authorize('bob', topic('bob'));
    assert.throws(() => b.authorize('carol', topic('carol')), /permission denied/);
    assert.throws(() => b.authorize('bob', topic('bob'), { public: true }), /only alice decides/);
    const got = collector();
    const bobSub = b.subscribe({ user: 'bob', topic: topic('bob'), out: got.out, keep: false, signal: never });
    await until('a to see bob', () => a.visibleTo('alice').find((t) => t.subscribers === 3));
    const input = new PassThrough();
    const pub = a.publish({ user: 'alice', topic: topic('alice'), input, block: true, signal: never });
    input.end('for bob\n');
    await Promise.all([pub, bobSub]);
    assert.equal(got.data().toString(), 'for bob\n');
    stop.abort();
    await shared;
    void own;
  });

  test('sub -k on one replica stays across publishers on the other', async () => {
    const { a, b } = await pair();
    const topic = parseTopic('alice/keep', 'alice');
    const got = collector();
    const stop = new AbortController();
    const sub = b.subscribe({ user: 'alice', topic, out: got.out, keep: true, signal: stop.signal });
    await until('a to see the subscriber', () => a.visibleTo('alice').find((t) => t.subscribers === 1));
    for (const text of ['one\n', 'two\n']) {
      const input = new PassThrough();
      const pub = a.publish({ user: 'alice', topic, input, block: true, signal: never });
      input.end(text);
      await pub;
      await until('b to see the publisher gone', () => b.visibleTo('alice').find((t) => t.publishers === 0));
    }
    await until('both messages', () => got.data().toString() === 'one\ntwo\n');
    stop.abort();
    await sub;
  });

  test('a replica that leaves releases its subscribers: a publisher elsewhere waits again', async () => {
    const prefix = `t${++n}`;
    const a = new TopicBroker({ subscriberBuffer: 256 * 1024 });
    const b = new TopicBroker({ subscriberBuffer: 256 * 1024 });
    const pa = await PubsubPeers.connect(a, { url: nats.url }, log, { prefix });
    peers.push(pa);
    const pb = await PubsubPeers.connect(b, { url: nats.url }, log, { prefix });
    const topic = parseTopic('alice/gone', 'alice');
    void b.subscribe({ user: 'alice', topic, out: stalled().out, keep: true, signal: never });
    await until('a to see the subscriber', () => a.visibleTo('alice').find((t) => t.subscribers === 1));
    await pb.close();
    await until('a to forget it', () => !a.visibleTo('alice').length);
  });

  test('NATS lost while running: the status says so (/readyz degraded); back, the replicas find each other again', async () => {
    const own = await NatsServer.start();
    const prefix = `t${++n}`;
    const a = new TopicBroker({ subscriberBuffer: 256 * 1024 });
    const b = new TopicBroker({ subscriberBuffer: 256 * 1024 });
    const pa = await PubsubPeers.connect(a, { url: own.url }, log, { prefix, beatMs: 500 });
    const pb = await PubsubPeers.connect(b, { url: own.url }, log, { prefix, beatMs: 500 });
    try {
      assert.equal(pa.status().ok, true);
      await own.down();
      await until('a to notice', () => !pa.status().ok);
      assert.match(pa.status().detail, /disconnected from nats:\/\/127\.0\.0\.1:\d+/);
      await own.up();
      await until('a to reconnect', () => pa.status().ok && pb.status().ok);
      const topic = parseTopic('alice/after', 'alice');
      const got = collector();
      const sub = b.subscribe({ user: 'alice', topic, out: got.out, keep: false, signal: never });
      await until('a to see the subscriber', () => a.visibleTo('alice').find((t) => t.subscribers === 1));
      const input = new PassThrough();
      const pub = a.publish({ user: 'alice', topic, input, block: true, signal: never });
      input.end('again\n');
      await Promise.all([pub, sub]);
      assert.equal(got.data().toString(), 'again\n');
    } finally {
      await pa.close();
      await pb.close();
      await own.stop();
    }
  });

  test('NATS down at start: a clear error naming the setting, without the credentials', async () => {
    const broker = new TopicBroker({ subscriberBuffer: 256 * 1024 });
    const closed = await NatsServer.start();
    await closed.stop();
    await assert.rejects(
      PubsubPeers.connect(broker, { url: `nats://labd:hunter2@127.0.0.1:${closed.port}` }, log),
      (err: Error) => /^config: nats\.url \(LABD_NATS_URL\): cannot connect to nats:\/\/127\.0\.0\.1:\d+/.test(err.message) && !/hunter2/.test(err.message),
    );
  });
});
