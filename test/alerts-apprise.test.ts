import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { freePort, KeyLab, LabdProcess } from './support/labd.ts';
import { startAlertLab, type AlertLab, type AlertmanagerProcess } from './support/alertmanager.ts';
import { RecordingServer } from './support/recorder.ts';
import { until } from './support/wait.ts';

describe('escalation through the Apprise API', () => {
  const lab = new KeyLab();
  const token = randomBytes(24).toString('hex');
  const dataDir = mkdtempSync(join(tmpdir(), 'labd-apprise-'));
  let labd: LabdProcess;
  let apprise: RecordingServer | undefined;
  let apprisePort: number;
  let env: Record<string, string>;
  let admin: string;

  const deliver = async (alertname: string, fingerprint: string) => {
    const body = {
      version: '4',
      groupKey: `{}:{alertname="${alertname}"}`,
      status: 'firing',
      receiver: 'labd',
      groupLabels: { alertname },
      commonLabels: { alertname, instance: 'nuc1' },
      commonAnnotations: { summary: `${alertname} on nuc1` },
      externalURL: 'http://alertmanager.example:9093',
      alerts: [
        {
          status: 'firing',
          labels: { alertname, instance: 'nuc1' },
          annotations: { summary: `${alertname} on nuc1` },
          startsAt: new Date().toISOString(),
          endsAt: '0001-01-01T00:00:00Z',
          generatorURL: '',
          fingerprint,
        },
      ],
    };
    const res = await fetch(`http://127.0.0.1:${labd.httpPort}/hooks/alertmanager`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 200);
    return ((await res.json()) as { group: number }).group;
  };
  const notified = (name: string) => (apprise?.requests ?? []).filter((r) => r.status === 200 && r.body.includes(name));

  before(async () => {
    admin = lab.key('admin');
    apprisePort = await freePort();
    env = {
      LABD_ALERTMANAGER_URL: `http://127.0.0.1:${await freePort()}`,
      LABD_WEBHOOK_TOKEN: token,
      LABD_APPRISE_URL: `http://127.0.0.1:${apprisePort}/notify/labd`,
      LABD_ALERTMANAGER_ESCALATE_AFTER: '2s',
      // Retries after 1 s, then 2 s (2 s and 4 s by default).
      LABD_APPRISE_RETRY: '1s',
    };
    labd = await LabdProcess.start({ adminKeys: [lab.publicKey(admin)], env, dataDir });
  });
  after(async () => {
    await apprise?.stop();
    await labd?.stop();
    lab.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('Apprise down at first: the failure is logged and retried; one warning notification arrives', async () => {
    const id = await deliver('FanStuck', 'f1');
    await until('the first failed attempt in the log', () =>
      /Apprise notification failed.*connection refused|connection refused.*Apprise notification failed/.test(labd.logs()) ? true : undefined,
    );
    apprise = await RecordingServer.start(apprisePort);
    apprise.failNext(1, 503);
    const [sent] = await until('the notification', () => (notified('FanStuck').length ? notified('FanStuck') : undefined));
    assert.equal(sent!.method, 'POST');
    assert.equal(sent!.path, '/notify/labd');
    assert.match(String(sent!.headers['content-type']), /^application\/json/);
    const json = JSON.parse(sent!.body) as Record<string, string>;
    assert.deepEqual(Object.keys(json).sort(), ['body', 'title', 'type']);
    assert.equal(json.type, 'warning');
    assert.match(json.title!, new RegExp(`alert ${id} unacknowledged: alertname=FanStuck`));
    assert.match(json.body!, /nobody acknowledged it/);
    assert.match(json.body!, new RegExp(`ack ${id}`));
    assert.ok(labd.child.exitCode === null, 'labd kept running');
  });

  test('a restart does not send it again', async () => {
    await labd.stop();
    labd = await LabdProcess.start({ adminKeys: [lab.publicKey(admin)], env, dataDir });
    // A later group's notification shows the restarted labd's escalation rounds have run.
    await deliver('DoorOpen', 'd1');
    await until('the later group’s notification', () => (notified('DoorOpen').length ? true : undefined));
    assert.equal(notified('FanStuck').length, 1, 'FanStuck was notified once, not again after the restart');
  });
});

describe('an acknowledged group does not escalate through Apprise (real Alertmanager)', () => {
  const lab = new KeyLab();
  let alertLab: AlertLab;
  let labd: LabdProcess;
  let am: AlertmanagerProcess;
  let apprise: RecordingServer;
  let admin: string;
  const notified = (name: string) => apprise.requests.filter((r) => r.status === 200 && r.body.includes(name));
  const groupId = (alertname: string): number | undefined => {
    const r = labd.ssh(admin, ['alerts', '--json']);
    assert.equal(r.status, 0, r.stderr);
    return (JSON.parse(r.stdout) as { id: number; groupLabels: Record<string, string> }[]).find((g) => g.groupLabels.alertname === alertname)?.id;
  };

  before(async () => {
    admin = lab.key('admin');
    apprise = await RecordingServer.start();
    alertLab = await startAlertLab({
      adminKeys: [lab.publicKey(admin)],
      env: {
        LABD_APPRISE_URL: `http://127.0.0.1:${apprise.port}/notify/labd`,
        // Long enough to acknowledge the first group before it is due, on a busy machine too: only its
        // arrival (Alertmanager's group_wait) and one ack lie in between.
        LABD_ALERTMANAGER_ESCALATE_AFTER: '10s',
      },
    });
    ({ labd, am } = alertLab);
  });
  after(async () => {
    await alertLab?.stop();
    await apprise?.stop();
    lab.cleanup();
  });

  test('the group acknowledged in time is never notified; its unacknowledged sibling is', async () => {
    const inAnHour = new Date(Date.now() + 3600_000).toISOString();
    // Both started firing at the same moment, so the acknowledged group would be due no later than its
    // sibling; the sibling is sent once the first is acknowledged, so nothing else lies before the ack.
    const startsAt = new Date(Date.now() - 1000).toISOString();
    await am.post([{ labels: { alertname: 'AckedInTime', instance: 'nuc1' }, annotations: { summary: 'acked' }, startsAt, endsAt: inAnHour }]);
    const acked = await until('the first group in labd', () => groupId('AckedInTime'));
    const r = labd.ssh(admin, ['ack', String(acked), '--for', '1h']);
    assert.equal(r.status, 0, r.stderr);
    await am.post([{ labels: { alertname: 'NobodyCame', instance: 'nuc1' }, annotations: { summary: 'ignored' }, startsAt, endsAt: inAnHour }]);
    await until('the sibling group in labd', () => groupId('NobodyCame'));

    await until('the sibling’s notification', () => (notified('NobodyCame').length ? true : undefined));
    // Escalations are recorded (and logged) before any is sent, so the acked group's would show by now.
    const escalated = labd
      .logs()
      .split('\n')
      .filter((l) => l.includes('alert escalated: notifying through Apprise'))
      .map((l) => (JSON.parse(l) as { group: number }).group);
    assert.ok(!escalated.includes(acked), `group ${acked} escalated: ${JSON.stringify(escalated)}`);
    assert.equal(notified('AckedInTime').length, 0);
  });
});
