/**
 * The ops console screens of the TUI (Nodes, Deploys, Alerts), driven through tmux over the real
 * OpenSSH client against labd wired to the Kubernetes API fake and Debian's Alertmanager. Every action runs a registry
 * command, so it is authorized and audited as over exec.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { readFixture } from './support/fake-kube/fixture.ts';
import { findResource } from './support/fake-kube/resources.ts';
import { FakeKube } from './support/fake-kube/server.ts';
import { startAlertLab, type AlertLab, type AlertmanagerProcess } from './support/alertmanager.ts';
import { KeyLab, ROOT } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';
import { TmuxTerminal } from './support/tmux.ts';
import { until } from './support/wait.ts';

const NODES = findResource('', 'v1', 'nodes')!;
const DEPLOYMENTS = findResource('apps', 'v1', 'deployments')!;

type NodeObject = { spec?: { unschedulable?: boolean } };
type DeploymentObject = { spec: { template: { metadata?: { annotations?: Record<string, string> } } } };

describe('ops console screens in the TUI, driven through tmux', () => {
  const lab = new KeyLab();
  let fake: FakeKube;
  let labd: InProcessLabd;
  let admin: string;
  let member: string;
  let am: AlertmanagerProcess;
  let alertLab: AlertLab<InProcessLabd>;
  const terminals: TmuxTerminal[] = [];

  before(async () => {
    admin = lab.key('admin');
    member = lab.key('member');
    fake = await FakeKube.start({ objects: readFixture(join(ROOT, 'test/support/fake-kube/fixture.example.yaml')), controllers: { tickMs: 100 } });
    const kubeconfig = fake.writeKubeconfig(join(lab.dir, 'kubeconfig'));
    alertLab = await startAlertLab({ adminKeys: [lab.publicKey(admin)], env: { LABD_KUBECONFIG: kubeconfig, LABD_KUBE_TIMEOUT: '3s' } }, InProcessLabd.start);
    ({ labd, am } = alertLab);
    const r = await labd.sshAsync(admin, ['user', 'add', 'mia', '--role', 'member', '--key', `'${lab.publicKey(member)}'`]);
    assert.equal(r.status, 0, r.stderr);
  });
  after(async () => {
    for (const t of terminals) t.kill();
    await alertLab?.stop();
    await fake?.stop();
    lab.cleanup();
  });

  function tui(key: string): TmuxTerminal {
    const t = TmuxTerminal.start(['ssh', ...labd.sshArgs(key, { tty: true, extra: ['-o', 'SendEnv=LANG'] })], {
      env: { LANG: 'C.UTF-8' },
      term: 'tmux-256color',
      cols: 120,
      rows: 30,
    });
    terminals.push(t);
    return t;
  }

  /** Opens the app titled `title` from the home menu (its position is read off the screen). */
  async function open(t: TmuxTerminal, title: string): Promise<void> {
    const home = await t.waitFor((l) => l.some((x) => /^\s+Account\s/.test(x)) && /q quit$/.test(l[l.length - 1]!), 'the home menu');
    const first = home.findIndex((l) => /^\s+Account\s/.test(l));
    const target = home.findIndex((l) => new RegExp(`^\\s+${title}\\s`).test(l));
    assert.ok(first >= 0 && target > first, `the home menu lists ${title}:\n${home.join('\n')}`);
    for (let i = first; i < target; i++) t.sendKeys('Down');
    t.sendKeys('Enter');
  }

  test('a member sees no ops screens on the home menu', async () => {
    const t = tui(member);
    const home = await t.waitFor(/Welcome to labd, mia\./);
    for (const app of ['Nodes', 'Deploys', 'Alerts'])
      assert.ok(!home.some((l) => new RegExp(`^\\s+${app}\\s`).test(l)), `${app} is hidden from a member:\n${home.join('\n')}`);
    t.sendKeys('q');
    assert.equal(await t.waitForExit(), 0);
  });

  test('Nodes: the table, describe in a pane, cordon and uncordon after a confirmation', async () => {
    const t = tui(admin);
    await open(t, 'Nodes');
    const list = await t.waitFor((l) => ['cp1', 'desk2', 'laptop1'].every((n) => l.some((x) => new RegExp(`^\\s*${n}\\s+Ready`).test(x))), 'the node table');
    assert.ok(
      list.some((l) => /NAME\s+STATUS\s+ROLES/.test(l)),
      `the header is shown:\n${list.join('\n')}`,
    );
    // States in colour: Ready is green on the rows that are not selected.
    assert.match((await t.screen({ escapes: true })).join('\n'), /\x1b\[32m(\x1b\[[0-9;]*m)*Ready/, 'Ready is green');
    assert.ok(
      list.some((l) => /c cordon/.test(l) && /u uncordon/.test(l)),
      'the key line offers cordon and uncordon',
    );

    t.sendKeys('Down');
    t.sendKeys('Enter');
    const pane = await t.waitFor((l) => l.some((x) => x.includes('node desk2')) && l.some((x) => /Conditions:/.test(x)), 'the describe pane of desk2');
    // One field per line, as over ssh: the pane keeps line breaks.
    for (const field of ['Name', 'Status', 'Roles', 'Conditions', 'Pods']) {
      assert.ok(
        pane.some((x) => new RegExp(`^│\\s*${field}:\\s+\\S`).test(x)),
        `${field} starts its own line:\n${pane.join('\n')}`,
      );
    }
    t.sendKeys('Escape');
    await t.waitFor((l) => l.some((x) => /^\s*laptop1\s+Ready/.test(x)) && !l.some((x) => /Conditions:/.test(x)), 'the table again');

    t.sendKeys('c');
    await t.waitFor(/Cordon node desk2\?/, 'the confirmation dialog');
    t.sendKeys('n');
    await t.waitFor(/nothing changed/);
    assert.ok(!(fake.store.get(NODES, '', 'desk2') as NodeObject).spec?.unschedulable, 'answering no changes nothing');

    t.sendKeys('c');
    await t.waitFor(/Cordon node desk2\?/, 'the confirmation dialog again');
    t.sendKeys('y');
    await t.waitFor((l) => l.some((x) => /^\s*desk2\s+Ready.*\byes\b/.test(x)), 'desk2 shown as cordoned');
    assert.equal((fake.store.get(NODES, '', 'desk2') as NodeObject).spec?.unschedulable, true);

    t.sendKeys('u');
    await t.waitFor(/Uncordon node desk2\?/);
    t.sendKeys('y');
    await t.waitFor((l) => l.some((x) => /^\s*desk2\s+Ready.*\bno\b/.test(x)), 'desk2 schedulable again');
    assert.ok(!(fake.store.get(NODES, '', 'desk2') as NodeObject).spec?.unschedulable);
    t.sendKeys('q');
    assert.equal(await t.waitForExit(), 0);

    const audit = await labd.sshAsync(admin, ['audit', '--json']);
    assert.equal(audit.status, 0, audit.stderr);
    const rows = JSON.parse(audit.stdout) as { actor: string; via: string; command: string; args: string; outcome: string }[];
    const cordons = rows.filter((a) => a.command === 'node cordon' || a.command === 'node uncordon');
    assert.deepEqual(
      cordons.map((a) => `${a.command} ${a.via} ${a.outcome}`).sort(),
      ['node cordon tui ok', 'node uncordon tui ok'],
      `each action is one audit row from the TUI: ${JSON.stringify(cordons)}`,
    );
  });

  test('Deploys: the table, rollout status in a pane, a restart with its progress', async () => {
    const t = tui(admin);
    await open(t, 'Deploys');
    await t.waitFor((l) => l.some((x) => /^\s*default\/web\s/.test(x)), 'the deployment table');
    const web = () => fake.store.get(DEPLOYMENTS, 'default', 'web') as unknown as DeploymentObject;
    const restartedAt = () => web().spec.template.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt'];
    const before = restartedAt();

    t.sendKeys('Enter');
    await t.waitFor((l) => l.some((x) => x.includes('rollout default/web')) && l.some((x) => /successfully rolled out|rolled out/.test(x)), 'the rollout pane');
    t.sendKeys('Escape');
    await t.waitFor((l) => l.some((x) => /^\s*default\/web\s/.test(x)) && !l.some((x) => x.includes('rollout default/web')), 'the table again');

    t.sendKeys('r');
    await t.waitFor(/Restart deployment default\/web/, 'the confirmation dialog');
    t.sendKeys('y');
    await until('the restart annotation', () => (restartedAt() && restartedAt() !== before ? true : undefined));
    await t.waitFor(/rolled out|restarted/, 'the restart finishing on the status line');
    t.sendKeys('q');
    assert.equal(await t.waitForExit(), 0);
  });

  test('Alerts: a group from the real Alertmanager is acknowledged from the screen, then taken back', async () => {
    await am.post([
      {
        labels: { alertname: 'DiskFull<b>', instance: 'nuc1' },
        annotations: { summary: 'disk \x1b[31mnearly\x1b[0m full' },
        endsAt: new Date(Date.now() + 3600_000).toISOString(),
      },
    ]);
    const groupId = await until('the group in labd', async () => {
      const r = await labd.sshAsync(admin, ['alerts', '--json']);
      return (JSON.parse(r.stdout) as { id: number }[])[0]?.id;
    });
    const t = tui(admin);
    await open(t, 'Alerts');
    const list = await t.waitFor((l) => l.some((x) => new RegExp(`^\\s*${groupId}\\s+firing`).test(x)), 'the firing group');
    assert.ok(
      list.some((l) => l.includes('Alerts: firing, not acknowledged')),
      list.join('\n'),
    );
    assert.ok(
      list.some((l) => /a ack/.test(l) && /U unack/.test(l)),
      `the key line offers ack and unack:\n${list.join('\n')}`,
    );
    assert.ok(
      list.some((l) => /^\s*\d+\s+firing\s+alertname=DiskFull<b>\s+disk nearly full\s+1\/1\s/.test(l)),
      `the row, its summary without the escape sequence:\n${list.join('\n')}`,
    );
    assert.ok(!(await t.screen({ escapes: true })).some((l) => /\x1b\[[0-9;]*31m/.test(l)), 'the summary cannot colour the terminal');

    t.sendKeys('a');
    await t.waitFor(/Acknowledge alert group \d+ for how long\?/, 'the duration prompt');
    t.sendKeys('-l', '1h');
    t.sendKeys('Enter');
    await t.waitFor(/Comment \(optional\)/, 'the comment prompt');
    t.sendKeys('-l', 'on it');
    t.sendKeys('Enter');
    await t.waitFor(
      (l) => !l.some((x) => new RegExp(`^\\s*${groupId}\\s+firing`).test(x)) && l.some((x) => /acknowledged/i.test(x)),
      'the group acknowledged and gone from the firing list',
    );
    const active = () =>
      am
        .get('/api/v2/silences')
        .then((s) => (s as { status: { state: string }; createdBy: string; comment: string }[]).filter((x) => x.status.state === 'active'));
    const silences = await active();
    assert.equal(silences.length, 1, JSON.stringify(silences));
    assert.equal(silences[0]!.createdBy, 'admin');
    assert.match(silences[0]!.comment, /on it/);

    t.sendKeys('t');
    const all = await t.waitFor(
      (l) => l.some((x) => x.includes('Alerts: all groups')) && l.some((x) => new RegExp(`^\\s*${groupId}\\s+acknowledged`).test(x)),
      'the acknowledged group under --all',
    );
    // The title counts the rows the table shows.
    const counted = Number(/Alerts: all groups \((\d+)\)/.exec(all.join('\n'))?.[1]);
    assert.equal(counted, all.filter((x) => /^\s*\d+\s+(firing|acknowledged|resolved)\s/.test(x)).length, all.join('\n'));
    t.sendKeys('U');
    await t.waitFor(/Take back the acknowledgement of alert group \d+\?/, 'the unack confirmation');
    t.sendKeys('y');
    await until('the silence expired', async () => ((await active()).length === 0 ? true : undefined));
    await t.waitFor((l) => l.some((x) => new RegExp(`^\\s*${groupId}\\s+firing`).test(x)), 'the group firing again');
    // Enter: the group in detail, with its alerts' labels and annotations.
    t.sendKeys('Enter');
    const detail = await t.waitFor(
      (l) => l.some((x) => /alertname: DiskFull<b>/.test(x)) && l.some((x) => /summary: disk nearly full/.test(x)),
      'the alert group in detail',
    );
    assert.ok(
      detail.some((x) => /instance: nuc1/.test(x)),
      detail.join('\n'),
    );
    t.sendKeys('Escape');
    await t.waitFor((l) => !l.some((x) => /alertname: DiskFull/.test(x)), 'the list again');
    t.sendKeys('Escape');
    await t.waitFor(/Welcome to labd, admin\./, 'back home');
    t.sendKeys('q');
    assert.equal(await t.waitForExit(), 0);
  });
});
