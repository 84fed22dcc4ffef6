import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { describe, test } from 'vitest';
import { TopicBroker } from '../src/apps/pubsub/broker.ts';
import { parseTopic } from '../src/apps/pubsub/names.ts';
import { collector, stalled } from './support/stream-outputs.ts';
import { until } from './support/wait.ts';

const never = new AbortController().signal;
const news = (user: string) => parseTopic('alice/news', user);

describe('topic broker (streams in, streams out)', () => {
  test('multicast: every subscriber gets every byte; a plain subscriber ends when the publisher does', async () => {
    const broker = new TopicBroker({ subscriberBuffer: 256 * 1024 });
    const a = collector();
    const b = collector();
    const subA = broker.subscribe({ user: 'alice', topic: news('alice'), out: a.out, keep: false, signal: never });
    const subB = broker.subscribe({ user: 'alice', topic: news('alice'), out: b.out, keep: false, signal: never });
    const input = new PassThrough();
    const pub = broker.publish({ user: 'alice', topic: news('alice'), input, block: true, signal: never });
    const payload = Buffer.from(Array.from({ length: 50_000 }, (_, i) => i % 251));
    input.end(payload);
    await Promise.all([pub, subA, subB]);
    assert.ok(a.data().equals(payload));
    assert.ok(b.data().equals(payload));
    assert.deepEqual(broker.visibleTo('alice'), []);
  });

  test('a reader that takes nothing is dropped at its buffer limit while a healthy one gets everything', async () => {
    const broker = new TopicBroker({ subscriberBuffer: 256 * 1024 });
    const healthy = collector();
    const slow = stalled();
    const stuck = broker.subscribe({ user: 'alice', topic: news('alice'), out: slow.out, keep: false, signal: never });
    const ok = broker.subscribe({ user: 'alice', topic: news('alice'), out: healthy.out, keep: false, signal: never });
    const input = new PassThrough();
    const pub = broker.publish({ user: 'alice', topic: news('alice'), input, block: true, signal: never });
    const payload = Buffer.alloc(2 * 1024 * 1024, 1);
    for (let i = 0; i < payload.length; i += 16 * 1024) input.write(payload.subarray(i, i + 16 * 1024));
    input.end();
    await Promise.all([pub, ok]);
    assert.ok(healthy.data().equals(payload));
    // The dropped reader reports once what it was already handed has gone out.
    slow.release();
    await assert.rejects(stuck, /dropped from alice\/news: fell more than 262144 bytes behind/);
  });

  test('what the front-end holds back of the client window is slack: a stalled reader is dropped past its buffer and that, not before', async () => {
    const broker = new TopicBroker({ subscriberBuffer: 256 * 1024 });
    const run = async (slackBytes: number, bytes: number) => {
      const healthy = collector();
      const slow = stalled();
      // SSH's bulkOutput answer: bytes of the client's window labd keeps back (src/ssh/flow-control.ts).
      const held = broker.subscribe({ user: 'alice', topic: news('alice'), out: slow.out, keep: false, signal: never, slack: () => slackBytes });
      const ok = broker.subscribe({ user: 'alice', topic: news('alice'), out: healthy.out, keep: false, signal: never });
      const input = new PassThrough();
      const pub = broker.publish({ user: 'alice', topic: news('alice'), input, block: true, signal: never });
      const payload = Buffer.alloc(bytes, 7);
      for (let i = 0; i < payload.length; i += 16 * 1024) input.write(payload.subarray(i, i + 16 * 1024));
      input.end();
      await Promise.all([pub, ok]);
      assert.ok(healthy.data().equals(payload));
      slow.release();
      return held;
    };
    // 1 MiB behind with 1.5 MiB held back: the client's window would have taken it, so the reader stays.
    await run(1536 * 1024, 1024 * 1024);
    // 2 MiB behind with 1 MiB held back: past 256 KiB and that.
    await assert.rejects(run(1024 * 1024, 2 * 1024 * 1024), /dropped from alice\/news: fell more than 262144 bytes behind/);
  });

  test('a slow reader that keeps reading does not set the pace: the healthy one gets everything, the slow one is dropped', async () => {
    const broker = new TopicBroker({ subscriberBuffer: 256 * 1024 });
    const healthy = collector();
    let trickled = 0;
    // Takes one chunk every 20 ms: moving, but far slower than the publisher.
    const trickle = new Writable({
      highWaterMark: 1,
      write(chunk: Buffer, _e, done) {
        trickled += chunk.length;
        setTimeout(done, 20);
      },
    });
    const slow = broker.subscribe({ user: 'alice', topic: news('alice'), out: trickle, keep: false, signal: never });
    const ok = broker.subscribe({ user: 'alice', topic: news('alice'), out: healthy.out, keep: false, signal: never });
    const input = new PassThrough();
    const pub = broker.publish({ user: 'alice', topic: news('alice'), input, block: true, signal: never });
    const payload = Buffer.from(Array.from({ length: 4 * 1024 * 1024 }, (_, i) => i % 253));
    for (let i = 0; i < payload.length; i += 16 * 1024) input.write(payload.subarray(i, i + 16 * 1024));
    input.end();
    await Promise.all([pub, ok]);
    assert.ok(healthy.data().equals(payload));
    await assert.rejects(slow, /dropped from alice\/news: fell more than 262144 bytes behind/);
    assert.ok(trickled > 0 && trickled < payload.length, `the slow reader got a part of the stream (${trickled} bytes)`);
  });

  test('access: private to the owner, shared by name, public; only the owner widens it', async () => {
    const broker = new TopicBroker({ subscriberBuffer: 256 * 1024 });
    const owner = new AbortController();
    const held = broker.subscribe({ user: 'alice', topic: news('alice'), out: collector().out, keep: true, signal: owner.signal, grant: { share: ['bob'] } });
    await assert.rejects(broker.subscribe({ user: 'carol', topic: news('carol'), out: collector().out, keep: true, signal: never }), /not shared with you/);
    await assert.rejects(
      broker.subscribe({ user: 'bob', topic: news('bob'), out: collector().out, keep: true, signal: never, grant: { public: true } }),
      /only alice decides/,
    );
    const bob = new AbortController();
    const bobSub = broker.subscribe({ user: 'bob', topic: news('bob'), out: collector().out, keep: true, signal: bob.signal });
    assert.deepEqual(
      broker.visibleTo('bob').map((t) => [t.topic, t.access, t.subscribers, t.sharedWith]),
      [['alice/news', 'shared', 2, undefined]],
    );
    assert.deepEqual(broker.visibleTo('alice')[0]!.sharedWith, ['bob']);
    assert.deepEqual(broker.visibleTo('carol'), []);
    bob.abort();
    owner.abort();
    await Promise.all([held, bobSub]);
    // Gone with its last client, and its access list with it.
    await assert.rejects(broker.subscribe({ user: 'bob', topic: news('bob'), out: collector().out, keep: true, signal: never }), /not shared with you/);
  });

  test('all topics together hold at most maxBufferedBytes: a stalled reader that would pass it is dropped, healthy ones get everything', async () => {
    const broker = new TopicBroker({ subscriberBuffer: 256 * 1024, maxBufferedBytes: 384 * 1024 });
    const feed = async (topic: string, bytes: number) => {
      const healthy = collector();
      const slow = stalled();
      const ref = parseTopic(topic, 'alice');
      // Settled into a value at once, so a drop is never an unhandled rejection while the rest runs.
      const stuck = broker.subscribe({ user: 'alice', topic: ref, out: slow.out, keep: true, signal: never }).then(
        () => 'ended',
        (err: Error) => err.message,
      );
      const ok = broker.subscribe({ user: 'alice', topic: ref, out: healthy.out, keep: false, signal: never });
      const input = new PassThrough();
      const pub = broker.publish({ user: 'alice', topic: ref, input, block: true, signal: never });
      const payload = Buffer.alloc(bytes, 7);
      for (let i = 0; i < payload.length; i += 8 * 1024) input.write(payload.subarray(i, i + 8 * 1024));
      input.end();
      await Promise.all([pub, ok]);
      assert.ok(healthy.data().equals(payload));
      return { stuck, slow };
    };
    // Topic one: its stalled reader holds 200 KiB, under its own 256 KiB limit.
    const one = await feed('alice/one', 200 * 1024);
    assert.equal(broker.budget.used, 200 * 1024);
    // Topic two: its stalled reader stays under its own limit too, but both together would pass 384 KiB:
    // the reader furthest behind (topic one's) is dropped to make room, and the cap holds throughout.
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, broker.budget.used)), 0);
    const two = await feed('alice/two', 250 * 1024);
    clearInterval(sampler);
    one.slow.release();
    assert.match(await one.stuck, /dropped from alice\/one: labd's pub\/sub buffers are full \(pubsub\.maxBufferedBytes\)/);
    assert.ok(peak <= 384 * 1024 && broker.budget.used <= 384 * 1024, `at most the cap held (peak ${peak}, now ${broker.budget.used})`);
    // Topic two's stalled reader was not dropped: released, it drains and the budget is empty again.
    two.slow.release();
    await until('the second stalled reader drained', () => broker.budget.used === 0);
  });

  test('a user may own at most maxTopicsPerUser live topics; others are not affected, and an ended topic frees its place', async () => {
    const broker = new TopicBroker({ subscriberBuffer: 256 * 1024, maxTopicsPerUser: 2 });
    const stop = new AbortController();
    const held = ['alice/a', 'alice/b'].map((t) =>
      broker.subscribe({ user: 'alice', topic: parseTopic(t, 'alice'), out: collector().out, keep: true, signal: stop.signal }),
    );
    await assert.rejects(
      broker.subscribe({ user: 'alice', topic: parseTopic('alice/c', 'alice'), out: collector().out, keep: true, signal: never }),
      /you have 2 live topics, the most one user may hold open \(pubsub\.maxTopicsPerUser\)/,
    );
    // Joining one of her existing topics is not a new topic.
    const again = new AbortController();
    const join = broker.subscribe({ user: 'alice', topic: parseTopic('alice/a', 'alice'), out: collector().out, keep: true, signal: again.signal });
    const bob = new AbortController();
    const bobSub = broker.subscribe({ user: 'bob', topic: parseTopic('bob/x', 'bob'), out: collector().out, keep: true, signal: bob.signal });
    again.abort();
    bob.abort();
    stop.abort();
    await Promise.all([...held, join, bobSub]);
    const later = new AbortController();
    const c = broker.subscribe({ user: 'alice', topic: parseTopic('alice/c', 'alice'), out: collector().out, keep: true, signal: later.signal });
    later.abort();
    await c;
  });
});
