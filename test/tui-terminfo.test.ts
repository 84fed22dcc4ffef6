/**
 * TUI sessions share one parsed terminfo per TERM (src/ssh/tui/terminfo.ts): the memory a session
 * costs no longer includes its own copy of ~1000 compiled capabilities. Driven in one process
 * over stand-in channels; the drawing itself is checked by the tmux tests.
 */
import { sqliteHandle } from '../src/db/sqlite-engine.ts';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll as after, describe, test, vi } from 'vitest';
import type { Widgets } from 'blessed';
import type { ServerChannel } from 'ssh2';
import type { Actor } from '../src/core/actor.ts';
import { systemClock } from '../src/core/clock.ts';
import { createLogger } from '../src/core/logger.ts';
import { DEFAULT_ROLE_PERMISSIONS } from '../src/core/permissions.ts';
import { openDb } from '../src/db/client.ts';
import { SqlAuditLog } from '../src/ops/audit/sql-store.ts';
import { Backends } from '../src/ops/backends.ts';
import { Registry } from '../src/ops/registry.ts';
import { TuiHost } from '../src/ssh/tui/host.ts';
import { sharedTerminalCount } from '../src/ssh/tui/terminfo.ts';
import { until } from './support/wait.ts';

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

interface ProgramView {
  tput: { numbers: Record<string, number>; brokenACS: boolean };
  put: Record<string, unknown> & ((cap: string) => unknown);
  terminal: string;
}

describe('shared terminfo per TERM', () => {
  const dir = mkdtempSync(join(tmpdir(), 'labd-tui-terminfo-'));
  const log = createLogger('warn', new Writable({ write: (_c, _e, cb) => cb() }));
  const registry = new Registry({
    log,
    clock: systemClock,
    rolePermissions: DEFAULT_ROLE_PERMISSIONS,
    audit: new SqlAuditLog(sqliteHandle(openDb(dir))),
    backends: new Backends(),
  });
  const actor: Actor = { userId: 1, name: 'ann', role: 'member', via: 'tui' };
  const host = new TuiHost(registry, log, 'lab.test');
  let lastScreen: Widgets.Screen | undefined;
  host.register({
    id: 'probe',
    title: 'Probe',
    description: 'hands its screen to the test',
    permission: 'authenticated',
    open: (ctx) => void (lastScreen = ctx.screen),
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Opens a session on `term`, opens Probe to get its screen's program, and returns both. */
  function session(term: string, env: Record<string, string> = { LANG: 'C.UTF-8' }) {
    const channel = new FakeChannel();
    host.open({ channel: channel as unknown as ServerChannel, actor, pty: { term, cols: 80, rows: 24 }, env, onExit: () => {} });
    lastScreen = undefined;
    channel.type('\r');
    assert.ok(lastScreen, 'the probe app opened');
    return { channel, program: (lastScreen as Widgets.Screen).program as unknown as ProgramView };
  }

  test('sessions on the same TERM share one Tput; another TERM or character set gets its own', async () => {
    const a = session('screen');
    const b = session('screen');
    const c = session('xterm');
    const ascii = session('screen', { LANG: 'C' });
    assert.equal(a.program.tput, b.program.tput, 'one parsed terminfo for both screen sessions');
    assert.notEqual(a.program.tput, c.program.tput);
    assert.notEqual(a.program.tput, ascii.program.tput, 'UTF-8 and ASCII sessions differ (U8 and unicode are part of the entry)');
    assert.equal(a.program.tput.numbers.U8, 1);
    assert.equal(ascii.program.tput.numbers.U8, 0);
    assert.equal(a.program.tput.brokenACS, true);
    assert.equal(a.program.terminal, 'screen');
    // Each session's put writes to its own channel, through the shared wrappers or put(cap).
    await until('both screens drawn', () => a.channel.written.includes('Welcome') && b.channel.written.includes('Welcome'));
    a.channel.written = '';
    b.channel.written = '';
    (a.program.put.bel as () => void).call(a.program.put);
    await until('the bell on a', () => a.channel.written.includes('\x07'));
    assert.equal(b.channel.written, '', 'nothing reached the other session');
    b.program.put('bel');
    await until('the bell on b', () => b.channel.written.includes('\x07'));
    for (const s of [a, b, c, ascii]) s.channel.type('q');
    for (const s of [a, b, c, ascii]) assert.equal(s.channel.exitCode, 0);
  });

  test('the home menu is drawn with the shared terminfo (capabilities reach the channel)', async () => {
    const s = session('screen');
    await until('the home menu is written', () => /Welcome to labd, ann\./.test(s.channel.written));
    // Alternate screen on (smcup of screen-256color), as blessed would write it with its own Tput.
    assert.ok(s.channel.written.includes('\x1b[?1049h'), 'the alternate screen is entered');
    s.channel.type('q');
    assert.equal(s.channel.exitCode, 0);
    assert.ok(s.channel.written.includes('\x1b[?1049l'), 'and left at the end');
  });

  test('clients naming many TERMs, or unknown ones, keep the cache bounded', () => {
    const names = [
      'xterm',
      'xterm-256color',
      'xterm-color',
      'xterm-mono',
      'xterm-r5',
      'xterm-r6',
      'xterm-vt220',
      'screen',
      'screen-w',
      'screen-bce',
      'screen-256color',
      'tmux',
      'tmux-256color',
      'vt100',
      'vt102',
      'vt220',
      'linux',
      'ansi',
      'rxvt',
      'rxvt-unicode',
      'Eterm',
      'cygwin',
      'dumb',
    ];
    for (const term of [...names, ...Array.from({ length: 20 }, (_, i) => `no-such-term-${i}`)]) {
      const s = session(term);
      s.channel.type('q');
      assert.equal(s.channel.exitCode, 0, `the ${term} session ends cleanly`);
      assert.ok(sharedTerminalCount() <= 16, `at most 16 entries after ${term}: ${sharedTerminalCount()}`);
    }
    const unknownA = session('no-such-term-a');
    const unknownB = session('no-such-term-b');
    const xterm = session('xterm');
    assert.equal(unknownA.program.tput, unknownB.program.tput, 'unknown TERMs share the xterm fallback');
    assert.equal(unknownA.program.tput, xterm.program.tput);
    assert.equal(unknownA.program.terminal, 'no-such-term-a', 'the program keeps the name the client gave');
    for (const s of [unknownA, unknownB, xterm]) s.channel.type('q');
  });

  test('a terminfo blessed cannot compile (screen-256color) prints nothing to the console or stderr', () => {
    // Fill the cache with other names first, so screen-256color is parsed now even if another test parsed it.
    for (let i = 0; i < 16; i++) session(`evicting-term-${i}`).channel.type('q');
    const printed: unknown[] = [];
    const consoleError = vi.spyOn(console, 'error').mockImplementation((...args) => void printed.push(args));
    const stderrWrite = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => (printed.push(chunk), true));
    try {
      const s = session('screen-256color');
      s.channel.type('q');
      assert.equal(s.channel.exitCode, 0);
      assert.ok(s.channel.written.includes('Welcome'), 'the session still draws, with the xterm fallback');
    } finally {
      consoleError.mockRestore();
      stderrWrite.mockRestore();
    }
    assert.deepEqual(printed, [], 'blessed printed nothing');
  });
});
