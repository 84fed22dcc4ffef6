import assert from 'node:assert/strict';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { startAlertLab, type AlertLab, type AlertmanagerProcess } from './support/alertmanager.ts';
import { KeyLab } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';
import { until } from './support/wait.ts';

interface GroupJson {
  id: number;
  state: string;
  status: string;
  groupKey: string;
  receiver: string;
  groupLabels: Record<string, string>;
  ack: { by: string; comment: string; silenceIds: string[] } | null;
  alerts: { fingerprint: string; status: string; labels: Record<string, string>; annotations: Record<string, string>; startsAt: string; silenced: boolean }[];
}
interface AmSilenceJson {
  id: string;
  createdBy: string;
  comment: string;
  matchers: { name: string; value: string; isRegex: boolean; isEqual?: boolean }[];
  status: { state: string };
}
interface AmAlertJson {
  fingerprint: string;
  labels: Record<string, string>;
  status: { state: string; silencedBy: string[] };
}

describe('alerts with the real Alertmanager', () => {
  const lab = new KeyLab();
  let alertLab: AlertLab<InProcessLabd>;
  let token: string;
  let labd: InProcessLabd;
  let am: AlertmanagerProcess;
  let admin: string;
  let member: string;
  const hook = () => `http://127.0.0.1:${labd.httpPort}/hooks/alertmanager`;
  const inAnHour = () => new Date(Date.now() + 3600_000).toISOString();
  // Alertmanager takes a missing startsAt from endsAt, so alerts say when they started, as Prometheus's do.
  const startedNow = () => new Date(Date.now() - 1000).toISOString();

  const groups = async (all = true): Promise<GroupJson[]> => {
    const r = await labd.ssh(admin, ['alerts', ...(all ? ['--all'] : []), '--json']);
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as GroupJson[];
  };
  const groupOf = async (cluster: string) => (await groups()).find((g) => g.groupLabels.alertname === 'DiskFull' && g.groupLabels.cluster === cluster);
  const silences = async () => (await am.get('/api/v2/silences')) as AmSilenceJson[];
  const amAlerts = async () => (await am.get('/api/v2/alerts')) as AmAlertJson[];

  before(async () => {
    admin = lab.key('admin');
    member = lab.key('member');
    alertLab = await startAlertLab({ adminKeys: [lab.publicKey(admin)], env: { LABD_ALERTMANAGER_POLL_INTERVAL: '1s' } }, InProcessLabd.start);
    ({ labd, am, token } = alertLab);
    const r = await labd.ssh(admin, ['user', 'add', 'mia', '--role', 'member', '--key', `'${lab.publicKey(member)}'`]);
    assert.equal(r.status, 0, r.stderr);
  });
  after(async () => {
    await alertLab?.stop();
    lab.cleanup();
  });

  test('the webhook refuses a missing or wrong token (401) and a malformed body (400), storing nothing', async () => {
    const body = JSON.stringify({ version: '4', groupKey: 'x', status: 'firing', receiver: 'labd', alerts: [] });
    const post = (headers: Record<string, string>, b = body) =>
      fetch(hook(), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: b });
    assert.equal((await post({})).status, 401);
    assert.equal((await post({ authorization: 'Bearer wrong' })).status, 401);
    assert.equal((await post({ authorization: `Basic ${token}` })).status, 401);
    const notJson = await post({ authorization: `Bearer ${token}` }, '{"version": "4", ');
    assert.equal(notJson.status, 400);
    const wrongShape = await post(
      { authorization: `Bearer ${token}` },
      JSON.stringify({
        version: '4',
        groupKey: 'g',
        status: 'firing',
        receiver: 'labd',
        alerts: [{ status: 'burning', labels: { a: 'b' }, startsAt: 'now', fingerprint: 'f' }],
      }),
    );
    assert.equal(wrongShape.status, 400);
    assert.match(((await wrongShape.json()) as { error: string }).error, /alerts\.0\./);
    assert.deepEqual(await groups(), []);
  });

  test('alerts posted to Alertmanager reach labd and show in `alerts` over SSH', async () => {
    await am.post([
      {
        labels: { alertname: 'DiskFull', cluster: 'lab', instance: 'nuc1', severity: 'critical' },
        annotations: { summary: 'disk /var is 97% full' },
        startsAt: startedNow(),
        endsAt: inAnHour(),
      },
      {
        labels: { alertname: 'DiskFull', cluster: 'lab', instance: 'nuc2', severity: 'critical' },
        annotations: { summary: 'disk /var is 97% full' },
        startsAt: startedNow(),
        endsAt: inAnHour(),
      },
      {
        labels: { alertname: 'DiskFull', cluster: 'other', instance: 'nuc1', severity: 'critical' },
        annotations: { summary: 'disk /srv is full' },
        startsAt: startedNow(),
        endsAt: inAnHour(),
      },
    ]);
    const lab1 = await until('the lab group with two alerts', async () => {
      const g = await groupOf('lab');
      return g && g.alerts.length === 2 ? g : undefined;
    });
    assert.equal(lab1.state, 'firing');
    assert.equal(lab1.receiver, 'labd');
    assert.deepEqual(lab1.alerts.map((a) => a.labels.instance).sort(), ['nuc1', 'nuc2']);
    await until('the sibling group', async () => await groupOf('other'));
    const text = await labd.ssh(admin, ['alerts']);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /^ID\s+STATE\s+GROUP/);
    assert.match(text.stdout, /disk \/var is 97% full/);
    assert.equal((await labd.ssh(member, ['alerts'])).status, 3);
  });

  test('a re-sent or duplicated delivery is stored once', async () => {
    const g = (await groupOf('lab'))!;
    const payload = {
      version: '4',
      groupKey: g.groupKey,
      status: 'firing',
      receiver: 'labd',
      groupLabels: g.groupLabels,
      commonLabels: {},
      commonAnnotations: {},
      externalURL: am.url,
      alerts: g.alerts.map((a) => ({
        status: 'firing',
        labels: a.labels,
        annotations: a.annotations,
        startsAt: a.startsAt,
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: '',
        fingerprint: a.fingerprint,
      })),
    };
    for (let i = 0; i < 2; i++) {
      const res = await fetch(hook(), {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(payload),
      });
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { group: g.id, stored: 0, duplicates: 2 });
    }
    const after = await groups();
    assert.equal(after.filter((x) => x.groupKey === g.groupKey).length, 1);
    assert.equal((await groupOf('lab'))!.alerts.length, 2);
  });

  test('ack silences exactly the group’s alerts (exact matchers, ACK! comment), not a sibling; unack expires the silences', async () => {
    const g = (await groupOf('lab'))!;
    const sibling = (await groupOf('other'))!;
    assert.equal((await labd.ssh(member, ['ack', String(g.id)])).status, 3);
    assert.equal((await labd.ssh(admin, ['ack', String(g.id), '--for', '999w'])).status, 2);
    const r = await labd.ssh(admin, ['ack', String(g.id), '--for', '2h', 'looking', 'at', 'the', 'disk', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const acked = JSON.parse(r.stdout) as GroupJson;
    assert.equal(acked.state, 'acknowledged');
    assert.equal(acked.ack!.by, 'admin');
    assert.equal(acked.ack!.silenceIds.length, 2);

    const mine = (await silences()).filter((s) => acked.ack!.silenceIds.includes(s.id));
    assert.equal(mine.length, 2);
    for (const s of mine) {
      assert.equal(s.status.state, 'active');
      assert.equal(s.createdBy, 'admin');
      assert.equal(s.comment, 'ACK! admin: looking at the disk');
      assert.ok(s.matchers.every((m) => m.isRegex === false && m.isEqual !== false));
      const labels = Object.fromEntries(s.matchers.map((m) => [m.name, m.value]));
      assert.ok(
        g.alerts.some((a) => JSON.stringify(Object.entries(a.labels).sort()) === JSON.stringify(Object.entries(labels).sort())),
        `silence matches one alert exactly: ${JSON.stringify(labels)}`,
      );
    }
    await until('Alertmanager to mark the lab alerts silenced and the sibling not', async () => {
      const list = await amAlerts();
      const lab = list.filter((a) => a.labels.cluster === 'lab');
      const other = list.filter((a) => a.labels.cluster === 'other');
      return lab.length === 2 &&
        lab.every((a) => a.status.state === 'suppressed' && a.status.silencedBy.length === 1) &&
        other.length === 1 &&
        other[0]!.status.state === 'active' &&
        other[0]!.status.silencedBy.length === 0
        ? true
        : undefined;
    });
    assert.equal((await groupOf('other'))!.ack, null);
    assert.equal(sibling.state, 'firing');
    const listed = (await groups(true)).find((x) => x.id === g.id)!;
    assert.equal(listed.state, 'acknowledged');
    assert.ok(listed.alerts.every((a) => a.silenced));
    assert.deepEqual(
      (await groups(false)).map((x) => x.id),
      [sibling.id],
      'without --all only unacknowledged firing groups',
    );
    const text = await labd.ssh(admin, ['alerts', '--all']);
    assert.match(text.stdout, new RegExp(`^${g.id}\\s+acknowledged\\s.*admin until `, 'm'));

    const u = await labd.ssh(admin, ['unack', String(g.id)]);
    assert.equal(u.status, 0, u.stderr);
    const after = (await silences()).filter((s) => acked.ack!.silenceIds.includes(s.id));
    assert.deepEqual(
      after.map((s) => s.status.state),
      ['expired', 'expired'],
    );
    assert.equal((await groupOf('lab'))!.ack, null);
    assert.equal((await groupOf('lab'))!.state, 'firing');
    assert.equal((await labd.ssh(admin, ['unack', String(g.id)])).status, 1);
  });

  test('an acknowledged group that resolves is seen by the poller (no resolved webhook while silenced) and its silences expire', async () => {
    const g = (await groupOf('lab'))!;
    const r = await labd.ssh(admin, ['ack', String(g.id), '--json']);
    assert.equal(r.status, 0, r.stderr);
    const ids = (JSON.parse(r.stdout) as GroupJson).ack!.silenceIds;
    await until('the lab alerts silenced', async () =>
      (await amAlerts()).filter((a) => a.labels.cluster === 'lab' && a.status.state === 'suppressed').length === 2 ? true : undefined,
    );
    const now = new Date().toISOString();
    await am.post(g.alerts.map((a) => ({ labels: a.labels, annotations: a.annotations, startsAt: a.startsAt, endsAt: now })));
    const resolved = await until('labd to see the lab group resolve', async () => {
      const x = await groupOf('lab');
      return x && x.status === 'resolved' && x.ack === null ? x : undefined;
    });
    assert.equal(resolved.state, 'resolved');
    assert.ok(resolved.alerts.every((a) => a.status === 'resolved'));
    await until('the log line saying the poller saw it', async () => (/seen by polling/.test(labd.logs()) ? true : undefined));
    await until('its silences expired in Alertmanager', async () =>
      (await silences()).filter((s) => ids.includes(s.id)).every((s) => s.status.state === 'expired') ? true : undefined,
    );
    assert.ok(!(await groups(false)).some((x) => x.id === g.id), 'a resolved group is left out of `alerts`');
    assert.equal((await groupOf('other'))!.state, 'firing');
  });

  test('an acknowledgement whose time runs out is ended by the poller', async () => {
    const sibling = (await groupOf('other'))!;
    const r = await labd.ssh(admin, ['ack', String(sibling.id), '--for', '3s']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal((await groupOf('other'))!.state, 'acknowledged');
    const ended = await until('the ack to run out', async () => {
      const g = await groupOf('other');
      return g && g.ack === null ? g : undefined;
    });
    assert.equal(ended.state, 'firing');
    await until('the log line saying so', async () => (/acknowledgement ran out/.test(labd.logs()) ? true : undefined));
  });

  test('Alertmanager down: ack fails with one clear line (exit 1) and nothing is recorded', async () => {
    const sibling = (await groupOf('other'))!;
    await am.stop();
    const r = await labd.ssh(admin, ['ack', String(sibling.id), '--for', '1h']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /Alertmanager at http:\/\/127\.0\.0\.1:\d+: connection refused/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.equal((await groupOf('other'))!.ack, null);
    assert.equal((await groupOf('other'))!.state, 'firing');
    const audit = await labd.ssh(admin, ['audit', '--json']);
    assert.equal(audit.status, 0, audit.stderr);
    assert.match(audit.stdout, /"outcome": "unavailable"/);
  });
});
