import { sqliteHandle } from '../src/db/sqlite-engine.ts';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import blessed from 'blessed';
import type { ServerChannel } from 'ssh2';
import { loadConfig } from '../src/config/load.ts';
import type { Actor } from '../src/core/actor.ts';
import { createLogger } from '../src/core/logger.ts';
import { DEFAULT_ROLE_PERMISSIONS } from '../src/core/permissions.ts';
import { systemClock } from '../src/core/clock.ts';
import { openDb } from '../src/db/client.ts';
import { Backends } from '../src/ops/backends.ts';
import { Registry } from '../src/ops/registry.ts';
import { SqlAuditLog } from '../src/ops/audit/sql-store.ts';
import type { TuiApp } from '../src/ssh/tui/apps.ts';
import { TuiHost } from '../src/ssh/tui/host.ts';
import { clampSize, isUtf8Locale, terminalProfile } from '../src/ssh/tui/terminal.ts';
import { KeyLab } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';
import { TmuxTerminal, type TmuxOptions } from './support/tmux.ts';

/** SGR parameters that set a colour (foreground, background, bright, 256/truecolour). */
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

describe('TUI over ssh, driven through tmux', () => {
  const lab = new KeyLab();
  let labd: InProcessLabd;
  let admin: string;
  let member: string;
  const terminals: TmuxTerminal[] = [];

  before(async () => {
    admin = lab.key('admin');
    member = lab.key('member');
    labd = await InProcessLabd.start({ adminKeys: [lab.publicKey(admin)] });
    const r = await labd.ssh(admin, ['user', 'add', 'mia', '--role', 'member', '--key', `'${lab.publicKey(member)}'`]);
    assert.equal(r.status, 0, r.stderr);
  });
  after(async () => {
    for (const t of terminals) t.kill();
    await labd.stop();
    lab.cleanup();
  });

  /** `ssh -tt` into labd inside a fresh tmux; `sendEnv` names the variables ssh passes on. */
  function tui(key: string, opts: TmuxOptions & { sendEnv?: string[] } = {}): TmuxTerminal {
    const extra = opts.sendEnv?.length ? ['-o', `SendEnv=${opts.sendEnv.join(' ')}`] : [];
    const t = TmuxTerminal.start(['ssh', ...labd.sshArgs(key, { tty: true, extra })], opts);
    terminals.push(t);
    return t;
  }
  /** Waits for the whole home menu (a screen may be captured half drawn). */
  function homeOf(t: TmuxTerminal, name: string): Promise<string[]> {
    return t.waitFor(
      (l) => l.some((x) => x.includes(`Welcome to labd, ${name}.`)) && l.some((x) => /^  Account\s+who you are/.test(x)) && /q quit$/.test(l[l.length - 1]!),
      `the home menu of ${name}`,
    );
  }
  const utf8 = { env: { LANG: 'C.UTF-8' }, sendEnv: ['LANG'], term: 'tmux-256color' };

  test('greets the user and lists the apps at 80x24; Account shows whoami, Escape goes back, q exits 0', async () => {
    const t = tui(admin, utf8);
    const home = await homeOf(t, 'admin');
    assert.equal(home.length, 24);
    assert.match(home[0]!, /admin \(admin\)/);
    for (const app of ['Account', 'Users', 'Audit'])
      assert.ok(
        home.some((l) => new RegExp(`^  ${app}\\s+\\S`).test(l)),
        `${app} is listed:\n${home.join('\n')}`,
      );
    assert.match(home[23]!, /↑\/↓\/j\/k move · enter open · \/ filter · g\/G first\/last · \? help · q quit/);

    t.sendKeys('Enter');
    const account = await t.waitFor(
      (l) =>
        l.some((x) => /^┌─ whoami ─+┐$/.test(x)) &&
        // The right border is there, in the last column.
        l.some((x) => /^│user:\s+admin\s+│$/.test(x) && [...x].length === 80) &&
        l.some((x) => /^│role:\s+admin\s+│$/.test(x)) &&
        /\? help · esc back · q quit/.test(l[23]!) &&
        /admin \(admin\) · Account/.test(l[0]!) &&
        /keys ls[\s\S]*ssh-ed25519/.test(l.join('\n')),
      'the Account app with bordered whoami and keys panes',
    );
    // Wrapped text continues on the next row, without blank rows in between.
    const wrapped = account.findIndex((l) => l.includes('permissions:'));
    assert.match(account[wrapped + 1]!, /^│\S/, `wrapped permissions continue on the next row:\n${account.join('\n')}`);

    t.sendKeys('Escape');
    const back = await t.waitFor((l) => l.some((x) => x.includes('Welcome to labd, admin.')) && !l.some((x) => x.includes('whoami')), 'the home menu again');
    assert.match(back[23]!, /q quit/);

    t.sendKeys('q');
    assert.equal(await t.waitForExit(), 0);
  });

  test('resizing the window re-lays out the screen; Ctrl-C exits 0', async () => {
    const t = tui(admin, utf8);
    await homeOf(t, 'admin');

    t.resize(100, 30);
    const big = await t.waitFor((l) => l.length === 30 && /q quit/.test(l[29]!), 'the footer on row 30');
    assert.ok(!/q quit/.test(big[23]!), 'the old footer row was redrawn');
    assert.ok(big.some((l) => l.includes('Welcome to labd, admin.')));

    t.resize(60, 16);
    await t.waitFor((l) => l.length === 16 && /q quit/.test(l[15]!) && l.some((x) => /^  Account\s+who you are/.test(x)), 'the footer on row 16');

    // Resizing inside an app re-lays out its panes too.
    t.sendKeys('Enter');
    await t.waitFor(/user:\s+admin/);
    t.resize(90, 26);
    const pane = await t.waitFor((l) => l.length === 26 && l.some((x) => /^┌─ whoami ─+┐$/.test(x) && [...x].length === 90), 'the panes 90 columns wide');
    assert.match(pane[25]!, /esc back · q quit/);

    t.sendKeys('C-c');
    assert.equal(await t.waitForExit(), 0);
  });

  test('a client asking for an ASCII locale gets plain ASCII lines and symbols, never DEC line-drawing letters', async () => {
    const t = tui(admin, { term: 'screen', env: { LANG: 'C' }, sendEnv: ['LANG'] });
    const home = await homeOf(t, 'admin');
    assert.match(home[23]!, /up\/down\/j\/k move \| enter open \| \/ filter \| g\/G first\/last \| \? help \| q quit/);
    t.sendKeys('Enter');
    const account = await t.waitFor(
      (l) =>
        l.some((x) => /^\+- whoami -+\+$/.test(x)) &&
        l.some((x) => /^\|user:\s+admin\s+\|$/.test(x)) &&
        /keys ls[\s\S]*ssh-ed25519/.test(l.join('\n')) &&
        /esc back/.test(l[23]!),
      'ASCII borders around the Account panes',
    );
    const text = account.join('\n');
    assert.doesNotMatch(text, /lqq|qqk|^x/m);
    assert.doesNotMatch(text, /[^\x20-\x7e\n]/, 'only ASCII on screen');
    t.sendKeys('q');
    assert.equal(await t.waitForExit(), 0);
  });

  test('NO_COLOR sent by the client gives a screen without colour', async () => {
    const plain = tui(admin, { ...utf8, env: { ...utf8.env, NO_COLOR: '1' }, sendEnv: ['LANG', 'NO_COLOR'] });
    const coloured = tui(admin, utf8);
    for (const t of [plain, coloured]) {
      await homeOf(t, 'admin');
      t.sendKeys('Enter');
      await t.waitFor((l) => /keys ls[\s\S]*ssh-ed25519/.test(l.join('\n')) && /esc back/.test(l[23]!), 'the Account app');
    }
    const plainScreen = (await plain.screen({ escapes: true })).join('\n');
    const colouredScreen = (await coloured.screen({ escapes: true })).join('\n');
    assert.notEqual(colourCodes(colouredScreen).length, 0, 'the default theme uses colour');
    assert.deepEqual(colourCodes(plainScreen), [], 'no colour escapes with NO_COLOR');
    assert.match(plainScreen, /\x1b\[[0-9;]*m/, 'bold and inverse still show');
    for (const t of [plain, coloured]) t.sendKeys('q');
    assert.equal(await plain.waitForExit(), 0);
    assert.equal(await coloured.waitForExit(), 0);
  });

  test('a member does not see admin-only apps', async () => {
    const t = tui(member, utf8);
    const home = await homeOf(t, 'mia');
    assert.match(home[0]!, /mia \(member\)/);
    assert.ok(!home.some((l) => /^  (Users|Audit)\s/.test(l)), `no admin apps:\n${home.join('\n')}`);
    t.sendKeys('q');
    assert.equal(await t.waitForExit(), 0);
  });

  test('many sessions, some cut off abruptly, are all released and leak no listeners', async () => {
    const clients = Array.from({ length: 12 }, () => {
      const child = spawn('ssh', labd.sshArgs(admin, { tty: true }), {
        env: { PATH: process.env.PATH, HOME: process.env.HOME, TERM: 'xterm' },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
      return { child, output: () => out, exited };
    });
    const deadline = Date.now() + 60_000;
    while (!clients.every((c) => c.output().includes('Welcome to labd'))) {
      assert.ok(Date.now() < deadline, 'every session shows the home menu');
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(await tuiSessions(), 12);
    clients.forEach((c, i) => (i % 2 ? c.child.kill('SIGKILL') : c.child.stdin.write('q')));
    const codes = await Promise.all(clients.filter((_, i) => i % 2 === 0).map((c) => c.exited));
    assert.deepEqual(codes, Array(6).fill(0));
    while ((await tuiSessions()) !== 0) {
      assert.ok(Date.now() < deadline, 'the TUI session gauge returns to 0');
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.doesNotMatch(labd.logs(), /MaxListenersExceeded|TUI session crashed/);
    // The server still serves.
    assert.equal((await labd.ssh(admin, ['whoami'])).status, 0);
  });

  async function tuiSessions(): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${labd.httpPort}/metrics`)).text();
    const m = /^labd_ssh_sessions_active\{kind="tui"\} (\d+)/m.exec(text);
    return m ? Number(m[1]) : 0;
  }
});

/** A stand-in for ssh2's ServerChannel with the surface the TUI host uses. */
class FakeChannel extends EventEmitter {
  written = '';
  exitCode: number | undefined;
  destroyed = false;
  writable = true;
  writableLength = 0;
  write(data: string | Buffer): boolean {
    this.written += data.toString();
    return true;
  }
  exit(code: number): void {
    this.exitCode = code;
  }
  end(): void {
    this.writable = false;
    this.destroyed = true;
  }
  type(text: string): void {
    this.emit('data', Buffer.from(text));
  }
}

describe('TuiHost sessions in one process', () => {
  const dir = mkdtempSync(join(tmpdir(), 'labd-tui-unit-'));
  const logLines: string[] = [];
  const log = createLogger('warn', new Writable({ write: (chunk, _enc, cb) => (logLines.push(String(chunk)), cb()) }));
  const registry = new Registry({
    log,
    clock: systemClock,
    rolePermissions: DEFAULT_ROLE_PERMISSIONS,
    audit: new SqlAuditLog(sqliteHandle(openDb(dir))),
    backends: new Backends(),
  });
  const actor: Actor = { userId: 1, name: 'ann', role: 'member', via: 'tui' };
  const screenInstances = () => (blessed.screen as unknown as { instances: unknown[] }).instances;
  let exits = 0;
  const host = new TuiHost(registry, log, 'lab.test');

  after(() => rmSync(dir, { recursive: true, force: true }));

  function open(env: Record<string, string> = {}) {
    const channel = new FakeChannel();
    const handle = host.open({ channel: channel as unknown as ServerChannel, actor, pty: { term: 'xterm', cols: 80, rows: 24 }, env, onExit: () => exits++ });
    return { channel, handle };
  }

  const screens: WeakRef<object>[] = [];
  host.register({ id: 'fine', title: 'Fine', description: 'works', permission: 'authenticated', open: (ctx) => void screens.push(new WeakRef(ctx.screen)) });
  host.register({
    id: 'broken',
    title: 'Broken',
    description: 'throws on open',
    permission: 'authenticated',
    open() {
      throw new Error('broken app');
    },
  });
  host.register({
    id: 'trap',
    title: 'Trap',
    description: 'throws on a key',
    permission: 'authenticated',
    open(ctx) {
      ctx.screen.key('x', () => {
        throw new Error('key handler bug');
      });
    },
  });
  host.register({ id: 'admin-only', title: 'Admin', description: 'needs admin.users', permission: 'admin.users', open() {} } satisfies TuiApp);

  test('apps are listed by permission', () => {
    assert.deepEqual(
      host.appsFor(actor).map((a) => a.id),
      ['fine', 'broken', 'trap'],
    );
    assert.deepEqual(
      host.appsFor({ ...actor, role: 'admin' }).map((a) => a.id),
      ['fine', 'broken', 'trap', 'admin-only'],
    );
  });

  test('an app whose open throws leaves the session on the home menu', () => {
    const { channel } = open();
    channel.type('j'); // Broken
    channel.type('\r');
    assert.equal(channel.exitCode, undefined, 'the session is still open');
    assert.ok(logLines.some((l) => l.includes('TUI app failed to open') && l.includes('broken app')));
    channel.type('k');
    channel.type('\r'); // Fine opens
    channel.type('\x1b');
    channel.type('q');
    assert.equal(channel.exitCode, 0);
  });

  test('a crash in one session closes that session only; the others keep working', () => {
    const exitsBefore = exits;
    const victim = open();
    const bystander = open();
    victim.channel.type('jj\r'); // Trap
    victim.channel.type('x');
    assert.equal(victim.channel.exitCode, 1);
    assert.match(victim.channel.written, /error: the terminal UI failed and this session was closed/);
    assert.ok(logLines.some((l) => l.includes('TUI session crashed') && l.includes('key handler bug')));
    victim.channel.type('q'); // input after the end is ignored
    assert.equal(victim.channel.exitCode, 1);

    bystander.channel.type('\r');
    bystander.handle.resize(100, 30);
    bystander.channel.type('\x1b');
    assert.equal(bystander.channel.exitCode, undefined);
    bystander.channel.type('\x03'); // Ctrl-C
    assert.equal(bystander.channel.exitCode, 0);
    assert.equal(exits - exitsBefore, 2, 'onExit runs once per session');
  });

  /** Opens 30 sessions, ends them (half by 'q', half by the channel closing), checks the bookkeeping. */
  function openAndCloseMany(): void {
    const events = ['exit', 'uncaughtException', 'SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGCONT'] as const;
    const baseline = events.map((e) => process.listenerCount(e));
    const sessions = [open({ LANG: 'C.UTF-8' })];
    const withOne = events.map((e) => process.listenerCount(e));
    for (let i = 1; i < 30; i++) sessions.push(open({ LANG: 'C.UTF-8' }));
    for (const s of sessions) s.channel.type('\r'); // open Fine in each
    assert.equal(screenInstances().length, 30);
    assert.deepEqual(
      events.map((e) => process.listenerCount(e)),
      withOne,
      'process listeners do not grow per screen',
    );
    sessions.forEach((s, i) => (i % 2 ? s.channel.type('q') : s.channel.emit('close')));
    assert.equal(screenInstances().length, 0);
    assert.deepEqual(
      events.map((e) => process.listenerCount(e)),
      baseline,
    );
    for (const s of sessions) assert.equal(s.channel.listenerCount('data'), 0);
  }

  test('closed sessions release their screens and process listeners', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    // In its own function, so that no variable of this (suspended) async function holds a session.
    openAndCloseMany();
    await new Promise((r) => setImmediate(r));
    process.off('warning', onWarning);
    assert.deepEqual(
      warnings.map((w) => w.name),
      [],
    );

    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const deadline = Date.now() + 30_000;
    for (;;) {
      // A WeakRef's target stays alive until the end of the job that deref'd it: collect in a fresh one.
      await new Promise((r) => setTimeout(r, 50));
      gc();
      const alive = screens.filter((r) => r.deref() !== undefined).length;
      if (alive === 0) break;
      assert.ok(Date.now() < deadline, `${alive} of ${screens.length} screens are still reachable`);
    }
    assert.ok(screens.length >= 30);
  });

  test('the client terminal is made safe: TERM never names a file, sizes are bounded, UTF-8 comes from the locale', async () => {
    // blessed reads a TERM containing '/' as a terminfo file: /dev/zero would block the server.
    assert.equal(terminalProfile({ term: '/dev/zero', cols: 80, rows: 24 }, {}).term, 'xterm');
    assert.equal(terminalProfile({ term: '../../etc/passwd', cols: 80, rows: 24 }, {}).term, 'xterm');
    assert.equal(terminalProfile({ term: 'tmux-256color', cols: 80, rows: 24 }, {}).term, 'tmux-256color');
    const huge = terminalProfile({ term: 'xterm', cols: 1e6, rows: 1e6 }, {});
    assert.ok(huge.cols <= 400 && huge.rows <= 200);
    assert.deepEqual(clampSize(0, 0), { cols: 20, rows: 6 });
    assert.equal(isUtf8Locale({ LANG: 'en_US.UTF-8' }), true);
    assert.equal(isUtf8Locale({ LANG: 'en_US.UTF-8', LC_ALL: 'C' }), false);
    assert.equal(isUtf8Locale({ LC_CTYPE: 'C.utf8' }), true);
    assert.equal(isUtf8Locale({}), true, 'no locale sent: UTF-8, as every terminal in use speaks it');
    assert.equal(isUtf8Locale({ LANG: 'C' }), false);
    assert.equal(isUtf8Locale({ LANG: 'POSIX' }), false);
    assert.equal(isUtf8Locale({ LANG: 'de_DE.ISO-8859-1' }), false);
    assert.equal(isUtf8Locale({ LANG: 'de_DE@euro' }), true, 'no charset named: UTF-8');
    assert.equal(isUtf8Locale({ LANG: 'de_DE.utf8@euro' }), true);
    // A TERM with no terminfo entry still gets a working screen (blessed falls back to xterm).
    const channel = new FakeChannel();
    host.open({ channel: channel as unknown as ServerChannel, actor, pty: { term: 'no-such-terminal', cols: 80, rows: 24 }, env: {}, onExit: () => exits++ });
    const deadline = Date.now() + 30_000;
    while (!channel.written.includes('Welcome')) {
      assert.ok(Date.now() < deadline, 'the home menu is drawn');
      await new Promise((r) => setTimeout(r, 20));
    }
    channel.type('q');
    assert.equal(channel.exitCode, 0);
  });
});
