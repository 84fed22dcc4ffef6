/**
 * TUI conventions, driven through tmux over the real OpenSSH client: hints readable on every TERM
 * (no black), NO_COLOR plain; `?` shows the keys of the current screen from the same table as the
 * footer; Escape goes back one level, q quits from anywhere; the home menu keeps its cursor.
 */
import assert from 'node:assert/strict';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { KeyLab } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';
import { TmuxTerminal, type TmuxOptions } from './support/tmux.ts';

/** Every SGR sequence on the screen that sets the foreground (or background) to black or grey-black. */
function blackCodes(screen: string): string[] {
  const found: string[] = [];
  for (const m of screen.matchAll(/\x1b\[([0-9;:]*)m/g)) {
    const ps = m[1]!.split(/[;:]/).map(Number);
    for (let i = 0; i < ps.length; i++) {
      const p = ps[i]!;
      if (p === 38 || p === 48) {
        // 38;5;N (256 colours) or 38;2;R;G;B
        if (ps[i + 1] === 5 && (ps[i + 2] === 0 || ps[i + 2] === 16)) found.push(m[0]);
        if (ps[i + 1] === 2 && ps[i + 2] === 0 && ps[i + 3] === 0 && ps[i + 4] === 0) found.push(m[0]);
        i += ps[i + 1] === 5 ? 2 : 4;
      } else if (p === 30 || p === 40) found.push(m[0]);
    }
  }
  return found;
}

function colourCodes(screen: string): string[] {
  const found: string[] = [];
  for (const m of screen.matchAll(/\x1b\[([0-9;:]*)m/g)) {
    for (const p of m[1]!.split(/[;:]/)) {
      const n = Number(p);
      if ((n >= 30 && n <= 38) || (n >= 40 && n <= 48) || (n >= 90 && n <= 97) || (n >= 100 && n <= 107)) found.push(m[0]);
    }
  }
  return found;
}

/** The footer's hints as [keys, label] pairs ('↑/↓ move · enter open · ? help · q quit'). */
function hints(footer: string, sep = '·'): [string, string][] {
  return footer
    .trim()
    .split(` ${sep} `)
    .map((h) => {
      const i = h.indexOf(' ');
      return [h.slice(0, i), h.slice(i + 1)] as [string, string];
    });
}

describe('TUI keys and hints, through tmux and OpenSSH', () => {
  const lab = new KeyLab();
  let labd: InProcessLabd;
  let admin: string;
  const terminals: TmuxTerminal[] = [];

  before(async () => {
    admin = lab.key('admin');
    labd = await InProcessLabd.start({ adminKeys: [lab.publicKey(admin)] });
  });
  after(async () => {
    for (const t of terminals) t.kill();
    await labd.stop();
    lab.cleanup();
  });

  function tui(opts: TmuxOptions & { sendEnv?: string[] } = {}): TmuxTerminal {
    const extra = opts.sendEnv?.length ? ['-o', `SendEnv=${opts.sendEnv.join(' ')}`] : [];
    const t = TmuxTerminal.start(['ssh', ...labd.sshArgs(admin, { tty: true, extra })], { cols: 100, rows: 26, ...opts });
    terminals.push(t);
    return t;
  }
  const home = (t: TmuxTerminal) => t.waitFor((l) => l.some((x) => x.includes('Welcome to labd, admin.')) && /q quit$/.test(l[l.length - 1]!), 'the home menu');

  for (const term of ['tmux-256color', 'screen-256color', 'xterm']) {
    test(`hints are drawn without black on TERM=${term}, and plain with NO_COLOR`, async () => {
      const coloured = tui({ term, env: { LANG: 'C.UTF-8' }, sendEnv: ['LANG'] });
      const plain = tui({ term, env: { LANG: 'C.UTF-8', NO_COLOR: '1' }, sendEnv: ['LANG', 'NO_COLOR'] });
      for (const t of [coloured, plain]) {
        await home(t);
        t.sendKeys('Enter'); // Account
        await t.waitFor((l) => /keys ls[\s\S]*ssh-ed25519/.test(l.join('\n')) && /esc back · q quit$/.test(l[l.length - 1]!), 'the Account app');
      }
      const raw = await coloured.screen({ escapes: true });
      assert.deepEqual(blackCodes(raw.join('\n')), [], `no black on ${term}:\n${JSON.stringify(raw)}`);
      const footer = raw[raw.length - 1]!;
      // The footer is in the terminal's own colours: bold key names, no colour at all.
      assert.deepEqual(colourCodes(footer), [], `the footer sets no colour: ${JSON.stringify(footer)}`);
      assert.match(footer, /\x1b\[1m/, 'key names are bold');
      assert.notEqual(colourCodes(raw.join('\n')).length, 0, 'the coloured theme still uses colour elsewhere');
      assert.deepEqual(colourCodes((await plain.screen({ escapes: true })).join('\n')), [], 'NO_COLOR: no colour at all');
      for (const t of [coloured, plain]) t.sendKeys('q');
      assert.equal(await coloured.waitForExit(), 0);
      assert.equal(await plain.waitForExit(), 0);
    });
  }

  test("? shows the keys of the current screen (the footer's, same words), Escape closes it, then goes back one level", async () => {
    const t = tui({ term: 'tmux-256color', env: { LANG: 'C.UTF-8' }, sendEnv: ['LANG'] });
    const screens: string[][] = [];
    const checkHelp = async (where: string) => {
      const before = await t.waitFor((l) => /q quit$/.test(l[l.length - 1]!), `the footer of ${where}`);
      const footer = before[before.length - 1]!;
      screens.push(hints(footer).map(([, label]) => label));
      t.sendKeys('?');
      const help = await t.waitFor((l) => l.some((x) => x.includes('Keys:')), `the help of ${where}`);
      const text = help.join('\n');
      for (const [keys, label] of hints(footer)) {
        const first = keys.split('/')[0]!;
        assert.ok(text.includes(first), `the help of ${where} names the key '${first}' of the footer:\n${text}`);
        void label;
      }
      // The help names the same actions (help texts may say more, but each row starts with the key).
      t.sendKeys('Escape');
      await t.waitFor((l) => !l.some((x) => x.includes('Keys:')) && l[l.length - 1] === footer, `the help of ${where} closed, same footer`);
    };

    await home(t);
    await checkHelp('home');
    t.sendKeys('Down'); // Users
    t.sendKeys('Enter');
    await t.waitFor((l) => /admin \(admin\) · Users/.test(l[0]!), 'the Users app');
    await checkHelp('Users');
    t.sendKeys('Escape');
    await home(t);
    // The menu kept its cursor: Enter opens Users again, not Account.
    t.sendKeys('Enter');
    await t.waitFor((l) => /admin \(admin\) · Users/.test(l[0]!), 'Users again, from the remembered cursor');
    t.sendKeys('Escape');
    await home(t);
    t.sendKeys('Up');
    t.sendKeys('Enter');
    await t.waitFor((l) => /admin \(admin\) · Account/.test(l[0]!), 'Account');
    await checkHelp('Account');

    // The shared words are the same on every screen.
    for (const labels of screens)
      for (const word of ['help', 'quit']) assert.ok(labels.includes(word), `'${word}' on every footer: ${JSON.stringify(screens)}`);
    for (const labels of screens.slice(1)) assert.ok(labels.includes('back'), `'back' on every footer but home: ${JSON.stringify(screens)}`);

    // q quits from inside an app, even with the help open.
    t.sendKeys('?');
    await t.waitFor(/Keys:/);
    t.sendKeys('q');
    assert.equal(await t.waitForExit(), 0);
  });
});
