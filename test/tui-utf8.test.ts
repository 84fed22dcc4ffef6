/**
 * Issue 23, point 1: a client that sends no locale (an `ssh -F` config without SendEnv, Windows'
 * OpenSSH) gets UTF-8, so accented names stay readable; a client that asks for another charset
 * explicitly still gets ASCII. Driven through tmux at 80x24 with the real OpenSSH client.
 */
import assert from 'node:assert/strict';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { KeyLab } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';
import { TmuxTerminal } from './support/tmux.ts';

describe('TUI text without a locale from the client', () => {
  const lab = new KeyLab();
  let labd: InProcessLabd;
  let alice: string;
  const terminals: TmuxTerminal[] = [];

  before(async () => {
    const admin = lab.key('admin');
    alice = lab.key('alice');
    labd = await InProcessLabd.start({ adminKeys: [lab.publicKey(admin)] });
    assert.equal((await labd.ssh(admin, ['user', 'add', 'alice', '--role', 'member', '--key', `'${lab.publicKey(alice)}'`])).status, 0);
    const added = await labd.ssh(alice, ['crm', 'add', 'José', 'Müller-Núñez', '--email', 'jose@example.org']);
    assert.equal(added.status, 0, added.stderr);
  });
  after(async () => {
    for (const t of terminals) t.kill();
    await labd?.stop();
    lab.cleanup();
  });

  /** `ssh -t HOST crm` in a UTF-8 terminal; `sendLang` passes the terminal's LANG on (SendEnv). */
  function crm(lang: string, sendLang: boolean): TmuxTerminal {
    const extra = sendLang ? ['-o', 'SendEnv=LANG'] : [];
    const t = TmuxTerminal.start(['ssh', ...labd.sshArgs(alice, { tty: true, extra }), 'crm'], { env: { LANG: lang }, cols: 80, rows: 24 });
    terminals.push(t);
    return t;
  }

  test('no LANG sent: accented names are drawn, not turned into ?', async () => {
    const t = crm('C.UTF-8', false);
    const screen = await t.waitFor(/jose@example\.org/, 'the contact list');
    assert.ok(
      screen.some((l) => l.includes('José Müller-Núñez')),
      `the name as typed:\n${screen.join('\n')}`,
    );
    assert.ok(!screen.some((l) => l.includes('Jos?')), 'no ? in place of letters');
    t.sendKeys('q');
  });

  test('a client that asks for an ASCII locale (LANG=C sent) gets ASCII', async () => {
    const t = crm('C', true);
    const screen = await t.waitFor(/jose@example\.org/, 'the contact list');
    assert.ok(!screen.some((l) => l.includes('José')), `ASCII only:\n${screen.join('\n')}`);
    t.sendKeys('q');
  });
});
