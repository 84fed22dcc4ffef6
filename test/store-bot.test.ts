/**
 * The Matrix bot's stores on SQLite and on PostgreSQL (PGlite): the bot store (small values, the
 * inbox, the outbox, confirmations) and the alerts room's message store; and AlertMessages, which
 * writes an alert message and its outbox row in one transaction: a failure between the two writes
 * leaves neither.
 */
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { AlertMessages } from '../src/bot/alert-messages.ts';
import type { AlertMessageStore, QueuedContent } from '../src/bot/alert-store.ts';
import { TXN_REF } from '../src/bot/outbox.ts';
import { SqlAlertMessageStore } from '../src/bot/sql-alert-store.ts';
import { SqlBotStore } from '../src/bot/sql-store.ts';
import { txnIdFor, type BotStore, type RoomEvent } from '../src/bot/store.ts';
import type { Clock } from '../src/core/clock.ts';
import type { Transactions } from '../src/ops/storage.ts';
import { ENGINES, openTestEngine, type TestEngine } from './support/engines.ts';

const T0 = Date.parse('2026-03-01T10:00:00.123Z');
const event = (id: string, ts: number, body = '!lab version'): RoomEvent => ({
  event_id: id,
  type: 'm.room.message',
  sender: '@alice:x',
  room_id: '!r:x',
  origin_server_ts: ts,
  content: { msgtype: 'm.text', body },
});

describe.each(ENGINES)('bot store on %s', (engineName) => {
  let engine: TestEngine;
  let store: SqlBotStore;
  let now = new Date(T0);
  const clock: Clock = { now: () => now };
  beforeAll(async () => {
    engine = await openTestEngine(engineName);
    store = new SqlBotStore(engine.handle, clock);
  });
  afterAll(() => engine.close());

  test('small values: set, overwrite, read, remove', async () => {
    assert.equal(await store.getState('syncToken'), undefined);
    await store.setState('syncToken', 's1');
    await store.setState('syncToken', 's2');
    await store.setState('other', 'o');
    assert.equal(await store.getState('syncToken'), 's2');
    await store.setState('syncToken', null);
    assert.equal(await store.getState('syncToken'), undefined);
    assert.equal(await store.getState('other'), 'o');
  });

  test('inbox: accepted once, pending oldest first, running, interrupted, done (a real origin_server_ts in ms)', async () => {
    assert.equal(await store.accept('!r:x', event('$b', T0 + 2000)), true);
    assert.equal(await store.accept('!r:x', event('$a', T0 + 1000)), true);
    assert.equal(await store.accept('!r:x', event('$a', T0 + 1000)), false, 'seen before');
    assert.deepEqual(
      (await store.pending()).map((r) => [r.eventId, r.roomId, r.sender, r.originServerTs, r.state, r.command]),
      [
        ['$a', '!r:x', '@alice:x', T0 + 1000, 'pending', null],
        ['$b', '!r:x', '@alice:x', T0 + 2000, 'pending', null],
      ],
    );
    const a = (await store.event('$a'))!;
    assert.deepEqual(JSON.parse(a.event), event('$a', T0 + 1000));
    assert.ok(a.receivedAt instanceof Date);
    assert.equal(await store.event('$none'), undefined);
    await store.markRunning('$a', 'version');
    assert.deepEqual(
      (await store.interrupted()).map((r) => [r.eventId, r.state, r.command]),
      [['$a', 'running', 'version']],
    );
    assert.deepEqual(
      (await store.pending()).map((r) => r.eventId),
      ['$b'],
    );
    // Done with a reply: the reply is queued in the same unit.
    await store.finish('$a', { roomId: '!r:x', txnId: txnIdFor('$a', 'reply'), content: { body: 'labd 1' } });
    await store.finish('$b');
    assert.deepEqual(await store.interrupted(), []);
    assert.deepEqual(await store.pending(), []);
    assert.equal((await store.event('$a'))!.state, 'done');
    const reply = (await store.outgoing(txnIdFor('$a', 'reply')))!;
    assert.deepEqual(
      [reply.roomId, reply.eventType, JSON.parse(reply.content), reply.state, reply.attempts, reply.nextAttemptAt.getTime(), reply.eventId, reply.sentAt],
      ['!r:x', 'm.room.message', { body: 'labd 1' }, 'pending', 0, T0, null, null],
    );
  });

  test('outbox: in order, queued once per transaction id, retried, sent, failed; rewritten only while untried; backlog', async () => {
    // What the previous test queued is sent first.
    const first = (await store.nextOutgoing())!;
    await store.markSent(first.id, '$reply', new Date(T0 + 5));
    now = new Date(T0 + 10_000);
    await store.queue({ roomId: '!r:x', txnId: 't1', content: { body: 'one' } });
    await store.queue({ roomId: '!r:x', txnId: 't1', content: { body: 'one again' } });
    await store.queue({ roomId: '!r:x', txnId: 't2', content: { body: 'two' }, eventType: 'm.reaction' });
    const t1 = (await store.nextOutgoing())!;
    assert.equal(t1.txnId, 't1');
    assert.deepEqual(JSON.parse(t1.content), { body: 'one' }, 'a transaction id queued twice keeps its first content');
    assert.equal(t1.nextAttemptAt.getTime(), T0 + 10_000, 'stamped with the injected clock');
    assert.equal((await store.outgoing('t2'))!.eventType, 'm.reaction');
    assert.equal(await store.outgoing('t9'), undefined);

    assert.equal(await store.rewriteUntried(t1.id, { body: 'one, rewritten' }), true);
    assert.deepEqual(JSON.parse((await store.outgoing('t1'))!.content), { body: 'one, rewritten' });
    await store.markRetry(t1.id, 1, new Date(T0 + 20_000), 'x'.repeat(600));
    const retried = (await store.outgoing('t1'))!;
    assert.deepEqual([retried.attempts, retried.nextAttemptAt.getTime(), retried.lastError?.length, retried.state], [1, T0 + 20_000, 500, 'pending']);
    assert.equal(await store.rewriteUntried(t1.id, { body: 'too late' }), false, 'tried once: a homeserver may hold it');
    assert.equal(await store.rewriteUntried(99999, { body: 'gone' }), false);

    const backlog = await store.outboxBacklog(new Date(Date.now() + 60_000));
    assert.equal(backlog.depth, 2);
    assert.ok(backlog.oldestAgeSeconds >= 59 && backlog.oldestAgeSeconds < 3600, String(backlog.oldestAgeSeconds));

    await store.markSent(t1.id, '$one', new Date(T0 + 21_000));
    const sent = (await store.outgoingByEventId('$one'))!;
    assert.deepEqual([sent.txnId, sent.state, sent.eventId, sent.sentAt?.getTime(), sent.lastError], ['t1', 'sent', '$one', T0 + 21_000, null]);
    assert.equal(await store.outgoingByEventId('$nothing'), undefined);
    const t2 = (await store.nextOutgoing())!;
    assert.equal(t2.txnId, 't2');
    await store.markFailed(t2.id, 1, 'M_FORBIDDEN');
    assert.deepEqual([(await store.outgoing('t2'))!.state, (await store.outgoing('t2'))!.lastError], ['failed', 'M_FORBIDDEN']);
    assert.equal(await store.nextOutgoing(), undefined);
    assert.deepEqual(await store.outboxBacklog(new Date()), { depth: 0, oldestAgeSeconds: 0 });
  });

  test('queueWithState: the messages and the value as one unit', async () => {
    await store.queueWithState(
      [
        { roomId: '!e:x', txnId: 'ev1', content: { body: 'event 1' } },
        { roomId: '!e:x', txnId: 'ev2', content: { body: 'event 2' } },
      ],
      { key: 'announcer', value: '2' },
    );
    assert.equal(await store.getState('announcer'), '2');
    assert.deepEqual([(await store.nextOutgoing())!.txnId, (await store.outgoing('ev2'))!.state], ['ev1', 'pending']);
    // A failure inside the unit leaves neither.
    await assert.rejects(
      engine.handle.transaction(async () => {
        await store.queueWithState([{ roomId: '!e:x', txnId: 'ev3', content: {} }], { key: 'announcer', value: '3' });
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal(await store.getState('announcer'), '2');
    assert.equal(await store.outgoing('ev3'), undefined);
  });

  test('confirmations: added once, found by the prompt event and by code, closed at most once', async () => {
    const c = {
      roomId: '!r:x',
      sender: '@alice:x',
      argv: ['user', 'rm', 'dave'],
      requestEventId: '$ask',
      promptTxnId: 'prompt-1',
      expiresAt: new Date(T0 + 300_000),
      code: 'abc123',
    };
    await store.addConfirmation(c);
    await store.addConfirmation({ ...c, code: 'other' });
    await store.addConfirmation({ ...c, promptTxnId: 'prompt-2', argv: { path: ['user', 'rm'], args: { name: 'eve' }, json: false, text: 'user rm eve' } });
    assert.equal(await store.confirmationFor('$prompt'), undefined, 'the prompt was not delivered yet');
    await store.queue({ roomId: '!r:x', txnId: 'prompt-1', content: { body: 'sure?' } });
    const prompt = (await store.outgoing('prompt-1'))!;
    await store.markSent(prompt.id, '$prompt', new Date(T0));
    const found = (await store.confirmationFor('$prompt'))!;
    assert.deepEqual(
      [found.roomId, found.sender, JSON.parse(found.argv), found.requestEventId, found.promptTxnId, found.expiresAt.getTime(), found.state, found.code],
      ['!r:x', '@alice:x', ['user', 'rm', 'dave'], '$ask', 'prompt-1', T0 + 300_000, 'pending', 'abc123'],
    );
    const byCode = (await store.confirmationByCode('!r:x', 'abc123'))!;
    assert.equal(byCode.promptTxnId, 'prompt-2', 'the newest with that code');
    assert.deepEqual(JSON.parse(byCode.argv).args, { name: 'eve' });
    assert.equal(await store.confirmationByCode('!other:x', 'abc123'), undefined);
    assert.equal(await store.closeConfirmation(found.id, 'confirmed'), true);
    assert.equal(await store.closeConfirmation(found.id, 'expired'), false, 'closed already');
    assert.equal((await store.confirmationFor('$prompt'))!.state, 'confirmed');
    assert.equal(await store.closeConfirmation(byCode.id, 'expired'), true);
    assert.equal((await store.confirmationByCode('!r:x', 'abc123'))!.state, 'expired');
  });
});

const pick = (o: SqlBotStore): Pick<BotStore, 'queue' | 'outgoing' | 'outgoingByEventId' | 'rewriteUntried'> => ({
  queue: (m) => o.queue(m),
  outgoing: (t) => o.outgoing(t),
  outgoingByEventId: (e) => o.outgoingByEventId(e),
  rewriteUntried: (id, c) => o.rewriteUntried(id, c),
});

const content = (text: string): QueuedContent => ({
  post: { msgtype: 'm.text', body: text },
  edit: (target: string) => ({
    msgtype: 'm.text',
    body: `* ${text}`,
    'm.new_content': { msgtype: 'm.text', body: text },
    'm.relates_to': { rel_type: 'm.replace', event_id: target },
  }),
});

describe.each(ENGINES)('alert messages on %s', (engineName) => {
  let engine: TestEngine;
  let outbox: SqlBotStore;
  let store: SqlAlertMessageStore;
  let messages: AlertMessages;
  let transactions: Transactions;
  const clock: Clock = { now: () => new Date(T0) };
  beforeAll(async () => {
    engine = await openTestEngine(engineName);
    outbox = new SqlBotStore(engine.handle, clock);
    store = new SqlAlertMessageStore(engine.handle);
    transactions = { write: (fn) => engine.handle.transaction(() => fn()) };
    messages = new AlertMessages({ messages: store, outbox, transactions });
  });
  afterAll(() => engine.close());

  test('the message store: add, read by group, post transaction id and event id, delivered, rendered, revised, escalated once per episode', async () => {
    await store.add({ groupId: 1, roomId: '!a:x', postTxnId: 'post-1', renderedHash: 'h1' });
    await store.add({ groupId: 2, roomId: '!a:x', postTxnId: 'post-2', renderedHash: 'h2' });
    const row = (await store.message(1))!;
    assert.deepEqual(
      [row.groupId, row.roomId, row.postTxnId, row.eventId, row.revision, row.lastTxnId, row.renderedHash, row.escalatedFor],
      [1, '!a:x', 'post-1', null, 0, 'post-1', 'h1', null],
    );
    assert.ok(row.createdAt instanceof Date);
    assert.equal(await store.message(3), undefined);
    assert.equal((await store.messageByPostTxnId('post-2'))?.groupId, 2);
    assert.equal(await store.messageByPostTxnId('nope'), undefined);
    assert.equal(await store.messageByEventId('$p1'), undefined);
    await store.delivered('post-1', '$p1');
    await store.delivered('not-a-post', '$x');
    assert.equal((await store.messageByEventId('$p1'))?.groupId, 1);
    await store.rendered(1, 'h1b');
    await store.revised(1, 1, 'edit-1', 'h1c');
    assert.deepEqual((({ revision, lastTxnId, renderedHash }) => ({ revision, lastTxnId, renderedHash }))((await store.message(1))!), {
      revision: 1,
      lastTxnId: 'edit-1',
      renderedHash: 'h1c',
    });
    const episode = T0 - 3600_000;
    assert.equal(await store.markEscalated(1, episode), true);
    assert.equal(await store.markEscalated(1, episode), false);
    assert.equal(await store.markEscalated(1, episode + 1), true, 'a new episode');
    assert.equal(await store.markEscalated(9, episode), false, 'no message');
    assert.equal((await store.message(1))!.escalatedFor, episode + 1);
    assert.deepEqual(
      (await store.all()).map((m) => m.groupId),
      [1, 2],
    );
  });

  test('queue: a post, then edits; content nobody tried to send yet is rewritten; the row in flight is not', async () => {
    const none = () => undefined;
    assert.equal(await messages.queue(7, '!r:x', content('one'), none), 'posted');
    assert.equal(await messages.queue(7, '!r:x', content('one'), none), 'unchanged');
    assert.equal(await messages.queue(7, '!r:x', content('two'), none), 'rewritten');
    const post = (await outbox.outgoing(txnIdFor('alert-group:7', 'alert-post')))!;
    assert.equal(JSON.parse(post.content).body, 'two');
    await outbox.markRetry(post.id, 1, new Date(T0), '429');
    assert.equal(await messages.queue(7, '!r:x', content('three'), none), 'edited');
    const edit = (await outbox.outgoing((await messages.message(7))!.lastTxnId))!;
    assert.equal(JSON.parse(edit.content)['m.relates_to'].event_id, TXN_REF + post.txnId);
    assert.equal(await messages.queue(7, '!r:x', content('four'), none), 'rewritten');
    assert.equal(JSON.parse((await outbox.outgoing(edit.txnId))!.content)['m.new_content'].body, 'four');
    assert.equal(await messages.queue(7, '!r:x', content('five'), () => edit.id), 'edited');
    assert.equal((await messages.message(7))!.revision, 2);
    // Delivery teaches the message its event id, learnt from the outbox when asked by event id.
    await outbox.markSent(post.id, '$post7', new Date(T0));
    assert.equal((await store.messageByEventId('$post7'))?.groupId, undefined);
    assert.equal((await messages.messageByEventId('$post7'))?.eventId, '$post7');
    assert.equal((await store.messageByEventId('$post7'))?.groupId, 7, 'remembered');
    assert.equal(await messages.messageByEventId('$unknown'), undefined);
    await messages.delivered(post.txnId, '$post7b');
    assert.equal((await messages.message(7))!.eventId, '$post7b');
    assert.ok((await messages.all()).some((m) => m.groupId === 7));
  });

  test('a row the sender took while it was being rewritten is followed by an edit (the sender may have read the old content)', async () => {
    assert.equal(await messages.queue(11, '!r:x', content('a'), () => undefined), 'posted');
    const post = (await outbox.outgoing(txnIdFor('alert-group:11', 'alert-post')))!;
    // Not in flight when the rewrite is decided; in flight once it has committed.
    let asked = 0;
    const takenMeanwhile = () => (asked++ === 0 ? undefined : post.id);
    assert.equal(await messages.queue(11, '!r:x', content('b'), takenMeanwhile), 'edited');
    assert.equal(JSON.parse((await outbox.outgoing(post.txnId))!.content).body, 'b', 'rewritten');
    const row = (await messages.message(11))!;
    assert.equal(row.revision, 1);
    assert.equal(JSON.parse((await outbox.outgoing(row.lastTxnId))!.content)['m.new_content'].body, 'b', 'and edited to the same content');
    // Tried since (the sender recorded a failed attempt after the rewrite committed): an edit follows too.
    const edit = (await outbox.outgoing(row.lastTxnId))!;
    const triedAfterCommit = new AlertMessages({
      messages: store,
      outbox: {
        ...pick(outbox),
        outgoing: async (txnId) => {
          if (txnId === edit.txnId && !engine.handle.inTransaction()) await outbox.markRetry(edit.id, 1, new Date(T0), '502');
          return outbox.outgoing(txnId);
        },
      },
      transactions,
    });
    assert.equal(await triedAfterCommit.queue(11, '!r:x', content('c'), () => undefined), 'edited');
    assert.equal(JSON.parse((await outbox.outgoing(edit.txnId))!.content)['m.new_content'].body, 'c');
    assert.equal((await messages.message(11))!.revision, 2);
    // Nobody took it: a rewrite stays a rewrite.
    assert.equal(await messages.queue(11, '!r:x', content('d'), () => undefined), 'rewritten');
  });

  test('escalate: once per firing episode, as a reply to the post', async () => {
    const episode = T0 - 600_000;
    const reply = (target: string) => ({ body: 'still firing', 'm.relates_to': { 'm.in_reply_to': { event_id: target } } });
    assert.equal(await messages.escalate(404, episode, reply), false, 'no message for that group');
    assert.equal(await messages.escalate(7, episode, reply), true);
    assert.equal(await messages.escalate(7, episode, reply), false);
    const row = (await outbox.outgoing(txnIdFor(`alert-group:7:${episode}`, 'alert-escalation')))!;
    assert.equal(JSON.parse(row.content)['m.relates_to']['m.in_reply_to'].event_id, TXN_REF + txnIdFor('alert-group:7', 'alert-post'));
    assert.equal((await messages.message(7))!.escalatedFor, episode);
  });

  test('an alert message and its outbox row commit together: a failure between the two writes leaves neither', async () => {
    let failAt: keyof AlertMessageStore | 'queue' | undefined;
    const failing = <T extends object>(target: T, names: string[]): T =>
      new Proxy(target, {
        get(t, p, r) {
          const v = Reflect.get(t, p, r) as unknown;
          if (typeof v !== 'function') return v;
          return async (...args: unknown[]) => {
            if (names.includes(String(p)) && failAt === p) throw new Error(`${String(p)} failed`);
            return (v as (...a: unknown[]) => unknown).apply(t, args);
          };
        },
      });
    const flakyStore = failing<AlertMessageStore>(store, ['add', 'revised', 'rendered', 'markEscalated']);
    const flakyOutbox = failing<BotStore>(outbox, ['queue']);
    const flaky = new AlertMessages({ messages: flakyStore, outbox: flakyOutbox, transactions });

    // The post: the outbox row is written first, then the message fails.
    failAt = 'add';
    await assert.rejects(
      flaky.queue(8, '!r:x', content('eight'), () => undefined),
      /add failed/,
    );
    assert.equal(await outbox.outgoing(txnIdFor('alert-group:8', 'alert-post')), undefined, 'the post was rolled back with its message');
    assert.equal(await store.message(8), undefined);
    failAt = undefined;
    assert.equal(await flaky.queue(8, '!r:x', content('eight'), () => undefined), 'posted');

    // An edit: the edit row is queued, then recording the revision fails.
    const post = (await outbox.outgoing(txnIdFor('alert-group:8', 'alert-post')))!;
    await outbox.markRetry(post.id, 1, new Date(T0), '500');
    failAt = 'revised';
    await assert.rejects(
      flaky.queue(8, '!r:x', content('nine'), () => undefined),
      /revised failed/,
    );
    assert.equal(await outbox.outgoing(txnIdFor('alert-group:8:1', 'alert-edit')), undefined, 'the edit was rolled back');
    assert.deepEqual((({ revision, lastTxnId }) => ({ revision, lastTxnId }))((await store.message(8))!), { revision: 0, lastTxnId: post.txnId });
    failAt = undefined;
    assert.equal(await flaky.queue(8, '!r:x', content('nine'), () => undefined), 'edited');

    // A rewrite: the untried edit is rewritten, then recording what it shows fails.
    const edit = (await outbox.outgoing(txnIdFor('alert-group:8:1', 'alert-edit')))!;
    failAt = 'rendered';
    await assert.rejects(
      flaky.queue(8, '!r:x', content('ten'), () => undefined),
      /rendered failed/,
    );
    assert.equal(JSON.parse((await outbox.outgoing(edit.txnId))!.content)['m.new_content'].body, 'nine', 'the rewrite was rolled back');
    failAt = undefined;

    // An escalation: the episode is marked, then queueing its message fails.
    const episode = T0 - 1000;
    failAt = 'queue';
    await assert.rejects(
      flaky.escalate(8, episode, () => ({ body: 'escalated' })),
      /queue failed/,
    );
    assert.equal((await store.message(8))!.escalatedFor, null, 'the mark was rolled back with its message');
    assert.equal(await outbox.outgoing(txnIdFor(`alert-group:8:${episode}`, 'alert-escalation')), undefined);
    failAt = undefined;
    assert.equal(await flaky.escalate(8, episode, () => ({ body: 'escalated' })), true);
  });
});
