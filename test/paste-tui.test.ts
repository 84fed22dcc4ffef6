import assert from 'node:assert/strict';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { KeyLab } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';
import { TmuxTerminal } from './support/tmux.ts';

const LONG = [
  ...Array.from({ length: 120 }, (_, i) => `line ${String(i + 1).padStart(3, '0')}`),
  'colour \x1b[31mRED-TEXT\x1b[0m done',
  'osc \x1b]0;hijacked-title\x07after-osc',
  'end of paste',
].join('\n');

describe('paste TUI screen, driven through tmux', () => {
  const lab = new KeyLab();
  let labd: InProcessLabd;
  let alice: string;
  const terminals: TmuxTerminal[] = [];

  before(async () => {
    const admin = lab.key('admin');
    alice = lab.key('alice');
    labd = await InProcessLabd.start({ adminKeys: [lab.publicKey(admin)] });
    const r = await labd.ssh(admin, ['user', 'add', 'alice', '--role', 'member', '--key', `'${lab.publicKey(alice)}'`]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal((await labd.ssh(alice, ['paste', 'long.txt'], { input: LONG })).status, 0);
    assert.equal((await labd.ssh(alice, ['paste', 'other.txt'], { input: 'the other one\n' })).status, 0);
  });
  after(async () => {
    for (const t of terminals) t.kill();
    await labd?.stop();
    lab.cleanup();
  });

  async function openPastes(): Promise<TmuxTerminal> {
    const t = TmuxTerminal.start(['ssh', ...labd.sshArgs(alice, { tty: true, extra: ['-o', 'SendEnv=LANG'] })], {
      env: { LANG: 'C.UTF-8' },
      term: 'tmux-256color',
    });
    terminals.push(t);
    const home = await t.waitFor(/Welcome to labd, alice\./);
    const first = home.findIndex((l) => /^\s+Account\s/.test(l));
    const target = home.findIndex((l) => /^\s+Pastes\s/.test(l));
    assert.ok(first >= 0 && target > first, `the home menu lists Pastes:\n${home.join('\n')}`);
    for (let i = first; i < target; i++) t.sendKeys('Down');
    t.sendKeys('Enter');
    await t.waitFor(/long\.txt[\s\S]*other\.txt/, 'the paste list');
    return t;
  }

  test('lists the pastes; opens one that scrolls and shows no escape sequences', async () => {
    const t = await openPastes();
    t.sendKeys('Enter');
    const first = await t.waitFor(/line 001/, 'the paste content');
    assert.ok(!first.some((l) => l.includes('end of paste')), 'the end is below the fold');
    for (let i = 0; i < 12; i++) t.sendKeys('PageDown');
    const bottom = await t.waitFor(/end of paste/, 'the end after scrolling');
    assert.ok(!bottom.some((l) => l.includes('line 001')), 'the top scrolled away');
    const red = (await t.screen({ escapes: true })).find((l) => l.includes('RED-TEXT'));
    assert.ok(red, 'the coloured line is shown');
    assert.doesNotMatch(red, /\x1b\[[0-9;]*31m/, 'the paste cannot colour the terminal');
    assert.ok(
      bottom.some((l) => /osc\s*after-osc/.test(l)),
      `the OSC sequence is stripped:\n${bottom.join('\n')}`,
    );
    assert.ok(!bottom.some((l) => l.includes('hijacked-title')));

    t.sendKeys('BSpace');
    await t.waitFor((l) => l.some((x) => /other\.txt/.test(x)) && !l.some((x) => x.includes('end of paste')), 'the list again');
    t.sendKeys('q');
    assert.equal(await t.waitForExit(), 0);
  });

  test('deletes a paste after a confirmation dialog, through the registry', async () => {
    const t = await openPastes();
    t.sendKeys('Down');
    t.sendKeys('d');
    await t.waitFor(/Delete paste other\.txt\?/, 'the confirmation dialog');
    t.sendKeys('n');
    await t.waitFor(/kept/);
    assert.equal((await labd.ssh(alice, ['paste', 'cat', 'other.txt'])).status, 0, 'answering no keeps the paste');

    t.sendKeys('d');
    await t.waitFor(/Delete paste other\.txt\?/, 'the confirmation dialog again');
    t.sendKeys('y');
    await t.waitFor((l) => l.some((x) => x.includes('removed alice/other.txt')) && !l.some((x) => /^\s*other\.txt/.test(x)), 'the paste removed from the list');
    assert.equal((await labd.ssh(alice, ['paste', 'cat', 'other.txt'])).status, 4);
    assert.equal((await labd.ssh(alice, ['paste', 'cat', 'long.txt'])).status, 0);
    t.sendKeys('q');
    assert.equal(await t.waitForExit(), 0);
  });
});
