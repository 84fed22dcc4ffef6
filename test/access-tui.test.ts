/**
 * The access admin screens (issue #14) through tmux and the real OpenSSH client: Roles (new, grant,
 * revoke with a confirmation), Users (role, deny and disable with a confirmation, enable, show, remove refused by "no"),
 * Invites (new: the code shown once and usable with `ssh HOST join`; withdraw after a confirmation).
 * Every action is a registry command, audited 'via tui'.
 */
import assert from 'node:assert/strict';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { certFor, type KeyAndCert } from './support/auth-lab.ts';
import { KeyLab } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';
import { TmuxTerminal } from './support/tmux.ts';

describe('access admin screens in the TUI', () => {
  const lab = new KeyLab();
  const ca = lab.key('ca');
  const admin = lab.key('admin');
  let labd: InProcessLabd;
  let mia: KeyAndCert;
  const terminals: TmuxTerminal[] = [];

  before(async () => {
    labd = await InProcessLabd.start({ caKeys: [`${ca}.pub`], adminKeys: [lab.publicKey(admin)] });
    mia = certFor(lab, ca, { principals: ['mia'] });
    assert.equal((await labd.ssh(mia.key, ['whoami'], { cert: mia.cert })).status, 0);
  });
  after(async () => {
    for (const t of terminals) t.kill();
    await labd?.stop();
    lab.cleanup();
  });

  const lastLine = (l: string[]) => l[l.length - 1] ?? '';

  async function openApp(t: TmuxTerminal, title: string): Promise<void> {
    const home = await t.waitFor((l) => l.some((x) => new RegExp(`^\\s+${title}\\s`).test(x)) && /q quit$/.test(lastLine(l)), `the home menu with ${title}`);
    const first = home.findIndex((l) => /^\s+Account\s/.test(l));
    const target = home.findIndex((l) => new RegExp(`^\\s+${title}\\s`).test(l));
    // The menu keeps its last selection: back to the top first.
    for (let i = 0; i < home.length; i++) t.sendKeys('Up');
    for (let i = first; i < target; i++) t.sendKeys('Down');
    t.sendKeys('Enter');
  }

  async function answer(t: TmuxTerminal, question: RegExp, text: string): Promise<void> {
    await t.waitFor(question, `the prompt ${question}`);
    t.sendKeys('-l', text);
    t.sendKeys('Enter');
  }

  test('Roles, Users and Invites: each action through the registry, destructive ones confirmed, all audited via tui', async () => {
    const t = TmuxTerminal.start(['ssh', ...labd.sshArgs(admin, { tty: true })], { term: 'xterm-256color', cols: 130, rows: 50 });
    terminals.push(t);

    // Roles: a new custom role, given git.read; revoking asks first.
    await openApp(t, 'Roles');
    await t.waitFor((l) => l.some((x) => /Roles \(4\)/.test(x)) && /n new/.test(lastLine(l)), 'the role list with new');
    t.sendKeys('n');
    await answer(t, /Name of the new role\?/, 'readers');
    await t.waitFor((l) => l.some((x) => /^\s*readers\s+0\s+-/.test(x)), 'readers in the list');
    for (let i = 0; i < 4; i++) t.sendKeys('Down');
    t.sendKeys('+');
    await answer(t, /Permission to give readers\?/, 'git.read');
    await t.waitFor(/readers now holds git\.read/);
    t.sendKeys('-');
    await answer(t, /Permission to take from readers\?/, 'git.read');
    await t.waitFor(/Take git\.read from every readers\?/, 'the confirmation');
    t.sendKeys('n');
    await t.waitFor(/nothing changed/);
    t.sendKeys('s');
    await t.waitFor((l) => l.some((x) => /git\.read\s+yes\s+granted/.test(x)), 'role show in a pane');
    t.sendKeys('Escape');
    await t.waitFor(/n new/);
    t.sendKeys('Escape');

    // Users: mia gets the custom role, is denied paste (after a confirmation), and is kept when asked to remove.
    await openApp(t, 'Users');
    await t.waitFor((l) => l.some((x) => /^\s*mia\s+member/.test(x)) && /r role/.test(lastLine(l)), 'mia in the user list');
    t.sendKeys('Down');
    t.sendKeys('r');
    await answer(t, /New role for mia\?/, 'readers');
    await t.waitFor(/mia is now readers/);
    t.sendKeys('x');
    await answer(t, /Permission to deny mia\?/, 'git.read');
    await t.waitFor(/Deny mia git\.read\?/, 'the confirmation');
    t.sendKeys('y');
    await t.waitFor(/mia: denied git\.read \(does not hold it now\)/);
    t.sendKeys('s');
    await t.waitFor((l) => l.some((x) => /denied:?\s+git\.read/.test(x)), 'user show in a pane');
    t.sendKeys('Escape');
    await t.waitFor(/r role/);
    t.sendKeys('b');
    await t.waitFor(/Disable mia\? They log in no more/);
    t.sendKeys('y');
    await t.waitFor(/mia is disabled: it logs in no more/);
    const refused = await labd.ssh(mia.key, ['whoami'], { cert: mia.cert });
    assert.deepEqual([refused.status, refused.stderr.trim()], [3, 'error: account disabled: ask an admin to enable it'], 'disabled from the TUI: nothing runs');
    t.sendKeys('e');
    await t.waitFor(/mia is enabled again/);
    t.sendKeys('d');
    await t.waitFor(/Remove user mia with their keys\?/);
    t.sendKeys('n');
    await t.waitFor(/nothing changed/);
    t.sendKeys('Escape');

    // Invites: the code is shown once, and works with the real ssh client.
    await openApp(t, 'Invites');
    await t.waitFor((l) => l.some((x) => /Invites \(0\)/.test(x)) && /n new/.test(lastLine(l)), 'the empty invite list');
    t.sendKeys('n');
    await answer(t, /Role for the new account\?/, 'guest');
    const pane = await t.waitFor(/inv-[A-Za-z0-9_-]{24}/, 'the code in a pane');
    const code = /inv-[A-Za-z0-9_-]{24}/.exec(pane.join('\n'))![0];
    t.sendKeys('Escape');
    await t.waitFor((l) => l.some((x) => /^\s*1\s+guest\s+active/.test(x)), 'the invite in the list');
    const newcomer = lab.key('tui-newcomer');
    const joined = await labd.ssh(newcomer, ['join', code, '--name', 'tuijoined']);
    assert.equal(joined.status, 0, joined.stderr);
    await t.waitFor((l) => l.some((x) => /^\s*1\s+guest\s+used/.test(x)), 'the invite used (the list refreshes)');
    t.sendKeys('d');
    await t.waitFor(/Withdraw invite 1\?/);
    t.sendKeys('y');
    await t.waitFor(/removed invite 1/);
    t.sendKeys('Escape');
    await t.waitFor(/q quit$/);
    t.sendKeys('q');
    assert.equal(await t.waitForExit(), 0);

    // mia, over a new SSH connection, is a reader denied git.read: the changes count at once.
    const audit = JSON.parse((await labd.ssh(admin, ['audit', '--json'])).stdout) as { via: string; command: string; outcome: string; args: string }[];
    const viaTui = audit
      .filter((r) => r.via === 'tui')
      .reverse()
      .map((r) => `${r.command} ${r.outcome}`);
    assert.deepEqual(viaTui, [
      'role create ok',
      'role grant ok',
      'user role ok',
      'user deny ok',
      'user disable ok',
      'user enable ok',
      'invite create ok',
      'invite rm ok',
    ]);
    const show = JSON.parse((await labd.ssh(admin, ['user', 'show', 'mia', '--json'])).stdout) as { role: string; permissions: string[] };
    assert.deepEqual([show.role, show.permissions], ['readers', []]);
  });
});
