import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { Database } from '../src/db/sqlite-driver.ts';
import { AlertmanagerProcess, type PostedAlert } from './support/alertmanager.ts';
import { replyTo, repliesTo, waitFor } from './support/fake-matrix/harness.ts';
import type { MatrixEvent, Room } from './support/fake-matrix/rooms.ts';
import { FakeMatrix, type FakeUser } from './support/fake-matrix/server.ts';
import { freePort, KeyLab, LabdProcess } from './support/labd.ts';
import { migrateDb, openDb } from '../src/db/client.ts';
import { normaliseKey, ACK_REACTIONS } from '../src/bot/alert-room.ts';
import { AlertMessages } from '../src/bot/alert-messages.ts';
import { SqlAlertMessageStore } from '../src/bot/sql-alert-store.ts';
import { resolveRefs, TXN_REF } from '../src/bot/outbox.ts';
import { SqlBotStore } from '../src/bot/sql-store.ts';
import { systemClock } from '../src/core/clock.ts';
import { sqliteHandle } from '../src/db/sqlite-engine.ts';

interface AmSilenceJson {
  id: string;
  createdBy: string;
  comment: string;
  endsAt: string;
  matchers: { name: string; value: string; isRegex: boolean; isEqual?: boolean }[];
  status: { state: string };
}
type Relation = { rel_type?: string; event_id?: string; 'm.in_reply_to'?: { event_id?: string } };
const relation = (e: MatrixEvent) => (e.content['m.relates_to'] ?? {}) as Relation;

describe('alerts in the Matrix room, with the real Alertmanager', () => {
  const keys = new KeyLab();
  const token = randomBytes(24).toString('hex');
  const dataDir = mkdtempSync(join(tmpdir(), 'labd-matrix-alerts-'));
  let fake: FakeMatrix;
  let am: AlertmanagerProcess;
  let labd: LabdProcess;
  let env: Record<string, string>;
  let adminKey: string;
  let bot: FakeUser, alice: FakeUser, bob: FakeUser, mallory: FakeUser, dora: FakeUser;
  let ops: Room, alerts: Room;

  const inAnHour = () => new Date(Date.now() + 3600_000).toISOString();
  const startedNow = () => new Date(Date.now() - 1000).toISOString();
  const firing = (labels: Record<string, string>, annotations: Record<string, string> = {}): PostedAlert => ({
    labels,
    annotations,
    startsAt: startedNow(),
    endsAt: inAnHour(),
  });

  const botMessages = () => fake.timeline(alerts.roomId).filter((e) => e.sender === bot.userId && e.type === 'm.room.message');
  /** The bot's alert posts (not edits, not replies) for a group's alertname. */
  const posts = (alertname: string) => botMessages().filter((e) => !e.content['m.relates_to'] && String(e.content.body).includes(`alertname=${alertname}`));
  const edits = (post: MatrixEvent) => botMessages().filter((e) => relation(e).rel_type === 'm.replace' && relation(e).event_id === post.event_id);
  /** What the message shows now: the newest edit's content, else the post's. */
  const shown = (post: MatrixEvent) => {
    const last = edits(post).at(-1);
    return last ? (last.content['m.new_content'] as Record<string, unknown>) : post.content;
  };
  const onePost = (alertname: string) => waitFor(`the alert message for ${alertname}`, () => posts(alertname)[0], labd);
  const silences = async () => (await am.get('/api/v2/silences')) as AmSilenceJson[];
  const silencesOf = async (alertname: string, state = 'active') =>
    (await silences()).filter((s) => s.status.state === state && s.matchers.some((m) => m.name === 'alertname' && m.value === alertname));
  const until = async <T>(what: string, probe: () => Promise<T | undefined | false>): Promise<T> => {
    const deadline = Date.now() + 60000;
    for (;;) {
      const v = await probe();
      if (v) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\nlabd log:\n${labd.logs().slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  /** labd_outbox_depth from /metrics: 0 once every queued message (post, edit, reply) was delivered or dropped. */
  const outboxDepth = async () => {
    const text = await (await fetch(`http://127.0.0.1:${labd.httpPort}/metrics`)).text();
    const m = /^labd_outbox_depth (\d+)$/m.exec(text);
    if (!m) throw new Error(`no labd_outbox_depth in /metrics`);
    return Number(m[1]);
  };
  const outboxDrained = () => until('the outbox to drain', async () => (await outboxDepth()) === 0);
  const matrixAcks = () =>
    (JSON.parse(labd.ssh(adminKey, ['audit', '--json']).stdout) as { command: string; via: string; args?: unknown }[]).filter(
      (a) => a.via === 'matrix' && (a.command === 'ack' || a.command === 'unack'),
    );

  before(async () => {
    fake = await FakeMatrix.start();
    bot = fake.addUser('labd');
    alice = fake.addUser('alice');
    bob = fake.addUser('bob');
    mallory = fake.addUser('mallory');
    dora = fake.addUser('dora');
    ops = fake.createRoom(alice.userId, { alias: 'ops', members: [bob.userId] });
    alerts = fake.createRoom(alice.userId, { alias: 'alerts', members: [bob.userId, mallory.userId, dora.userId] });
    adminKey = keys.key('admin');
    const amPort = await freePort();
    env = {
      LABD_MATRIX_HOMESERVER: fake.url,
      LABD_MATRIX_TOKEN: bot.accessToken,
      LABD_MATRIX_ROOMS: ops.alias!,
      LABD_MATRIX_USERS: `${alice.userId}=admin,${bob.userId}=bob`,
      LABD_MATRIX_ALERTS_ROOM: alerts.alias!,
      LABD_MATRIX_ONCALL: alice.userId,
      LABD_ALERTMANAGER_ESCALATE_AFTER: '6s',
      LABD_MATRIX_ESCALATE_TO: dora.userId,
      LABD_ALERTMANAGER_URL: `http://127.0.0.1:${amPort}`,
      LABD_ALERTMANAGER_WEBHOOK_TOKEN: token,
      LABD_ALERTMANAGER_POLL_INTERVAL: '1s',
    };
    labd = await LabdProcess.start({ adminKeys: [keys.publicKey(adminKey)], env, dataDir });
    am = await AlertmanagerProcess.start({ webhookUrl: `http://127.0.0.1:${labd.httpPort}/hooks/alertmanager`, token, port: amPort });
    const r = labd.ssh(adminKey, ['user', 'add', 'bob', '--role', 'member']);
    assert.equal(r.status, 0, r.stderr);
    await waitFor('the bot to join the alerts room', () => fake.store.membership(alerts, bot.userId) === 'join', labd);
  });
  after(async () => {
    await am?.stop();
    am?.cleanup();
    await labd?.stop();
    await fake?.stop();
    keys.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('a firing alert appears as one m.text message that mentions the on-call person', async () => {
    await am.post([firing({ alertname: 'DiskFull', cluster: 'lab', instance: 'nuc1' }, { summary: 'disk /var is 97% full' })]);
    const post = await onePost('DiskFull');
    assert.equal(post.content.msgtype, 'm.text');
    assert.deepEqual(post.content['m.mentions'], { user_ids: [alice.userId] });
    assert.equal(post.content.format, 'org.matrix.custom.html');
    const html = String(post.content.formatted_body);
    assert.match(html, /FIRING/);
    assert.match(html, /<table>.*<td><code>alertname=DiskFull cluster=lab instance=nuc1<\/code><\/td><td>disk \/var is 97% full<\/td>/s);
    assert.match(html, /href="https:\/\/matrix\.to\/#\/%40alice%3Afake\.test"/);
    assert.match(String(post.content.body), /^FIRING: alert group \d+ \(alertname=DiskFull cluster=lab\), 1\/1 firing/);
    assert.match(String(post.content.body), /@alice:fake\.test/);
  });

  test('a second alert in the same group edits the same message', async () => {
    await am.post([firing({ alertname: 'DiskFull', cluster: 'lab', instance: 'nuc2' }, { summary: 'disk /var is 97% full' })]);
    const post = await onePost('DiskFull');
    const edit = await waitFor(
      'an edit showing nuc2',
      () => edits(post).find((e) => /instance=nuc2/.test(String((e.content['m.new_content'] as { body: string }).body))),
      labd,
    );
    const content = edit.content['m.new_content'] as Record<string, unknown>;
    assert.match(String(content.body), /2\/2 firing/);
    assert.match(String(content.formatted_body), /instance=nuc1.*instance=nuc2/s);
    assert.deepEqual(edit.content['m.mentions'], {}, 'an edit mentions nobody new');
    assert.match(String(edit.content.body), /^\* FIRING/);
    assert.equal(posts('DiskFull').length, 1);
  });

  test('a reply "ack 2h looking" silences exactly that group in Alertmanager and edits the message', async () => {
    const post = await onePost('DiskFull');
    const ack = fake.say(alerts.roomId, alice.userId, 'ack 2h looking at /var', { replyTo: post, fallback: true });
    const answer = await replyTo({ fake, bot, labd } as Parameters<typeof replyTo>[0], ack);
    assert.match(String(answer.content.body), /acknowledged alert group \d+/);
    const made = await until('two silences for DiskFull', async () => {
      const s = await silencesOf('DiskFull');
      return s.length === 2 ? s : undefined;
    });
    for (const s of made) {
      assert.equal(s.createdBy, 'admin');
      assert.equal(s.comment, 'ACK! admin: looking at /var');
      const hours = (Date.parse(s.endsAt) - Date.now()) / 3600_000;
      assert.ok(hours > 1.5 && hours <= 2, `ends in about 2h: ${s.endsAt}`);
      assert.ok(s.matchers.every((m) => !m.isRegex && m.isEqual !== false));
    }
    const matched = made
      .map((s) => Object.fromEntries(s.matchers.map((m) => [m.name, m.value])))
      .sort((a, b) => String(a.instance).localeCompare(String(b.instance)));
    assert.deepEqual(matched, [
      { alertname: 'DiskFull', cluster: 'lab', instance: 'nuc1' },
      { alertname: 'DiskFull', cluster: 'lab', instance: 'nuc2' },
    ]);
    await waitFor('the message to show the ack', () => /Acknowledged by admin until .*: looking at \/var/.test(String(shown(post).body)), labd);
    assert.match(String(shown(post).formatted_body), /ACKNOWLEDGED/);
  });

  test("a member's ack reply is refused and silences nothing", async () => {
    await am.post([firing({ alertname: 'CpuHot', cluster: 'lab', instance: 'nuc3' })]);
    const post = await onePost('CpuHot');
    const ack = fake.say(alerts.roomId, bob.userId, 'ack 1h');
    // A plain message (not a reply) is chat; the reply is what counts.
    const reply = fake.say(alerts.roomId, bob.userId, 'ack 1h mine', { replyTo: post });
    const answer = await replyTo({ fake, bot, labd } as Parameters<typeof replyTo>[0], reply);
    assert.match(String(answer.content.body), /^permission denied: 'ack' needs ops\.alerts \(you are member\)/);
    assert.equal(answer.content.msgtype, 'm.notice');
    assert.deepEqual(repliesTo(fake, bot, ack), []);
    const stranger = fake.say(alerts.roomId, mallory.userId, 'ack', { replyTo: post });
    const refused = await replyTo({ fake, bot, labd } as Parameters<typeof replyTo>[0], stranger);
    assert.match(String(refused.content.body), /^Sorry, @mallory:fake\.test is not linked to a labd user/);
    assert.deepEqual(await silencesOf('CpuHot'), []);
    assert.doesNotMatch(String(shown(post).body), /Acknowledged/);
  });

  test('a ✅ reaction acknowledges, and redacting it takes the acknowledgement back', async () => {
    const post = await onePost('CpuHot');
    // Element sends the emoji with the U+FE0F variation selector.
    const reaction = fake.react(post, alice.userId, '✅\uFE0F');
    const [silence] = await until('the reaction to silence CpuHot', async () => {
      const s = await silencesOf('CpuHot');
      return s.length === 1 ? s : undefined;
    });
    assert.equal(silence!.createdBy, 'admin');
    await waitFor('the message to show the ack', () => /Acknowledged by admin/.test(String(shown(post).body)), labd);
    // A 👀 from bob on an acknowledged group changes nothing.
    fake.react(post, bob.userId, '👀');
    fake.inject(alerts.roomId, alice.userId, { redacts: reaction.event_id }, 'm.room.redaction');
    await until('the silence to be expired', async () => (await silences()).find((s) => s.id === silence!.id && s.status.state === 'expired'));
    await waitFor('the message to drop the ack', () => /^FIRING/.test(String(shown(post).body)) && !/Acknowledged/.test(String(shown(post).body)), labd);
    assert.deepEqual(await silencesOf('CpuHot'), []);
  });

  test('a group that resolves gets its message edited to say so, mentioning nobody', async () => {
    const post = await onePost('CpuHot');
    // As Prometheus does: the same alert, with its start, now ended.
    const [live] = (await am.get('/api/v2/alerts?filter=alertname%3D%22CpuHot%22')) as { labels: Record<string, string>; startsAt: string }[];
    await am.post([{ labels: live!.labels, startsAt: live!.startsAt, endsAt: new Date(Date.now() - 500).toISOString() }]);
    await waitFor(
      'the message to say resolved',
      () => /^RESOLVED: alert group \d+ \(alertname=CpuHot cluster=lab\), 0\/1 firing/.test(String(shown(post).body)),
      labd,
    );
    assert.deepEqual(shown(post)['m.mentions'], {});
    assert.match(String(shown(post).formatted_body), /Resolved at \d{4}-\d\d-\d\d \d\d:\d\dZ/);
    // A late ✅ on a resolved group acknowledges nothing.
    fake.react(post, alice.userId, '✅');
    const marker = fake.say(ops.roomId, alice.userId, '!lab version');
    await replyTo({ fake, bot, labd } as Parameters<typeof replyTo>[0], marker);
    assert.deepEqual(await silencesOf('CpuHot'), []);
    assert.equal(posts('CpuHot').length, 1);
  });

  test('HTML in alert labels and annotations is escaped in the message', async () => {
    // Started 5 s ago: due for escalation (6 s) soon, for the next test.
    await am.post([
      {
        ...firing({ alertname: 'Html', cluster: 'lab', instance: '<img src=x onerror=alert(1)>' }, { summary: '<b>bold</b> & "quoted"' }),
        startsAt: new Date(Date.now() - 5000).toISOString(),
      },
    ]);
    const post = await onePost('Html');
    const html = String(post.content.formatted_body);
    assert.doesNotMatch(html, /<img|<b>/);
    assert.match(html, /instance=&lt;img src=x onerror=alert\(1\)&gt;/);
    assert.match(html, /&lt;b&gt;bold&lt;\/b&gt; &amp; &quot;quoted&quot;/);
    assert.match(String(post.content.body), /<b>bold<\/b>/, 'the plain body keeps the text as it is');
  });

  test('a group nobody acknowledges escalates once, mentioning the escalation targets', async () => {
    const post = await onePost('Html');
    const escalation = await waitFor('the escalation', () => repliesTo(fake, bot, post)[0], labd);
    assert.equal(escalation.content.msgtype, 'm.text');
    assert.deepEqual(escalation.content['m.mentions'], { user_ids: [dora.userId] });
    assert.match(String(escalation.content.body), /@dora:fake\.test alert group \d+ \(alertname=Html cluster=lab\) has been firing for more than 6s/);
    // One follow-up per firing episode, however long it keeps firing: a group that starts firing now,
    // already past due, escalates in a later round, which found Html due again and left it alone.
    await am.post([{ ...firing({ alertname: 'Later', cluster: 'lab', instance: 'nuc1' }), startsAt: new Date(Date.now() - 60_000).toISOString() }]);
    const later = await onePost('Later');
    await waitFor('the later group to escalate', () => repliesTo(fake, bot, later)[0], labd);
    await outboxDrained();
    assert.equal(repliesTo(fake, bot, post).length, 1);
  });

  test('429s and an outage of the homeserver: every alert message is delivered afterwards, exactly once', async () => {
    await fake.setDown('refused');
    const names = ['Burst1', 'Burst2', 'Burst3'];
    await am.post(names.map((n) => firing({ alertname: n, cluster: 'lab', instance: 'nuc1' })));
    await until('labd to store the burst', async () => {
      const groups = JSON.parse(labd.ssh(adminKey, ['alerts', '--json']).stdout) as { groupLabels: Record<string, string> }[];
      return names.every((n) => groups.some((g) => g.groupLabels.alertname === n));
    });
    // A second alert of Burst1 while down: its message is still unsent, so the post takes it in.
    await am.post([firing({ alertname: 'Burst1', cluster: 'lab', instance: 'nuc2' })]);
    await until('labd to store the second Burst1 alert', async () => {
      const groups = JSON.parse(labd.ssh(adminKey, ['alerts', '--json']).stdout) as { groupLabels: Record<string, string>; alerts: unknown[] }[];
      return groups.some((g) => g.groupLabels.alertname === 'Burst1' && g.alerts.length === 2);
    });
    fake.rateLimit(3, 400);
    await fake.setDown(false);
    for (const n of names) await onePost(n);
    const sends = fake.requests.filter((q) => q.method === 'PUT' && q.userId === bot.userId && q.path.includes('/send/m.room.message/'));
    assert.ok(
      sends.some((q) => q.status === 429),
      'the homeserver rate-limited the bot',
    );
    await waitFor('Burst1 showing both alerts', () => /2\/2 firing/.test(String(shown(posts('Burst1')[0]!).body)), labd);
    // Everything queued has gone out: a second post of any of them would be in the room by now.
    await outboxDrained();
    for (const n of names) assert.equal(posts(n).length, 1, `${n} posted once`);
  });

  test('a restart runs no ack twice, even when the sync replays the room', async () => {
    const burst1 = await onePost('Burst1');
    const burst2 = await onePost('Burst2');
    const replied = fake.say(alerts.roomId, alice.userId, 'ack 30m', { replyTo: burst1 });
    await replyTo({ fake, bot, labd } as Parameters<typeof replyTo>[0], replied);
    fake.react(burst2, alice.userId, '👀');
    await until('the reaction ack', async () => (await silencesOf('Burst2')).length === 1);
    for (const post of [burst1, burst2]) await waitFor('the message to show the ack', () => /Acknowledged by admin/.test(String(shown(post).body)), labd);
    const editsBefore = botMessages().filter((e) => relation(e).rel_type === 'm.replace').length;
    const acksBefore = matrixAcks().length;
    const silencesBefore = (await silences()).filter((s) => s.status.state === 'active').length;
    const escalations = repliesTo(fake, bot, posts('Html')[0]!).length;

    await labd.stop();
    const db = new Database(join(dataDir, 'labd.db'));
    db.prepare("DELETE FROM matrix_state WHERE key = 'syncToken'").run();
    db.close();
    labd = await LabdProcess.start({ adminKeys: [keys.publicKey(adminKey)], env, dataDir });
    const marker = fake.say(ops.roomId, alice.userId, '!lab version');
    await replyTo({ fake, bot, labd } as Parameters<typeof replyTo>[0], marker);
    // A command in the alerts room, after the replayed acks in its timeline and from the same sender: its
    // events run in order, so once it is answered any ack the replay ran again would have run too.
    const alertsMarker = fake.say(alerts.roomId, alice.userId, '!lab version');
    await replyTo({ fake, bot, labd } as Parameters<typeof replyTo>[0], alertsMarker);
    // A group already past due when it arrives escalates in a round of the restarted labd, a round that
    // found Html due as well.
    // (Alertmanager still sends to the first labd's port: the webhook is delivered as it would send it.)
    const labels = { alertname: 'AfterRestart', cluster: 'lab', instance: 'nuc1' };
    const hook = await fetch(`http://127.0.0.1:${labd.httpPort}/hooks/alertmanager`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        version: '4',
        groupKey: '{}:{alertname="AfterRestart", cluster="lab"}',
        status: 'firing',
        receiver: 'labd',
        groupLabels: { alertname: 'AfterRestart', cluster: 'lab' },
        commonLabels: labels,
        commonAnnotations: {},
        externalURL: am.url,
        alerts: [
          {
            status: 'firing',
            labels,
            annotations: {},
            startsAt: new Date(Date.now() - 60_000).toISOString(),
            endsAt: '0001-01-01T00:00:00Z',
            generatorURL: '',
            fingerprint: 'a1f7e2',
          },
        ],
      }),
    });
    assert.equal(hook.status, 200, await hook.text());
    const afterRestart = await onePost('AfterRestart');
    await waitFor('the new group to escalate', () => repliesTo(fake, bot, afterRestart)[0], labd);
    await outboxDrained();
    assert.equal(matrixAcks().length, acksBefore, 'no ack or unack ran again');
    assert.equal((await silences()).filter((s) => s.status.state === 'active').length, silencesBefore);
    assert.equal(repliesTo(fake, bot, replied).length, 1);
    assert.equal(repliesTo(fake, bot, posts('Html')[0]!).length, escalations, 'the escalation timer read the stored state');
    for (const n of ['DiskFull', 'CpuHot', 'Html', 'Burst1', 'Burst2', 'Burst3']) assert.equal(posts(n).length, 1, `${n} posted once`);
    // Messages are rendered from stored state only, so a restart finds nothing to edit.
    assert.equal(botMessages().filter((e) => relation(e).rel_type === 'm.replace').length, editsBefore);
  });
});

describe('alert message bookkeeping', () => {
  const dir = mkdtempSync(join(tmpdir(), 'labd-alert-messages-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const db = openDb(dir);
  migrateDb(db);
  const h = sqliteHandle(db);
  const outbox = new SqlBotStore(h, systemClock);
  const messages = new AlertMessages({ messages: new SqlAlertMessageStore(h), outbox, transactions: { write: (fn) => h.transaction(() => fn()) } });
  const content = (text: string) => ({
    post: { msgtype: 'm.text', body: text },
    edit: (target: string) => ({
      msgtype: 'm.text',
      body: `* ${text}`,
      'm.new_content': { msgtype: 'm.text', body: text },
      'm.relates_to': { rel_type: 'm.replace', event_id: target },
    }),
  });

  test('a post, then edits; content nobody tried to send yet is rewritten instead of edited again', async () => {
    assert.equal(await messages.queue(7, '!r:x', content('one'), () => undefined), 'posted');
    assert.equal(await messages.queue(7, '!r:x', content('one'), () => undefined), 'unchanged');
    assert.equal(await messages.queue(7, '!r:x', content('two'), () => undefined), 'rewritten');
    const post = (await outbox.nextOutgoing())!;
    assert.equal(JSON.parse(post.content).body, 'two');
    // Once a send was tried, the homeserver may hold that transaction: a change is a new edit.
    await outbox.markRetry(post.id, 1, new Date(), '429');
    assert.equal(await messages.queue(7, '!r:x', content('three'), () => undefined), 'edited');
    const edit = (await outbox.outgoing((await messages.message(7))!.lastTxnId))!;
    assert.equal(JSON.parse(edit.content)['m.relates_to'].event_id, TXN_REF + post.txnId);
    assert.equal(await messages.queue(7, '!r:x', content('four'), () => undefined), 'rewritten');
    assert.equal(JSON.parse((await outbox.outgoing(edit.txnId))!.content)['m.new_content'].body, 'four');
    // The row being sent right now is not touched either.
    assert.equal(await messages.queue(7, '!r:x', content('five'), () => edit.id), 'edited');
    assert.equal((await messages.message(7))!.revision, 2);
    // Delivery teaches the message its event id, found by replies and reactions.
    await outbox.markSent(post.id, '$post', new Date());
    assert.equal((await messages.messageByEventId('$post'))?.groupId, 7);
  });

  test('an edit refers to its post by transaction id until the post is delivered', () => {
    const body = JSON.stringify({
      body: 'x',
      'm.relates_to': { rel_type: 'm.replace', event_id: `${TXN_REF}t1`, 'm.in_reply_to': { event_id: `${TXN_REF}t1` } },
    });
    assert.equal(
      resolveRefs(body, () => undefined),
      undefined,
    );
    const resolved = JSON.parse(resolveRefs(body, (t) => (t === 't1' ? '$e1' : undefined))!);
    assert.deepEqual(resolved['m.relates_to'], { rel_type: 'm.replace', event_id: '$e1', 'm.in_reply_to': { event_id: '$e1' } });
    assert.equal(
      resolveRefs('{"body":"plain"}', () => undefined),
      '{"body":"plain"}',
    );
  });

  test('reaction keys are compared without variation selectors', () => {
    assert.ok(ACK_REACTIONS.has(normaliseKey('✅\uFE0F')));
    assert.ok(ACK_REACTIONS.has(normaliseKey('👀\uFE0F')));
    assert.ok(!ACK_REACTIONS.has(normaliseKey('👍\uFE0F')));
  });
});
