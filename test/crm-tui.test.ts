import assert from 'node:assert/strict';
import stringWidth from 'string-width';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { KeyLab } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';
import { TmuxTerminal } from './support/tmux.ts';
import { until } from './support/wait.ts';

describe('CRM TUI, driven through tmux', () => {
  const lab = new KeyLab();
  let labd: InProcessLabd;
  let alice: string;
  const terminals: TmuxTerminal[] = [];

  const json = async (args: string[]) => {
    const r = await labd.ssh(alice, [...args, '--json']);
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    return JSON.parse(r.stdout);
  };

  before(async () => {
    const admin = lab.key('admin');
    alice = lab.key('alice');
    labd = await InProcessLabd.start({ adminKeys: [lab.publicKey(admin)] });
    assert.equal((await labd.ssh(admin, ['user', 'add', 'alice', '--role', 'member', '--key', `'${lab.publicKey(alice)}'`])).status, 0);
    await json(['crm', 'add', 'Ada', 'Lovelace', '--email', 'ada@example.org']);
    await json(['crm', 'add', 'José', 'Núñez', '--email', 'jn@example.com', '--company', 'Boats']);
    await json(['crm', 'add', '李小龍', '--email', 'bruce@example.org']);
    const late = await json(['crm', 'add', 'Olga', 'Overdue', '--stay-in-touch', '7']);
    await json(['crm', 'met', String(late.id), '--on', '2020-01-01']);
  });
  after(async () => {
    for (const t of terminals) t.kill();
    await labd?.stop();
    lab.cleanup();
  });

  function terminal(command: string[] = [], env: Record<string, string> = {}): TmuxTerminal {
    const t = TmuxTerminal.start(['ssh', ...labd.sshArgs(alice, { tty: true, extra: ['-o', 'SendEnv=LANG', '-o', 'SendEnv=NO_COLOR'] }), ...command], {
      env: { LANG: 'C.UTF-8', ...env },
      term: 'tmux-256color',
    });
    terminals.push(t);
    return t;
  }

  test('the home screen says who to catch up with', async () => {
    const t = terminal();
    await t.waitFor(/1 person to catch up with/, 'the home line');
    t.sendKeys('q');
  });

  test('ssh -t HOST crm: filter as you type, open, add with a validation error, edit, note, delete; CJK aligned, NO_COLOR', async () => {
    const t = terminal(['crm'], { NO_COLOR: '1' });
    const first = await t.waitFor(/Ada Lovelace[\s\S]*李小龍/, 'the contact list');
    assert.doesNotMatch((await t.screen({ escapes: true })).join('\n'), /\x1b\[3[0-7]m/, 'NO_COLOR: no colours');
    // Names are padded by display width: the emails start in one column, CJK names included.
    const col = (l: string, needle: string) => stringWidth(l.slice(0, l.indexOf(needle)));
    const adaLine = first.find((l) => l.includes('ada@example.org'))!;
    const bruceLine = first.find((l) => l.includes('bruce@example.org'))!;
    assert.equal(col(bruceLine, 'bruce@'), col(adaLine, 'ada@'), `aligned:\n${first.join('\n')}`);

    // Every keystroke searches; accents do not matter.
    t.sendKeys('/', 'j', 'o');
    await t.waitFor((l) => l.some((x) => x.includes('José Núñez')) && !l.some((x) => x.includes('Ada Lovelace')), 'only José after "jo"');
    t.sendKeys('s', 'e', 'Enter');
    await t.waitFor(/jn@example\.com[\s\S]*Boats|Boats[\s\S]*jn@example\.com/, 'the detail pane of José');
    t.sendKeys('/', 'BSpace', 'BSpace', 'BSpace', 'BSpace', 'Enter');
    await t.waitFor(/Ada Lovelace/, 'the whole list again');

    // Add, with an invalid email first: the message sits next to the field.
    t.sendKeys('a');
    await t.waitFor(/New contact/, 'the add form');
    t.sendKeys('-l', 'Grace Hopper');
    t.sendKeys('Tab');
    t.sendKeys('-l', 'grace-at-navy');
    t.sendKeys('Enter');
    await t.waitFor(/! not an email address/, 'the validation message');
    assert.equal((await json(['crm', 'ls', 'grace'])).length, 0, 'nothing saved');
    for (let i = 0; i < 'grace-at-navy'.length; i++) t.sendKeys('BSpace');
    t.sendKeys('-l', 'grace@navy.example');
    t.sendKeys('Enter');
    await t.waitFor(/added Grace Hopper/, 'added');
    const grace = (await until('Grace in the book', async () => (await json(['crm', 'ls', 'grace']))[0])) as { id: number };

    // Edit the selected contact (Grace, kept selected after adding).
    t.sendKeys('e');
    await t.waitFor(/Edit Grace Hopper/, 'the edit form');
    t.sendKeys('Tab', 'Tab', 'Tab');
    t.sendKeys('-l', 'US Navy');
    t.sendKeys('Enter');
    await t.waitFor(/saved Grace Hopper/, 'saved');
    assert.equal((await json(['crm', 'show', String(grace.id)])).company, 'US Navy');

    // A note.
    t.sendKeys('n');
    await t.waitFor(/Note on Grace Hopper/, 'the note prompt');
    t.sendKeys('-l', 'found a moth in the relay');
    t.sendKeys('Enter');
    await t.waitFor(/noted on/, 'noted');
    assert.match(JSON.stringify((await json(['crm', 'show', String(grace.id)])).interactions), /found a moth in the relay/);

    // Delete, after a confirmation.
    t.sendKeys('d');
    await t.waitFor(/Delete Grace Hopper\?/, 'the confirmation');
    t.sendKeys('y');
    await t.waitFor(/removed \d+ Grace Hopper/, 'removed');
    assert.equal((await json(['crm', 'ls', 'grace'])).length, 0);

    // The due view.
    t.sendKeys('u');
    await t.waitFor(/Olga Overdue/, 'the due view');
    t.sendKeys('q');
  });
});
