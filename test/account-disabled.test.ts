/**
 * A disabled account is told so (issue #23 point 5), with the real OpenSSH client and tmux: its open
 * terminal UI closes saying "account disabled" (not an empty disconnect); afterwards its key, on a
 * new connection, gets "account disabled" for a command, for the TUI and for git (as sshd's nologin),
 * never "without a key only git clone and fetch work" from an anonymous fallback. Who disabled it and
 * when is in the audit log (for admins), not in what the user is told.
 */
import assert from 'node:assert/strict';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { GitLab } from './support/git.ts';
import { KeyLab } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';
import { TmuxTerminal } from './support/tmux.ts';
import { until } from './support/wait.ts';

describe('a disabled account is told why', () => {
  const lab = new KeyLab();
  const admin = lab.key('admin');
  const bob = lab.key('bob');
  let labd: InProcessLabd;
  const terminals: TmuxTerminal[] = [];
  /** `ssh -tt` as bob in tmux at 80x24; the pane stays after ssh ends, with its exit status under what it printed. */
  const bobTerminal = (): TmuxTerminal => {
    const ssh = ['ssh', ...labd.sshArgs(bob, { tty: true })].map((a) => `'${a}'`).join(' ');
    const t = TmuxTerminal.start(['sh', '-c', `${ssh}; echo "ssh exited $?"; exec sleep 600`], { term: 'xterm-256color', cols: 80, rows: 24 });
    terminals.push(t);
    return t;
  };

  before(async () => {
    // Anonymous git on: a refused key would fall back to the keyless login (the whoami).
    labd = await InProcessLabd.start({ adminKeys: [lab.publicKey(admin)], env: { LABD_GIT_ANON_ACCESS: 'read-only' } });
    const add = await labd.ssh(admin, ['user', 'add', 'bob', '--role', 'member', '--key', `'${lab.publicKey(bob)}'`]);
    assert.equal(add.status, 0, add.stderr);
    assert.equal((await labd.ssh(admin, ['repo', 'create', 'dotfiles'])).status, 0);
  }, 60_000);
  after(async () => {
    for (const t of terminals) t.kill();
    await labd?.stop();
    lab.cleanup();
  });

  test('the open TUI closes saying account disabled; new logins (command, TUI, git) say so too; the audit log says who', async () => {
    const tui = bobTerminal();
    await tui.waitFor(/q quit/, 'the home menu');
    // An exec session open at the same time (a subscriber waiting for messages) is told too.
    const sub = labd.sshStart(bob, ['sub', 'news']);
    await until('the subscriber to be connected', async () => /news/.test((await labd.ssh(bob, ['topics'])).stdout) || sub.stderr() !== '');
    const disable = await labd.ssh(admin, ['user', 'disable', 'bob', '--yes']);
    assert.equal(disable.status, 0, disable.stderr);
    const closedTui = (await tui.waitFor(/ssh exited \d+/, 'ssh to end')).join('\n');
    assert.match(closedTui, /account disabled: ask an admin to enable it\s+ssh exited [1-9]/);
    const subEnd = await sub.done;
    assert.notEqual(subEnd.status, 0);
    assert.match(subEnd.stderr, /labd: account disabled: ask an admin to enable it/);

    const who = await labd.ssh(bob, ['whoami']);
    assert.equal(who.status, 3, who.stderr);
    assert.match(who.stderr, /account disabled/);
    assert.doesNotMatch(who.stderr, /without a key/);

    const again = (await bobTerminal().waitFor(/ssh exited \d+/, 'ssh to end')).join('\n');
    assert.match(again, /account disabled: ask an admin to enable it\s+ssh exited 3/);

    const git = new GitLab(labd);
    const clone = await git.gitAsync(bob, ['clone', '-q', git.url('dotfiles'), git.path('bob-clone')]);
    assert.notEqual(clone.status, 0);
    assert.match(clone.stderr, /account disabled/);

    // Who and when: for admins, in the audit log.
    const rows = JSON.parse((await labd.ssh(admin, ['audit', '--json'])).stdout) as { actor: string; command: string; args: string; at: string }[];
    const disabled = rows.find((r) => r.command === 'user disable')!;
    assert.equal(disabled.actor, 'admin');
    assert.deepEqual(JSON.parse(disabled.args), { name: 'bob' });
    const closed = rows.find((r) => r.command === 'session close' && r.actor === 'bob');
    assert.ok(closed, 'the closing of the open connection is audited');
    assert.match(closed.args, /account disabled/);

    assert.equal((await labd.ssh(admin, ['user', 'enable', 'bob'])).status, 0);
    const back = await labd.ssh(bob, ['whoami']);
    assert.equal(back.status, 0, back.stderr);
  });
});
