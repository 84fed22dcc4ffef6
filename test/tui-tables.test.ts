/**
 * TUI tables through tmux and the real OpenSSH client: the shared layout at several widths
 * (columns shrink and drop by priority, ←/→ scroll sideways, nothing silently clipped), state
 * colours, row counts, and Enter opening a detail view on every list (Account keys, Users, Audit).
 */
import assert from 'node:assert/strict';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { KeyLab } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';
import { TmuxTerminal } from './support/tmux.ts';

describe('TUI tables, through tmux and OpenSSH', () => {
  const lab = new KeyLab();
  let labd: InProcessLabd;
  let admin: string;
  let member: string;
  const terminals: TmuxTerminal[] = [];

  before(async () => {
    admin = lab.key('admin');
    member = lab.key('member');
    labd = await InProcessLabd.start({ adminKeys: [lab.publicKey(admin)] });
    assert.equal((await labd.ssh(admin, ['user', 'add', 'mia', '--role', 'member', '--key', `'${lab.publicKey(member)}'`])).status, 0);
    // Audit rows: successes, and failed attempts whose OUTCOME must never be blank.
    assert.notEqual((await labd.ssh(admin, ['user', 'rm', 'nobody-here', '--yes'])).status, 0);
    assert.notEqual((await labd.ssh(member, ['user', 'add', 'eve'])).status, 0);
    assert.equal((await labd.ssh(admin, ['user', 'role', 'mia', 'operator'])).status, 0);
  });
  after(async () => {
    for (const t of terminals) t.kill();
    await labd.stop();
    lab.cleanup();
  });

  function tui(cols: number, rows = 30): TmuxTerminal {
    const t = TmuxTerminal.start(['ssh', ...labd.sshArgs(admin, { tty: true, extra: ['-o', 'SendEnv=LANG'] })], {
      env: { LANG: 'C.UTF-8' },
      term: 'tmux-256color',
      cols,
      rows,
    });
    terminals.push(t);
    return t;
  }
  async function open(t: TmuxTerminal, title: string): Promise<void> {
    const home = await t.waitFor((l) => l.some((x) => /^\s+Account\s/.test(x)) && /q quit$/.test(l[l.length - 1]!), 'the home menu');
    const first = home.findIndex((l) => /^\s+Account\s/.test(l));
    const target = home.findIndex((l) => new RegExp(`^\\s+${title}\\s`).test(l));
    assert.ok(target >= first, `${title} on the menu`);
    // The menu remembers its cursor: start from the top.
    for (let i = first; i < home.length; i++) t.sendKeys('Up');
    for (let i = first; i < target; i++) t.sendKeys('Down');
    t.sendKeys('Enter');
  }
  const auditRows = (l: string[]) => l.filter((x) => /^\s*20\d\d-\d\d-\d\dT/.test(x));

  test('Audit at 120 columns: OUTCOME shown for every row (failed ones too), the count matches, states coloured', async () => {
    const t = tui(120);
    await open(t, 'Audit');
    const screen = await t.waitFor((l) => /Audit: the last 7 days \(\d+\)/.test(l.join('\n')) && auditRows(l).length >= 4, 'the audit table');
    const header = screen.find((l) => /^\s*AT\s/.test(l))!;
    assert.match(header, /OUTCOME/, `OUTCOME is a column at 120:\n${screen.join('\n')}`);
    const rows = auditRows(screen);
    const count = Number(/Audit: the last 7 days \((\d+)\)/.exec(screen.join('\n'))![1]);
    assert.equal(count, rows.length, 'the title counts the rows shown');
    const col = header.indexOf('OUTCOME');
    for (const row of rows) assert.match(row.slice(col), /^\S/, `an outcome under OUTCOME: ${row}`);
    assert.ok(rows.some((r) => /\bok\b/.test(r.slice(col))) && rows.some((r) => !/^ok\b/.test(r.slice(col))), `successes and failures:\n${rows.join('\n')}`);
    for (const l of screen) assert.ok([...l].length <= 120);

    // Colours: 'ok' in green, a failure in red (raw escapes from tmux).
    const raw = (await t.screen({ escapes: true })).join('\n');
    assert.match(raw, /\x1b\[32m(\x1b\[[0-9;]*m)*ok/, 'ok is green');
    assert.match(raw, /\x1b\[31m(\x1b\[[0-9;]*m)*(not_found|failed|denied|permission)/, 'a failure is red');
    t.sendKeys('q');
    assert.equal(await t.waitForExit(), 0);
  });

  test('Audit at 72 columns: columns drop by priority and say so; ←/→ scroll sideways; Enter shows the whole row', async () => {
    const t = tui(72);
    await open(t, 'Audit');
    const narrow = await t.waitFor((l) => auditRows(l).length >= 4 && / more: /.test(l.join('\n')), 'the narrow audit table');
    const header = narrow.find((l) => /^\s*AT\s/.test(l))!;
    assert.match(header, /OUTCOME/, `OUTCOME is kept longest:\n${narrow.join('\n')}`);
    const heading = narrow.find((l) => / more: /.test(l))!;
    const hiddenLabels = /more: (.*)$/.exec(heading)![1]!.trim().split(/,\s*/);
    assert.ok(hiddenLabels.length > 0);
    for (const label of hiddenLabels) assert.ok(!header.includes(label), `${label} is not in the header`);
    assert.ok(narrow[narrow.length - 1]!.includes('←/→ columns'), 'the footer offers sideways scrolling');

    t.sendKeys('Right', 'Right', 'Right');
    const scrolled = await t.waitFor((l) => {
      const h = l.find((x) => /^\s*AT\s/.test(x));
      return !!h && h !== header && hiddenLabels.some((label) => h.includes(label));
    }, 'a hidden column scrolled into view');
    assert.ok(
      scrolled.find((l) => /^\s*AT\s/.test(l)),
      'the first column stays',
    );
    t.sendKeys('Left', 'Left', 'Left');
    await t.waitFor((l) => l.find((x) => /^\s*AT\s/.test(x)) === header, 'back to the first columns');

    // Enter: every field, whole, including what the table never shows (the error).
    t.sendKeys('Enter');
    const pane = await t.waitFor((l) => l.some((x) => /ARGS:/.test(x)) && l.some((x) => /OUTCOME:/.test(x)), 'the audit row in a pane');
    assert.ok(
      pane.some((x) => /error:/.test(x)),
      `the row's other fields too:\n${pane.join('\n')}`,
    );
    t.sendKeys('Escape');
    await t.waitFor((l) => !l.some((x) => /ARGS:/.test(x)) && auditRows(l).length >= 4, 'the table again');
    t.sendKeys('q');
    assert.equal(await t.waitForExit(), 0);
  });

  test('Enter opens a detail view on Users and on Account keys', async () => {
    const t = tui(100);
    await open(t, 'Users');
    await t.waitFor((l) => l.some((x) => /^\s*mia\s+operator/.test(x)), 'the user list');
    const list = await t.screen();
    const miaRow = list.findIndex((x) => /^\s*mia\s/.test(x));
    const firstRow = list.findIndex((x) => /^\s*(admin|mia)\s/.test(x));
    for (let i = firstRow; i < miaRow; i++) t.sendKeys('Down');
    t.sendKeys('Enter');
    await t.waitFor((l) => l.some((x) => /NAME:\s+mia/.test(x)) && l.some((x) => /ROLE:\s+operator/.test(x)), 'mia in a detail pane');
    t.sendKeys('Escape');
    await t.waitFor((l) => !l.some((x) => /NAME:\s+mia/.test(x)), 'the user list again');
    t.sendKeys('Escape');

    await open(t, 'Account');
    await t.waitFor((l) => /ssh-ed25519/.test(l.join('\n')) && l.some((x) => /Your keys \(1\)/.test(x)), 'the key list');
    t.sendKeys('Enter');
    const pane = await t.waitFor((l) => l.some((x) => /FINGERPRINT:\s+SHA256:/.test(x)), 'the key in a detail pane');
    assert.ok(pane.some((x) => /TYPE:\s+ssh-ed25519/.test(x)));
    t.sendKeys('q');
    assert.equal(await t.waitForExit(), 0);
  });

  test('apps whose backend is not configured are marked on the home menu and say what to set', async () => {
    const t = tui(120);
    const home = await t.waitFor(
      (l) =>
        /not configured$/.test(l.find((x) => /^\s+Nodes\s/.test(x)) ?? '') &&
        /cluster ○ not configured/.test(l[1] ?? '') &&
        /alerts ○ not configured/.test(l[1] ?? ''),
      'Nodes marked, the strip saying so',
    );
    assert.match(
      home.find((x) => /^\s+Alerts\s/.test(x))!,
      /not configured$/,
    );
    assert.match(
      home.find((x) => /^\s+Users\s/.test(x))!,
      /\d+ users$/,
      'configured apps keep their counts',
    );
    await open(t, 'Nodes');
    await t.waitFor((l) => l.some((x) => /Nodes: no Kubernetes cluster configured: set LABD_KUBECONFIG/.test(x)), 'what to set, instead of an empty table');
    t.sendKeys('Escape');
    await t.waitFor((l) => l.some((x) => x.includes('Welcome to labd, admin.')), 'back home');
    t.sendKeys('q');
    assert.equal(await t.waitForExit(), 0);
  });
});
