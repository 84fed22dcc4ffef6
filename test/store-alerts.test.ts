/**
 * The alert store's and the escalation store's port contracts, on SQLite and on PostgreSQL (PGlite):
 * ingesting deliveries (dedupe, stale copies, a poll's resolution contradicted), group status and
 * episodes, acknowledgements with their silences and history, and Apprise escalations.
 */
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { SqlEscalationStore } from '../src/ops/alerts/sql-escalations.ts';
import { SqlAlertStore } from '../src/ops/alerts/sql-store.ts';
import type { WebhookPayload } from '../src/ops/alerts/payload.ts';
import { ENGINES, openTestEngine, type TestEngine } from './support/engines.ts';

const T0 = Date.parse('2026-03-01T10:00:00.123Z');
const at = (s: number) => new Date(T0 + s * 1000);

function delivery(groupKey: string, alerts: { fp: string; status: 'firing' | 'resolved'; startsAt: Date; labels?: Record<string, string> }[]): WebhookPayload {
  const status = alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved';
  return {
    version: '4',
    groupKey,
    truncatedAlerts: 0,
    status,
    receiver: 'labd',
    groupLabels: { alertname: groupKey },
    commonLabels: { alertname: groupKey, job: 'node' },
    commonAnnotations: { summary: `${groupKey} is bad` },
    externalURL: 'http://am.invalid',
    alerts: alerts.map((a) => ({
      status: a.status,
      labels: a.labels ?? { alertname: groupKey, instance: a.fp },
      annotations: { description: `alert ${a.fp}` },
      startsAt: a.startsAt.toISOString(),
      endsAt: a.status === 'resolved' ? a.startsAt.toISOString() : '0001-01-01T00:00:00Z',
      generatorURL: `http://prom.invalid/${a.fp}`,
      fingerprint: a.fp,
    })),
  };
}

describe.each(ENGINES)('alert store on %s', (engineName) => {
  let engine: TestEngine;
  let store: SqlAlertStore;
  let escalations: SqlEscalationStore;
  beforeAll(async () => {
    engine = await openTestEngine(engineName);
    store = new SqlAlertStore(engine.handle);
    escalations = new SqlEscalationStore(engine.handle);
  });
  afterAll(() => engine.close());

  test('ingest stores a group and its alerts once; a re-sent delivery is a duplicate; get and list show it', async () => {
    const d = delivery('Disk', [
      { fp: 'd1', status: 'firing', startsAt: at(0) },
      { fp: 'd2', status: 'firing', startsAt: at(5) },
    ]);
    const first = await store.ingest(d, at(10));
    assert.deepEqual({ ...first, groupId: typeof first.groupId }, { groupId: 'number', stored: 2, duplicates: 0, changed: true });
    assert.deepEqual(await store.ingest(d, at(11)), { groupId: first.groupId, stored: 0, duplicates: 2, changed: false });
    const g = (await store.get(first.groupId))!;
    assert.equal(g.groupKey, 'Disk');
    assert.equal(g.receiver, 'labd');
    assert.equal(g.status, 'firing');
    assert.deepEqual(g.groupLabels, { alertname: 'Disk' });
    assert.deepEqual(g.commonLabels, { alertname: 'Disk', job: 'node' });
    assert.deepEqual(g.commonAnnotations, { summary: 'Disk is bad' });
    assert.equal(g.externalUrl, 'http://am.invalid');
    assert.equal(g.firstSeenAt.getTime(), at(10).getTime());
    assert.equal(g.changedAt.getTime(), at(10).getTime());
    assert.equal(g.firingSince?.getTime(), at(0).getTime(), 'the episode starts with the earliest firing alert');
    assert.equal(g.resolvedAt, null);
    assert.equal(g.ack, null);
    assert.deepEqual(
      g.alerts.map((a) => [a.fingerprint, a.status, a.startsAt.getTime(), a.endsAt, a.generatorUrl, a.silenced, a.labels.instance, a.annotations.description]),
      [
        ['d1', 'firing', at(0).getTime(), null, 'http://prom.invalid/d1', false, 'd1', 'alert d1'],
        ['d2', 'firing', at(5).getTime(), null, 'http://prom.invalid/d2', false, 'd2', 'alert d2'],
      ],
    );
    assert.equal(await store.get(first.groupId + 1000), undefined);
    assert.ok((await store.list(false)).some((x) => x.id === first.groupId));
  });

  test('resolution, a late firing copy (stale), a new episode, and a resolution seen by polling that a webhook contradicts', async () => {
    const { groupId } = await store.ingest(delivery('Cpu', [{ fp: 'c1', status: 'firing', startsAt: at(100) }]), at(100));
    const resolved = await store.ingest(delivery('Cpu', [{ fp: 'c1', status: 'resolved', startsAt: at(100) }]), at(110));
    assert.deepEqual(resolved, { groupId, stored: 1, duplicates: 0, changed: true });
    let g = (await store.get(groupId))!;
    assert.equal(g.status, 'resolved');
    assert.equal(g.resolvedAt?.getTime(), at(110).getTime());
    assert.equal(g.alerts[0]!.endsAt?.getTime(), at(100).getTime());
    // A webhook's copy of the old firing state after "resolved": never newer news.
    assert.deepEqual(await store.ingest(delivery('Cpu', [{ fp: 'c1', status: 'firing', startsAt: at(100) }]), at(111)), {
      groupId,
      stored: 0,
      duplicates: 1,
      changed: false,
    });
    // An older episode is stale too.
    assert.equal((await store.ingest(delivery('Cpu', [{ fp: 'c1', status: 'firing', startsAt: at(50) }]), at(112))).duplicates, 1);
    assert.equal((await store.get(groupId))!.status, 'resolved');
    // A new episode fires again.
    assert.equal((await store.ingest(delivery('Cpu', [{ fp: 'c1', status: 'firing', startsAt: at(200) }]), at(200))).changed, true);
    g = (await store.get(groupId))!;
    assert.equal(g.status, 'firing');
    assert.equal(g.firingSince?.getTime(), at(200).getTime());
    assert.equal(g.resolvedAt, null);
    // Polling: nothing to resolve without fingerprints; an unknown fingerprint changes nothing.
    assert.equal(await store.resolveByPoll(groupId, [], at(210)), false);
    assert.equal(await store.resolveByPoll(groupId, ['nope'], at(210)), false);
    assert.equal(await store.resolveByPoll(groupId, ['c1'], at(220)), true);
    g = (await store.get(groupId))!;
    assert.equal(g.status, 'resolved');
    assert.equal(g.alerts[0]!.endsAt?.getTime(), at(220).getTime());
    assert.equal(g.resolvedAt?.getTime(), at(220).getTime());
    // Alertmanager restarted and lost its alerts: a firing webhook contradicts what only polling inferred.
    const again = await store.ingest(delivery('Cpu', [{ fp: 'c1', status: 'firing', startsAt: at(200) }]), at(230));
    assert.equal(again.changed, true);
    assert.equal((await store.get(groupId))!.status, 'firing');
    assert.equal(await store.resolveByPoll(groupId + 1000, ['c1'], at(240)), false, 'an unknown group');
  });

  test('acknowledgement, extension, replaced silences, history and clearing; countByState, list and acknowledged', async () => {
    const { groupId } = await store.ingest(
      delivery('Net', [
        { fp: 'n1', status: 'firing', startsAt: at(300) },
        { fp: 'n2', status: 'firing', startsAt: at(300) },
      ]),
      at(300),
    );
    const before = await store.countByState();
    await store.recordAck(groupId, {
      by: 'alice',
      userId: 7,
      at: at(310),
      until: at(910),
      comment: 'looking',
      holdUntil: at(9000),
      silences: [
        { fingerprint: 'n1', silenceId: `s-${engineName}-1` },
        { fingerprint: 'n2', silenceId: `s-${engineName}-2` },
      ],
    });
    let g = (await store.get(groupId))!;
    assert.deepEqual(g.ack, {
      by: 'alice',
      userId: 7,
      at: at(310),
      until: at(910),
      comment: 'looking',
      silenceIds: [`s-${engineName}-1`, `s-${engineName}-2`],
      holdUntil: at(9000),
      extensions: 0,
    });
    assert.equal(g.changedAt.getTime(), at(310).getTime());
    assert.deepEqual(
      g.alerts.map((a) => a.silenced),
      [true, true],
    );
    const after = await store.countByState();
    assert.equal(after.acknowledged, before.acknowledged + 1);
    assert.equal(after.firing, before.firing - 1);
    assert.ok(!(await store.list(false)).some((x) => x.id === groupId), 'an acknowledged group is not listed as unacknowledged');
    assert.ok((await store.list(true)).some((x) => x.id === groupId));
    assert.deepEqual(
      (await store.acknowledged()).map((x) => x.id),
      [groupId],
    );

    await store.recordExtension(groupId, at(1510), at(900));
    await store.replaceSilences([]);
    await store.replaceSilences([{ from: `s-${engineName}-2`, to: `s-${engineName}-2b` }]);
    g = (await store.get(groupId))!;
    assert.equal(g.ack?.until.getTime(), at(1510).getTime());
    assert.equal(g.ack?.extensions, 1);
    assert.deepEqual(await store.activeSilences(groupId), [
      { fingerprint: 'n1', silenceId: `s-${engineName}-1` },
      { fingerprint: 'n2', silenceId: `s-${engineName}-2b` },
    ]);

    // A new acknowledgement ends the earlier silences.
    await store.recordAck(groupId, {
      by: 'bob',
      userId: null,
      at: at(1000),
      until: at(2000),
      comment: '',
      holdUntil: null,
      silences: [{ fingerprint: 'n1', silenceId: `s-${engineName}-3` }],
    });
    g = (await store.get(groupId))!;
    assert.deepEqual(g.ack?.silenceIds, [`s-${engineName}-3`]);
    assert.equal(g.ack?.extensions, 0, 'no hold: no extensions counted');
    assert.deepEqual(
      g.alerts.map((a) => a.silenced),
      [true, false],
    );

    await store.clearAck(groupId, at(1100), 'unacknowledged', 'bob');
    g = (await store.get(groupId))!;
    assert.equal(g.ack, null);
    assert.equal(g.changedAt.getTime(), at(1100).getTime());
    assert.deepEqual(await store.activeSilences(groupId), []);
    assert.deepEqual(await store.acknowledged(), []);
    const history = await store.ackHistory(groupId);
    assert.deepEqual(
      history.map((h) => [h.groupId, h.kind, h.by, h.until?.getTime() ?? null, h.at.getTime()]),
      [
        [groupId, 'acknowledged', 'alice', at(910).getTime(), at(310).getTime()],
        [groupId, 'extended', 'system', at(1510).getTime(), at(900).getTime()],
        [groupId, 'acknowledged', 'bob', at(2000).getTime(), at(1000).getTime()],
        [groupId, 'unacknowledged', 'bob', null, at(1100).getTime()],
      ],
    );
    assert.ok(history.every((h) => typeof h.id === 'number'));
    assert.deepEqual(await store.countByState(), before);
  });

  test('countByState counts firing, acknowledged and resolved groups', async () => {
    const counts = await store.countByState();
    const all = await store.list(true);
    assert.equal(counts.firing + counts.acknowledged + counts.resolved, all.length);
    assert.equal(counts.resolved, all.filter((g) => g.status === 'resolved').length);
    assert.equal(counts.acknowledged, all.filter((g) => g.status === 'firing' && g.ack).length);
  });

  test('list(false) is newest first by change; list(true) includes resolved groups', async () => {
    const a = await store.ingest(delivery('OrderA', [{ fp: 'oa', status: 'firing', startsAt: at(5000) }]), at(5000));
    const b = await store.ingest(delivery('OrderB', [{ fp: 'ob', status: 'firing', startsAt: at(5001) }]), at(5001));
    const ids = (await store.list(false)).map((g) => g.id);
    assert.ok(ids.indexOf(b.groupId) < ids.indexOf(a.groupId));
    await store.ingest(delivery('OrderB', [{ fp: 'ob', status: 'resolved', startsAt: at(5001) }]), at(5002));
    assert.ok(!(await store.list(false)).some((g) => g.id === b.groupId));
    assert.ok((await store.list(true)).some((g) => g.id === b.groupId && g.status === 'resolved'));
  });

  test('escalations: opened once per episode (a real firingSince in ms), due in order, retried, sent, dropped', async () => {
    const { groupId } = await store.ingest(delivery('Esc', [{ fp: 'e1', status: 'firing', startsAt: at(6000) }]), at(6000));
    const other = (await store.ingest(delivery('Esc2', [{ fp: 'e2', status: 'firing', startsAt: at(6000) }]), at(6000))).groupId;
    const episode = at(6000).getTime();
    assert.equal(await escalations.open(groupId, episode, at(6100)), true);
    assert.equal(await escalations.open(groupId, episode, at(6101)), false, 'the same episode escalates once');
    assert.equal(await escalations.open(other, episode, at(6102)), true);
    assert.deepEqual(await escalations.due(at(6099)), []);
    const due = await escalations.due(at(6200));
    assert.deepEqual(
      due.map((r) => [r.groupId, r.episode, r.channel, r.state, r.attempts, r.nextAttemptAt.getTime(), r.lastError, r.sentAt]),
      [
        [groupId, episode, 'apprise', 'pending', 0, at(6100).getTime(), null, null],
        [other, episode, 'apprise', 'pending', 0, at(6102).getTime(), null, null],
      ],
    );
    assert.ok(due[0]!.createdAt instanceof Date);
    const [first, second] = due as [(typeof due)[0], (typeof due)[0]];
    await escalations.retryLater(first.id, 1, 'apprise down', at(6300));
    assert.deepEqual(
      (await escalations.due(at(6200))).map((r) => r.id),
      [second.id],
    );
    const retried = (await escalations.due(at(6300))).find((r) => r.id === first.id)!;
    assert.deepEqual([retried.attempts, retried.lastError, retried.nextAttemptAt.getTime()], [1, 'apprise down', at(6300).getTime()]);
    await escalations.sent(first.id, 2, at(6301));
    await escalations.drop(second.id);
    assert.deepEqual(await escalations.due(at(99999)), []);
    // A new episode of the same group escalates again.
    assert.equal(await escalations.open(groupId, episode + 1, at(7000)), true);
  });
});
