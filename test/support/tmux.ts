/**
 * Drives a terminal program inside a detached tmux session on its own server socket (`tmux -L`),
 * so tests see exactly what a user's terminal would show: capture the screen, send keys, resize,
 * and read the exit status of the program after it ends (the pane stays, remain-on-exit).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TmuxOptions {
  cols?: number;
  rows?: number;
  /** The program's whole environment besides PATH and HOME (e.g. LANG, NO_COLOR). */
  env?: Record<string, string>;
  /** tmux's default-terminal, which becomes the program's TERM ('screen' unless given). */
  term?: string;
}

let counter = 0;

const DEADLINE_MS = 30_000;

function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export class TmuxTerminal {
  private readonly dir = mkdtempSync(join(tmpdir(), 'labd-tmux-'));
  readonly socket = `labd-test-${process.pid}-${++counter}`;
  private readonly env: NodeJS.ProcessEnv;
  private readonly statusFile = join(this.dir, 'exit-status');

  private constructor(opts: TmuxOptions) {
    // Only what the test asks for: nothing from the developer's own shell (TMUX, LANG, NO_COLOR…).
    this.env = { PATH: process.env.PATH, HOME: process.env.HOME, TMUX_TMPDIR: this.dir, ...opts.env };
  }

  /** Starts `command` (argv) in a new detached session of the given size. */
  static start(command: string[], opts: TmuxOptions = {}): TmuxTerminal {
    const t = new TmuxTerminal(opts);
    const conf = join(t.dir, 'tmux.conf');
    writeFileSync(
      conf,
      [
        `set -g default-terminal ${opts.term ?? 'screen'}`,
        'set -g remain-on-exit on',
        'set -g status off',
        'set -g history-limit 0',
        'set -g set-clipboard on',
        '',
      ].join('\n'),
    );
    // The exit status goes to a file: tmux 3.3 can mark a pane dead before it has reaped the
    // program and then never fill in #{pane_dead_status}.
    const wrapped = ['sh', '-c', `"$@"; echo $? > ${shellQuote(t.statusFile)}`, 'sh', ...command];
    t.tmux(['-f', conf, 'new-session', '-d', '-s', 'main', '-x', String(opts.cols ?? 80), '-y', String(opts.rows ?? 24), wrapped.map(shellQuote).join(' ')]);
    return t;
  }

  /** The visible screen, one string per line (trailing spaces removed by tmux). */
  screen(opts: { escapes?: boolean } = {}): string[] {
    const out = this.tmux(['capture-pane', '-p', ...(opts.escapes ? ['-e'] : []), '-t', 'main']);
    return out.replace(/\n$/, '').split('\n');
  }

  /** tmux's newest paste buffer (where OSC 52 clipboard writes land, set-clipboard on); '' when none. */
  clipboard(): string {
    const r = spawnSync('tmux', ['-L', this.socket, 'show-buffer'], { env: this.env });
    return r.status === 0 ? r.stdout.toString() : '';
  }

  text(): string {
    return this.screen().join('\n');
  }

  /** A tmux format of the pane, e.g. '#{alternate_on}' (1 while the program is in the alternate screen), '#{cursor_flag}'. */
  format(fmt: string): string {
    return this.tmux(['display-message', '-p', '-t', 'main', fmt]).trim();
  }

  /** Sends tmux key names ('q', 'Enter', 'Escape', 'C-c', 'Down'). */
  sendKeys(...keys: string[]): void {
    this.tmux(['send-keys', '-t', 'main', ...keys]);
  }

  resize(cols: number, rows: number): void {
    this.tmux(['resize-window', '-t', 'main', '-x', String(cols), '-y', String(rows)]);
  }

  /** Polls the screen until `test` holds; fails with the last screen after a generous deadline. */
  async waitFor(test: RegExp | ((lines: string[]) => boolean), what = String(test)): Promise<string[]> {
    const deadline = Date.now() + DEADLINE_MS;
    let lines: string[] = [];
    for (;;) {
      lines = this.screen();
      if (typeof test === 'function' ? test(lines) : test.test(lines.join('\n'))) return lines;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; the screen was:\n${lines.join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The program's exit status once it has ended (killed by a signal: 128 + signal), or null while it runs. */
  exitStatus(): number | null {
    if (!existsSync(this.statusFile)) return null;
    const text = readFileSync(this.statusFile, 'utf8').trim();
    return text === '' ? null : Number(text);
  }

  /** Waits for the program to end and returns its exit status. */
  async waitForExit(): Promise<number> {
    const deadline = Date.now() + DEADLINE_MS;
    for (;;) {
      const status = this.exitStatus();
      if (status !== null) return status;
      if (Date.now() > deadline) {
        const pane = this.tmux([
          'display-message',
          '-p',
          '-t',
          'main',
          'dead=#{pane_dead} status=#{pane_dead_status} signal=#{pane_dead_signal} pid=#{pane_pid}',
        ]).trim();
        throw new Error(`the program did not end (${pane}); the screen was:\n${this.text()}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Kills this tmux server (and the program, if still running) and removes its socket directory. */
  kill(): void {
    spawnSync('tmux', ['-L', this.socket, 'kill-server'], { env: this.env });
    rmSync(this.dir, { recursive: true, force: true });
  }

  private tmux(args: string[]): string {
    const r = spawnSync('tmux', ['-L', this.socket, ...args], { env: this.env, encoding: 'utf8' });
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error(`tmux ${args[0]} failed: ${r.stderr.trim()}`);
    return r.stdout;
  }
}
