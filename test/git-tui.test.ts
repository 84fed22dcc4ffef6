/** The git TUI screen through tmux: list, filter, readme, tree, file, log, diff; private repos stay out. */
import assert from 'node:assert/strict';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { GitLab } from './support/git.ts';
import { KeyLab, LabdProcess } from './support/labd.ts';
import { TmuxTerminal } from './support/tmux.ts';
import { until } from './support/wait.ts';

describe('git TUI screen, driven through tmux', () => {
  const lab = new KeyLab();
  let labd: LabdProcess;
  let alice: string;
  const terminals: TmuxTerminal[] = [];

  before(async () => {
    const admin = lab.key('admin');
    alice = lab.key('alice');
    labd = await LabdProcess.start({ adminKeys: [lab.publicKey(admin)] });
    const git = new GitLab(labd);
    assert.equal(labd.ssh(admin, ['user', 'add', 'alice', '--role', 'operator', '--key', `'${lab.publicKey(alice)}'`]).status, 0);
    for (const name of ['dotfiles', 'notes', 'tools/cli'])
      assert.equal(labd.ssh(alice, ['repo', 'create', name, '--description', `'about ${name}'`]).status, 0);
    assert.equal(labd.ssh(admin, ['repo', 'create', 'secret', '--private']).status, 0);
    const wt = git.workTree({ 'README.md': '# Dotfiles readme\n\nhello from the **readme** {red-fg}\n\n- first item\n', 'zsh/zshrc': 'export EDITOR=vi\n' }, 2);
    const push = git.git(alice, ['push', git.url('dotfiles'), 'main'], { cwd: wt });
    assert.equal(push.status, 0, push.stderr);
  });
  after(async () => {
    for (const t of terminals) t.kill();
    await labd?.stop();
    lab.cleanup();
  });

  test('list, filter, readme, files, file, commits, diff', async () => {
    const t = TmuxTerminal.start(['ssh', ...labd.sshArgs(alice, { tty: true, extra: ['-o', 'SendEnv=LANG'] })], {
      env: { LANG: 'C.UTF-8' },
      term: 'tmux-256color',
    });
    terminals.push(t);
    const home = await t.waitFor(/Welcome to labd, alice\./);
    const first = home.findIndex((l) => /^\s+Account\s/.test(l));
    const target = home.findIndex((l) => /^\s+Git\s/.test(l));
    assert.ok(first >= 0 && target > first, `the home menu lists Git:\n${home.join('\n')}`);
    for (let i = first; i < target; i++) t.sendKeys('Down');
    t.sendKeys('Enter');
    const list = await t.waitFor(/dotfiles[\s\S]*notes[\s\S]*tools\/cli/, 'the repository list');
    assert.ok(!list.some((l) => l.includes('secret')), 'a private repository of someone else is not listed');

    // '/' and the filter in one write, as when typed fast or pasted: the keys that reach labd in the same
    // read as '/' must reach the filter box too (blessed's readInput starts listening a tick later).
    t.sendKeys('/too');
    await t.waitFor((l) => l.some((x) => x.includes('tools/cli')) && !l.some((x) => /^\s*dotfiles\s/.test(x)), 'the list filtered to tools');
    t.sendKeys('BSpace', 'BSpace', 'BSpace', 'd', 'o', 't');
    await t.waitFor((l) => l.some((x) => /^\s*dotfiles\s/.test(x)) && !l.some((x) => x.includes('tools/cli')), 'the list filtered to dot');
    t.sendKeys('Enter');
    await t.waitFor(/1 of 3 match 'dot'/, 'the filter ended');
    t.sendKeys('Enter');
    await t.waitFor(/hello from the readme \{red-fg\}/, 'the README, rendered');
    const readme = await t.waitFor(/• first item/, 'the README list rendered with a bullet');
    assert.ok(!readme.some((l) => /# Dotfiles|\*\*readme\*\*/.test(l)), 'markdown syntax is rendered, not shown');

    t.sendKeys('BSpace');
    await t.waitFor(/Readme[\s\S]*Files[\s\S]*Commits/, 'the repository tabs');
    t.sendKeys('2');
    await t.waitFor(/zsh\/[\s\S]*README\.md/, 'the files');
    t.sendKeys('Enter');
    await t.waitFor(/zshrc/, 'the zsh folder');
    t.sendKeys('Enter');
    await t.waitFor(/1 {2}export EDITOR=vi/, 'the file with line numbers');
    t.sendKeys('BSpace');
    t.sendKeys('BSpace');
    t.sendKeys('BSpace');
    await t.waitFor((l) => l.some((x) => x.includes('Commits')) && !l.some((x) => x.includes('zsh/')), 'back at the tabs');
    t.sendKeys('3');
    await t.waitFor(/commit 2[\s\S]*first/, 'the commits');
    t.sendKeys('Enter');
    await t.waitFor(/\+\+\+ b\/counter\.txt/, 'the commit with its diff');
    t.sendKeys('BSpace');
    t.sendKeys('BSpace');
    await t.waitFor((l) => l.some((x) => x.includes('Branches')) && !l.some((x) => x.includes('counter.txt')), 'back at the tabs again');
    t.sendKeys('c');
    const wanted = `git clone ssh://127.0.0.1:${labd.sshPort}/dotfiles.git`;
    await until('OSC 52 to put the clone command on the clipboard', () => t.clipboard() === wanted, { timeoutMs: 30_000 });
    t.sendKeys('4');
    await t.waitFor(/main\s+[0-9a-f]{8}\s+\d{4}-\d\d-\d\d\s+commit 2/, 'the branches');
    t.sendKeys('q');
    assert.equal(await t.waitForExit(), 0);
  });
});
