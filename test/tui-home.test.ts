/**
 * The TUI home screen as the console's front page, through tmux and the real OpenSSH client, with
 * labd on the Kubernetes API fake and Debian's Alertmanager: the status strip (cluster and nodes,
 * alert groups, Alertmanager, Matrix), the app counts, and both refreshed while the screen is open.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { readFixture } from './support/fake-kube/fixture.ts';
import { FakeKube } from './support/fake-kube/server.ts';
import { startAlertLab, type AlertLab } from './support/alertmanager.ts';
import { KeyLab, type LabdProcess, ROOT } from './support/labd.ts';
import { TmuxTerminal } from './support/tmux.ts';

describe('TUI home: status strip and counts', () => {
  const lab = new KeyLab();
  let fake: FakeKube;
  let labd: LabdProcess;
  let alertLab: AlertLab;
  let admin: string;
  let member: string;
  const terminals: TmuxTerminal[] = [];

  before(async () => {
    admin = lab.key('admin');
    member = lab.key('member');
    fake = await FakeKube.start({ objects: readFixture(join(ROOT, 'test/support/fake-kube/fixture.example.yaml')), controllers: false });
    const kubeconfig = fake.writeKubeconfig(join(lab.dir, 'kubeconfig'));
    alertLab = await startAlertLab({
      adminKeys: [lab.publicKey(admin)],
      env: {
        LABD_KUBECONFIG: kubeconfig,
        LABD_KUBE_TIMEOUT: '3s',
        // The home screen reads again every second (5 s by default), and checks Alertmanager again once its last check is 2 s old.
        LABD_SSH_HOME_REFRESH: '1s',
      },
    });
    labd = alertLab.labd;
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
      cols: 160,
      rows: 30,
    });
    terminals.push(t);
    return t;
  }
  const strip = (l: string[]) => l[1] ?? '';
  const appLine = (l: string[], title: string) => l.find((x) => new RegExp(`^\\s+${title.replace('/', '\\/')}\\s`).test(x)) ?? '';

  test('admin: cluster, nodes, alerts, Alertmanager and Matrix above the apps, each app with its count; all live', async () => {
    const t = tui(admin);
    const home = await t.waitFor(
      (l) =>
        /cluster ● reachable, nodes 3\/3 ready/.test(strip(l)) &&
        /alerts ● 0 firing, 0 unacknowledged/.test(strip(l)) &&
        /Alertmanager ● reachable/.test(strip(l)) &&
        /Matrix ○ not configured/.test(strip(l)) &&
        /3 nodes$/.test(appLine(l, 'Nodes')),
      'the status strip and counts',
    );
    assert.match(appLine(home, 'Pastes'), /0 pastes$/);
    assert.match(appLine(home, 'Account'), /1 key$/);
    assert.match(appLine(home, 'Users'), /2 users$/);
    assert.ok(home.some((l) => l.includes('Welcome to labd, admin.')));
    // This replica's role (issue #21): one SQLite process is the leader.
    assert.match(home.slice(1, 3).join(' '), /Role ● leader/);
    // Healthy is green; the strip's words are the terminal's own colour otherwise.
    assert.match((await t.screen({ escapes: true }))[1]!, /\x1b\[32m● reachable/);

    // Refreshed while open: a new paste, a firing alert group.
    const paste = labd.ssh(admin, ['paste', 'note.txt'], { input: 'hello\n' });
    assert.equal(paste.status, 0, paste.stderr);
    await alertLab.am.post([
      { labels: { alertname: 'DiskFull', instance: 'nuc1' }, annotations: { summary: 'disk full' }, endsAt: new Date(Date.now() + 3600_000).toISOString() },
    ]);
    const live = await t.waitFor(
      (l) => /1 paste$/.test(appLine(l, 'Pastes')) && /alerts ● 1 firing, 1 unacknowledged/.test(strip(l)),
      'the new paste and the firing group, without a key pressed',
    );
    assert.match(appLine(live, 'Alerts'), /1 group to acknowledge$/);
    assert.match((await t.screen({ escapes: true }))[1]!, /\x1b\[31m● 1 firing, 1 unacknowledged/, 'an unacknowledged group is red');
    t.sendKeys('q');
    assert.equal(await t.waitForExit(), 0);
  });

  test('a member sees no cluster or alert status, and the counts of their own apps', async () => {
    const t = tui(member);
    const home = await t.waitFor(
      (l) => /0 pastes$/.test(appLine(l, 'Pastes')) && l.some((x) => x.includes('Welcome to labd, mia.')),
      'the member home with counts',
    );
    assert.doesNotMatch(strip(home), /cluster|alerts|Alertmanager|Matrix/, `no ops status for a member: ${strip(home)}`);
    t.sendKeys('q');
    assert.equal(await t.waitForExit(), 0);
  });
});
