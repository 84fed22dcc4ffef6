/**
 * The keys of every list and table (issue #23, point 2), through tmux and the real OpenSSH client at
 * 80×24 with no LANG sent: j/k, g/G, PgUp/PgDn and `/` in the shared table (Nodes against the
 * Kubernetes API fake: `j` then `c` asks about the second node, not the control plane) and in the
 * other lists (home menu, pastes, contacts, repositories and a repository's panes); Escape first
 * clears a filter, then leaves. Also: Git's 1–5 inside the README pane, Roles' KIND column behind
 * ←/→, the Users and Roles help at 24 rows keeping esc and q, text wrapped at words, and Seats
 * marked "not configured" on the home menu.
 */
import assert from 'node:assert/strict';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { GitLab } from './support/git.ts';
import { startKubeLab, type KubeLab } from './support/kube-lab.ts';
import { KeyLab, LabdProcess } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';
import { TmuxTerminal } from './support/tmux.ts';

const COLS = 80;
const ROWS = 24;

/** A TUI at 80×24, the client sending no LANG (labd assumes UTF-8). */
function tui(terminals: TmuxTerminal[], labd: { sshArgs: InProcessLabd['sshArgs'] }, key: string): TmuxTerminal {
  const t = TmuxTerminal.start(['ssh', ...labd.sshArgs(key, { tty: true })], { term: 'tmux-256color', cols: COLS, rows: ROWS });
  terminals.push(t);
  return t;
}

const homeMenu = (t: TmuxTerminal) => t.waitFor((l) => l.some((x) => /^\s+Account\s/.test(x)) && /q quit$/.test(l[l.length - 1]!), 'the home menu');

/** Opens the app titled `title` from the home menu with the arrow keys (its position read off the screen). */
async function open(t: TmuxTerminal, title: string): Promise<void> {
  const home = await homeMenu(t);
  const first = home.findIndex((l) => /^\s+Account\s/.test(l));
  const target = home.findIndex((l) => new RegExp(`^\\s+${title}\\s`).test(l));
  assert.ok(first >= 0 && target >= first, `the home menu lists ${title}:\n${home.join('\n')}`);
  for (let i = first; i < home.length; i++) t.sendKeys('Up');
  for (let i = first; i < target; i++) t.sendKeys('Down');
  t.sendKeys('Enter');
}

/** Answers no to a yes/no question about `node`, once it is asked. */
async function cordonAsks(t: TmuxTerminal, node: string): Promise<void> {
  t.sendKeys('c');
  await t.waitFor(new RegExp(`Cordon node ${node}\\?`), `the question about ${node}`);
  t.sendKeys('n');
  await t.waitFor((l) => !l.some((x) => /Cordon node/.test(x)) && l.some((x) => /nothing changed/.test(x)), 'the dialog gone');
}

describe('the shared table (Nodes, against the Kubernetes API fake)', () => {
  const keys = new KeyLab();
  let kube: KubeLab;
  const terminals: TmuxTerminal[] = [];

  before(async () => {
    kube = await startKubeLab(keys);
  });
  after(async () => {
    for (const t of terminals) t.kill();
    await kube?.stop();
    keys.cleanup();
  });

  test('j/k, g/G and PgUp/PgDn move the row the actions work on; / filters; Escape clears the filter, then leaves', async () => {
    const t = tui(terminals, kube.labd, kube.admin);
    await open(t, 'Nodes');
    const nodeRow = (n: string) => (l: string[]) => l.some((x) => new RegExp(`^\\s*${n}\\s+Ready`).test(x));
    await t.waitFor((l) => ['cp1', 'desk2', 'laptop1'].every((n) => nodeRow(n)(l)), 'the node table');

    // The case: j then c asked about cp1, the control plane.
    t.sendKeys('j');
    await cordonAsks(t, 'desk2');
    t.sendKeys('G');
    await cordonAsks(t, 'laptop1');
    t.sendKeys('k');
    await cordonAsks(t, 'desk2');
    t.sendKeys('g');
    await cordonAsks(t, 'cp1');
    t.sendKeys('NPage');
    await cordonAsks(t, 'laptop1');
    t.sendKeys('PPage');
    await cordonAsks(t, 'cp1');

    // `/` filters as you type; q, c and ? are text meanwhile (nothing quits, nothing is asked).
    t.sendKeys('/', 'q', 'c', '?');
    await t.waitFor((l) => l.some((x) => /Nodes \(0 of 3\).*\/qc\?_/.test(x)) && l.some((x) => /no row matches/.test(x)), 'the filter typed, no row');
    t.sendKeys('BSpace', 'BSpace', 'BSpace', 'l', 'a', 'p');
    await t.waitFor(
      (l) => nodeRow('laptop1')(l) && !nodeRow('cp1')(l) && !nodeRow('desk2')(l) && l.some((x) => /Nodes \(1 of 3\)/.test(x)),
      'the rows filtered',
    );
    t.sendKeys('Enter');
    await t.waitFor((l) => l.some((x) => /\/lap(?!_)/.test(x)) && !l.some((x) => /\/lap_/.test(x)), 'the filter kept');
    await cordonAsks(t, 'laptop1');
    // Escape clears the filter (the screen stays), and only then leaves.
    t.sendKeys('Escape');
    await t.waitFor((l) => ['cp1', 'desk2', 'laptop1'].every((n) => nodeRow(n)(l)) && l.some((x) => /Nodes \(3\)/.test(x)), 'every node again, still on Nodes');
    t.sendKeys('Escape');
    await t.waitFor(/Welcome to labd, admin\./, 'back home');
    t.sendKeys('q');
    assert.equal(await t.waitForExit(), 0);
  });
});

describe('lists, tables and text without a cluster', () => {
  const keys = new KeyLab();
  let labd: InProcessLabd;
  let admin: string;
  const terminals: TmuxTerminal[] = [];

  before(async () => {
    admin = keys.key('admin');
    labd = await InProcessLabd.start({ adminKeys: [keys.publicKey(admin)] });
    for (const [name, text] of [
      ['first.txt', 'the first paste\n'],
      ['second.txt', 'the second paste\n'],
      ['third.txt', 'the third paste\n'],
    ] as const)
      assert.equal((await labd.ssh(admin, ['paste', name], { input: text })).status, 0);
    for (const name of ['Ada Lovelace', 'Grace Hopper', 'Katherine Johnson'])
      assert.equal((await labd.ssh(admin, ['crm', 'add', ...name.split(' ')])).status, 0);
  });
  after(async () => {
    for (const t of terminals) t.kill();
    await labd.stop();
    keys.cleanup();
  });

  test('the home menu: G and g go to the last and first app, PgDn pages, / filters (Escape clears it)', async () => {
    const t = tui(terminals, labd, admin);
    const home = await homeMenu(t);
    const apps = home.slice(home.findIndex((l) => /Choose an app:/.test(l)) + 1).filter((l) => /^ {2}[A-Z]/.test(l));
    const last = /^\s+(\S+)/.exec(apps[apps.length - 1]!)![1]!;
    t.sendKeys('G', 'Enter');
    await t.waitFor((l) => new RegExp(`admin \\(admin\\) · ${last}$`).test(l[0]!.trim()), `the last app, ${last}, open`);
    t.sendKeys('Escape');
    await homeMenu(t);
    t.sendKeys('g', 'Enter');
    await t.waitFor((l) => /admin \(admin\) · Account$/.test(l[0]!.trim()), 'the first app, Account, open');
    t.sendKeys('Escape');
    await homeMenu(t);
    t.sendKeys('NPage', 'Enter');
    await t.waitFor((l) => !/admin \(admin\)$/.test(l[0]!.trim()) && !/Account$/.test(l[0]!.trim()), 'an app a page down open');
    t.sendKeys('Escape');
    await homeMenu(t);
    // `/` filters the apps (q is text meanwhile); Enter keeps the filter and opens what it shows.
    t.sendKeys('/', 'q', 'BSpace', 'p', 'a', 's', 't');
    await t.waitFor(
      (l) => l.some((x) => /^\s+Pastes\s/.test(x)) && !l.some((x) => /^\s+(Account|Users|Git)\s/.test(x)) && l.some((x) => /Choose an app: \/ past_/.test(x)),
      'the menu filtered',
    );
    t.sendKeys('Enter');
    await t.waitFor((l) => l.some((x) => /Choose an app: \/ past$/.test(x.trimEnd())), 'the filter kept');
    // Escape clears the filter; the menu (and labd) stay.
    t.sendKeys('Escape');
    await t.waitFor(
      (l) => l.some((x) => /^\s+Account\s/.test(x)) && l.some((x) => /^\s+Pastes\s/.test(x)) && l.some((x) => /Choose an app:$/.test(x.trimEnd())),
      'every app again',
    );
    t.sendKeys('/', 'g', 'i', 't', 'Enter', 'Enter');
    await t.waitFor(/dotfiles|Repositories/, 'Git opened from the filtered menu');
    t.sendKeys('q');
    assert.equal(await t.waitForExit(), 0);
  });

  test('pastes: PgDn and G go to the last paste, PgUp and g to the first, j/k between; / filters, Escape clears it, then leaves', async () => {
    const t = tui(terminals, labd, admin);
    await open(t, 'Pastes');
    await t.waitFor(/first\.txt[\s\S]*second\.txt[\s\S]*third\.txt|third\.txt[\s\S]*second\.txt[\s\S]*first\.txt/, 'the paste list');
    const order = (await t.screen()).flatMap((l) => /\b(first|second|third)\.txt/.exec(l)?.[1] ?? []);
    const read = async (keys: string[], which: string) => {
      t.sendKeys(...keys, 'Enter');
      await t.waitFor(new RegExp(`the ${which} paste`), `the ${which} paste read`);
      t.sendKeys('Escape');
      await t.waitFor((l) => !l.some((x) => /the \w+ paste$/.test(x.replace(/[│\s]+$/, ''))), 'the list again');
    };
    await read(['NPage'], order[2]!);
    await read(['PPage'], order[0]!);
    await read(['G'], order[2]!);
    await read(['g', 'j'], order[1]!);
    await read(['G', 'k', 'k'], order[0]!);
    // `/` filters by name; d and r are text meanwhile; Escape clears the filter, then leaves.
    t.sendKeys('/', 's', 'e', 'c');
    await t.waitFor(
      (l) => l.some((x) => /second\.txt/.test(x)) && !l.some((x) => /(first|third)\.txt/.test(x)) && l.some((x) => /Your pastes \/ sec_/.test(x)),
      'the pastes filtered',
    );
    t.sendKeys('Enter');
    await t.waitFor(/1 of 3 match 'sec'/, 'the filter kept');
    t.sendKeys('Enter');
    await t.waitFor(/the second paste/, 'the one match read');
    t.sendKeys('Escape');
    await t.waitFor((l) => l.some((x) => /second\.txt/.test(x)) && !l.some((x) => /the second paste/.test(x)), 'the filtered list again');
    t.sendKeys('Escape');
    await t.waitFor((l) => ['first', 'second', 'third'].every((n) => l.some((x) => x.includes(`${n}.txt`))), 'every paste again, still on Pastes');
    t.sendKeys('Escape');
    await t.waitFor(/Welcome to labd, admin\./, 'back home');
    t.sendKeys('q');
    assert.equal(await t.waitForExit(), 0);
  });

  test('contacts: j/k move the detail along; / filters, Escape clears it, then leaves', async () => {
    const t = tui(terminals, labd, admin);
    await open(t, 'Contacts');
    await t.waitFor((l) => ['Ada', 'Grace', 'Katherine'].every((n) => l.some((x) => x.includes(n))), 'the contact list');
    const detail = (name: string) => (l: string[]) => l.some((x) => new RegExp(`│\\s*${name}\\s*│?$`).test(x) || new RegExp(`Name:\\s+${name}`).test(x));
    const first = (await t.screen())
      .find((l) => /^\s+(Ada|Grace|Katherine)/.test(l))!
      .trim()
      .split(/\s+/)
      .slice(0, 2)
      .join(' ');
    await t.waitFor(detail(first), `${first} in the detail pane`);
    t.sendKeys('j');
    await t.waitFor((l) => !detail(first)(l), 'the detail of the second contact');
    t.sendKeys('k');
    await t.waitFor(detail(first), `${first} again`);
    t.sendKeys('/', 'g', 'r', 'a');
    await t.waitFor((l) => l.some((x) => x.includes('Grace')) && !l.some((x) => /^\s+(Ada|Katherine)/.test(x)), 'the list filtered to Grace');
    t.sendKeys('Enter');
    t.sendKeys('Escape');
    await t.waitFor(
      (l) => ['Ada', 'Grace', 'Katherine'].every((n) => l.some((x) => x.includes(n))) && l.some((x) => /\(\/ to search\)/.test(x)),
      'every contact again, still on Contacts',
    );
    t.sendKeys('Escape');
    await t.waitFor(/Welcome to labd, admin\./, 'back home');
    t.sendKeys('q');
    assert.equal(await t.waitForExit(), 0);
  });

  test('Roles at 80 columns: → brings the KIND column into view', async () => {
    const t = tui(terminals, labd, admin);
    await open(t, 'Roles');
    const list = await t.waitFor((l) => l.some((x) => /^\s*ROLE\s/.test(x)) && l.some((x) => /^\s*guest\s/.test(x)), 'the role table');
    const header = list.find((x) => /^\s*ROLE\s/.test(x))!;
    if (header.includes('KIND')) throw new Error(`KIND fits at 80 columns, nothing to scroll to:\n${list.join('\n')}`);
    assert.ok(
      list.some((x) => /more: .*KIND/.test(x)),
      `the title says KIND is hidden:\n${list.join('\n')}`,
    );
    t.sendKeys('Right');
    await t.waitFor((l) => /KIND/.test(l.find((x) => /^\s*ROLE\s/.test(x)) ?? '') && l.some((x) => /^\s*admin\s+built-in/.test(x)), 'KIND scrolled into view');
    t.sendKeys('Left');
    await t.waitFor((l) => l.find((x) => /^\s*ROLE\s/.test(x)) === header, 'back to the first columns');
    t.sendKeys('q');
    assert.equal(await t.waitForExit(), 0);
  });

  for (const app of ['Users', 'Roles']) {
    test(`${app}: the ? help at 24 (and 16) rows keeps its esc and q lines`, async () => {
      const t = tui(terminals, labd, admin);
      await open(t, app);
      await t.waitFor((l) => l.some((x) => new RegExp(`${app} \\(\\d+\\)`).test(x)), `the ${app} table`);
      t.sendKeys('?');
      const help = await t.waitFor((l) => l.some((x) => /Keys: /.test(x)), 'the help');
      assert.ok(
        help.some((x) => /\besc\s+go back one level/.test(x)),
        `esc is in the help:\n${help.join('\n')}`,
      );
      assert.ok(
        help.some((x) => /\bq, ctrl-c\s+leave labd/.test(x)),
        `q is in the help:\n${help.join('\n')}`,
      );
      assert.ok(
        help.some((x) => /\bs\s+role, permissions|\bs\s+every permission/.test(x)),
        `the screen's own keys too:\n${help.join('\n')}`,
      );
      t.sendKeys('Escape');
      await t.waitFor((l) => !l.some((x) => /Keys: /.test(x)), 'the help closed');
      // Shorter still: the shared keys come first and the screen's own scroll.
      t.resize(COLS, 16);
      await t.waitFor((l) => l.length === 16 && /q quit$/.test(l[l.length - 1]!), 'the screen at 16 rows');
      t.sendKeys('?');
      const short = await t.waitFor((l) => l.some((x) => /Keys: /.test(x)), 'the help at 16 rows');
      for (const line of [/\besc\s+go back one level/, /\bq, ctrl-c\s+leave labd/])
        assert.ok(
          short.some((x) => line.test(x)),
          `${line} at 16 rows:\n${short.join('\n')}`,
        );
      t.sendKeys('q');
      assert.equal(await t.waitForExit(), 0);
    });
  }

  test('text wraps at word boundaries (the Nodes notice at 80 columns keeps kube.kubeconfig whole)', async () => {
    const t = tui(terminals, labd, admin);
    await open(t, 'Nodes');
    const screen = await t.waitFor((l) => l.some((x) => /Nodes: no Kubernetes cluster configured/.test(x)), 'the notice');
    const text = screen.join('\n');
    assert.match(text, /\bkube\.kubeconfig\b/, `kube.kubeconfig is not cut:\n${text}`);
    assert.match(text, /service\s+account/, 'the notice is whole');
    assert.ok(!screen.some((l) => /kube\.kubeco$/.test(l.trimEnd())), `no line ends mid-word:\n${text}`);
    t.sendKeys('q');
    assert.equal(await t.waitForExit(), 0);
  });

  test('dialogs wrap at words and keep every line (a prompt at 40 columns still says enter/esc)', async () => {
    const t = TmuxTerminal.start(['ssh', ...labd.sshArgs(admin, { tty: true })], { term: 'tmux-256color', cols: 40, rows: ROWS });
    terminals.push(t);
    await open(t, 'Invites');
    await t.waitFor((l) => l.some((x) => /Invites \(\d+\)/.test(x)), 'the invite table');
    t.sendKeys('n');
    const dialog = await t.waitFor(/Role for the new account\?/, 'the prompt');
    const text = dialog.join('\n');
    assert.match(text, /custom role/, `the whole note:\n${text}`);
    assert.match(text, /enter: ok\s+esc: cancel/, `the keys of the prompt:\n${text}`);
    t.sendKeys('Escape');
    await t.waitFor(/no invite created/, 'cancelled');
    t.sendKeys('q');
    assert.equal(await t.waitForExit(), 0);
  });

  test('Seats is marked not configured on the home menu, and says what to set when opened', async () => {
    const t = tui(terminals, labd, admin);
    const home = await t.waitFor((l) => /not configured$/.test(l.find((x) => /^\s+Seats\s/.test(x)) ?? ''), 'Seats marked');
    assert.ok(home.some((x) => /^\s+Seats\s/.test(x)));
    await open(t, 'Seats');
    await t.waitFor(/Seats: seats are not configured: set seats\.endpoint/, 'what to set');
    t.sendKeys('q');
    assert.equal(await t.waitForExit(), 0);
  });
});

describe('the git screen: its lists and the README pane', () => {
  const keys = new KeyLab();
  let labd: LabdProcess;
  let alice: string;
  const terminals: TmuxTerminal[] = [];

  before(async () => {
    const admin = keys.key('admin');
    alice = keys.key('alice');
    labd = await LabdProcess.start({ adminKeys: [keys.publicKey(admin)] });
    const git = new GitLab(labd);
    assert.equal(labd.ssh(admin, ['user', 'add', 'alice', '--role', 'operator', '--key', `'${keys.publicKey(alice)}'`]).status, 0);
    for (const name of ['dotfiles', 'notes', 'tools/cli'])
      assert.equal(labd.ssh(alice, ['repo', 'create', name, '--description', `'about ${name}'`]).status, 0);
    const wt = git.workTree({ 'README.md': '# Dotfiles readme\n\nhello from the readme\n', 'zsh/zshrc': 'export EDITOR=vi\n' }, 2);
    const push = git.git(alice, ['push', git.url('dotfiles'), 'main'], { cwd: wt });
    assert.equal(push.status, 0, push.stderr);
  });
  after(async () => {
    for (const t of terminals) t.kill();
    await labd?.stop();
    keys.cleanup();
  });

  test('G/g in the repository list, j in a folder, 1–5 inside the README pane, Escape clears the filter first', async () => {
    const t = tui(terminals, labd, alice);
    await open(t, 'Git');
    await t.waitFor(/dotfiles[\s\S]*notes[\s\S]*tools\/cli/, 'the repository list');
    t.sendKeys('G', 'Enter');
    await t.waitFor(/tools\/cli: README/, 'the last repository open');
    t.sendKeys('Escape');
    t.sendKeys('Escape');
    await t.waitFor((l) => l.some((x) => /^\s*notes\s/.test(x)) && !l.some((x) => /README/.test(x)), 'the list again');
    t.sendKeys('g', 'Enter');
    await t.waitFor(/hello from the readme/, 'the README of dotfiles');
    // The README pane takes the repository's view keys, as its tab list does.
    t.sendKeys('2');
    await t.waitFor(/zsh\/[\s\S]*README\.md/, 'the files, from inside the README');
    // `/` in a folder: the view keys (2, 3) are text meanwhile; Escape clears the filter, the folder stays.
    t.sendKeys('/', 'R', 'E', 'A');
    await t.waitFor((l) => l.some((x) => /README\.md/.test(x)) && !l.some((x) => /zsh\//.test(x)) && l.some((x) => /\/ REA_/.test(x)), 'the folder filtered');
    t.sendKeys('Enter');
    t.sendKeys('Escape');
    await t.waitFor((l) => l.some((x) => /zsh\//.test(x)) && l.some((x) => /README\.md/.test(x)) && !l.some((x) => /\/ REA/.test(x)), 'the whole folder again');
    t.sendKeys('j', 'Enter');
    await t.waitFor(/1 {2}# Dotfiles readme/, 'README.md, the second entry, with line numbers');
    t.sendKeys('3');
    await t.waitFor(/commit 2[\s\S]*first/, 'the commits, from inside a file');
    t.sendKeys('1');
    await t.waitFor((l) => l.some((x) => /hello from the readme/.test(x)) && !l.some((x) => /commit 2/.test(x)), 'the README again');
    // Escape goes back to the tabs (the views replace each other), then to the list.
    t.sendKeys('Escape');
    await t.waitFor((l) => l.some((x) => /Branches/.test(x)) && !l.some((x) => /hello from the readme/.test(x)), 'the tabs');
    t.sendKeys('Escape');
    await t.waitFor((l) => l.some((x) => /^\s*notes\s/.test(x)), 'the repository list');

    t.sendKeys('/', 'n', 'o', 't', 'Enter');
    await t.waitFor((l) => l.some((x) => /^\s*notes\s/.test(x)) && !l.some((x) => /^\s*dotfiles\s/.test(x)), 'the list filtered');
    t.sendKeys('Escape');
    await t.waitFor((l) => l.some((x) => /^\s*dotfiles\s/.test(x)) && l.some((x) => /^\s*notes\s/.test(x)), 'the filter cleared, still on Git');
    t.sendKeys('Escape');
    await t.waitFor(/Welcome to labd, alice\./, 'back home');
    t.sendKeys('q');
    assert.equal(await t.waitForExit(), 0);
  });
});
