import assert from 'node:assert/strict';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { startAlertLab, type AlertLab, type AlertmanagerProcess } from './support/alertmanager.ts';
import { KeyLab, type LabdProcess } from './support/labd.ts';
import { until } from './support/wait.ts';

interface GroupJson {
  id: number;
  state: string;
  groupLabels: Record<string, string>;
  ack: { by: string; until: string; silenceIds: string[]; hold: { until: string; extensions: number } | null } | null;
  alerts: { labels: Record<string, string> }[];
}
interface AmSilenceJson {
  id: string;
  createdBy: string;
  comment: string;
  endsAt: string;
  matchers: { name: string; value: string }[];
  status: { state: string };
}

describe('ack without a duration holds while the group fires (real Alertmanager)', () => {
  const lab = new KeyLab();
  let alertLab: AlertLab;
  let labd: LabdProcess;
  let am: AlertmanagerProcess;
  let admin: string;
  const inAnHour = () => new Date(Date.now() + 3600_000).toISOString();
  const startedNow = () => new Date(Date.now() - 1000).toISOString();

  const groups = (): GroupJson[] => {
    const r = labd.ssh(admin, ['alerts', '--all', '--json']);
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as GroupJson[];
  };
  const groupOf = (cluster: string) => groups().find((g) => g.groupLabels.cluster === cluster);
  const silencesFor = async (cluster: string) =>
    ((await am.get('/api/v2/silences')) as AmSilenceJson[]).filter((s) => s.matchers.some((m) => m.name === 'cluster' && m.value === cluster));

  before(async () => {
    admin = lab.key('admin');
    // startAlertLab sets the webhook token as LABD_WEBHOOK_TOKEN (LABD_ALERTMANAGER_WEBHOOK_TOKEN is its alias).
    alertLab = await startAlertLab({
      adminKeys: [lab.publicKey(admin)],
      // A step of 4 s: extended once less than 2 s is left, by rounds every second (a late round still has time).
      env: { LABD_ALERTMANAGER_POLL_INTERVAL: '1s', LABD_ALERTMANAGER_ACK_HOLD_STEP: '4s', LABD_ALERTMANAGER_ACK_HOLD_MAX: '10s' },
    });
    ({ labd, am } = alertLab);
    await am.post([
      { labels: { alertname: 'Overheat', cluster: 'held', instance: 'nuc1' }, annotations: { summary: 'too hot' }, startsAt: startedNow(), endsAt: inAnHour() },
      {
        labels: { alertname: 'Overheat', cluster: 'fixed', instance: 'nuc1' },
        annotations: { summary: 'too hot' },
        startsAt: startedNow(),
        endsAt: inAnHour(),
      },
    ]);
    await until('both groups in labd (webhook authenticated by LABD_WEBHOOK_TOKEN)', () => (groupOf('held') && groupOf('fixed') ? true : undefined));
  });
  after(async () => {
    await alertLab?.stop();
    lab.cleanup();
  });

  test('ack --for keeps a fixed end: no hold', () => {
    const r = labd.ssh(admin, ['ack', String(groupOf('fixed')!.id), '--for', '2h', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const g = JSON.parse(r.stdout) as GroupJson;
    assert.equal(g.ack!.hold, null);
  });

  test('the silence is extended before it ends while the group fires, audited as the system, and ends at the maximum', async () => {
    const r = labd.ssh(admin, ['ack', String(groupOf('held')!.id), 'cooling', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const acked = JSON.parse(r.stdout) as GroupJson;
    assert.ok(acked.ack!.hold, 'an ack without --for holds');
    const firstUntil = Date.parse(acked.ack!.until);
    const holdUntil = Date.parse(acked.ack!.hold!.until);
    assert.ok(holdUntil > firstUntil);
    const [first] = await silencesFor('held');
    assert.equal(first!.status.state, 'active');
    assert.equal(Date.parse(first!.endsAt), firstUntil);

    const extended = await until('a second extension', () => {
      const g = groupOf('held')!;
      return g.ack && g.ack.hold!.extensions >= 2 ? g : undefined;
    });
    assert.ok(Date.parse(extended.ack!.until) > firstUntil);
    // Alertmanager has exactly one active silence for the alert, ending when labd says, made by the acknowledging user.
    const active = (await silencesFor('held')).filter((s) => s.status.state === 'active');
    assert.equal(active.length, 1, JSON.stringify(active));
    assert.deepEqual(extended.ack!.silenceIds, [active[0]!.id]);
    // Alertmanager (0.25) updates the silence in place: same id, later end.
    assert.deepEqual(extended.ack!.silenceIds, acked.ack!.silenceIds);
    assert.ok(Date.parse(active[0]!.endsAt) > firstUntil);
    assert.equal(active[0]!.createdBy, 'admin');
    assert.equal(active[0]!.comment, 'ACK! admin: cooling');
    assert.equal(groupOf('held')!.state, 'acknowledged');

    const audit = labd.ssh(admin, ['audit', '--json']);
    assert.equal(audit.status, 0, audit.stderr);
    const rows = JSON.parse(audit.stdout) as { actor: string; via: string; command: string; args: string; outcome: string }[];
    const extensions = rows.filter((x) => x.command === 'ack extend');
    assert.ok(extensions.length >= 2);
    assert.ok(extensions.every((x) => x.actor === 'system' && x.via === 'system' && x.outcome === 'ok' && JSON.parse(x.args).alert === String(extended.id)));

    const ended = await until('the hold to reach its maximum and the ack to end', () => {
      const g = groupOf('held')!;
      return g.ack === null ? g : undefined;
    });
    assert.equal(ended.state, 'firing');
    assert.ok(Date.now() >= holdUntil);
    await until('no active silence left for the alert', async () =>
      (await silencesFor('held')).every((s) => s.status.state === 'expired') ? true : undefined,
    );
  });
});
