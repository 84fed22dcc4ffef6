/**
 * Drives a terminal program inside a detached tmux session on its own server socket (`tmux -L`),
 * so tests see exactly what a user's terminal would show: capture the screen, send keys, resize,
 * and read the exit status of the program after it ends (the pane stays, remain-on-exit).
 *
 * Commands go through one tmux control-mode client (`tmux -C`) per terminal, in order: a test's keys
 * reach the pane before any later screen is read. A tmux client per command was a fork of the vitest
 * worker each time (every 100 ms while a test waited on a screen), and a fork costs system time in
 * proportion to the worker's memory (200-700 MB): the TUI tests' largest cost.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
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
/** How often a wait reads the screen: a command on the control client, no process started. */
const POLL_MS = 50;
/** The least time between two sendKeys, as between two key presses (the old tmux client per call took about this long). */
const KEY_GAP_MS = 15;

function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** What tmux said to a command sent by the control client: its output lines, or its error. */
interface Pending {
  command: string;
  resolve(lines: string[]): void;
  reject(err: Error): void;
}

/**
 * A tmux control-mode client (`tmux -C attach`, no pane output, not sizing the window) that runs
 * commands in the order they are written and gives each its answer: the lines between tmux's
 * `%begin` and `%end` (or `%error`) for a command this client sent (flags 1).
 */
class ControlClient {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly pending: Pending[] = [];
  private partial = '';
  private block: { tag: string; lines: string[] } | undefined;
  private gone: Error | undefined;
  private stderr = '';

  constructor(socket: string, env: NodeJS.ProcessEnv) {
    this.child = spawn('tmux', ['-L', socket, '-C', 'attach-session', '-t', 'main', '-f', 'no-output,ignore-size'], { env, stdio: 'pipe' });
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (text: string) => this.read(text));
    this.child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.child.stdin.on('error', () => undefined);
    this.child.on('close', () => this.fail(new Error(`tmux's control client ended${this.stderr ? `: ${this.stderr.trim()}` : ''}`)));
  }

  /** Sends one command (argv, quoted for tmux's parser); its answer comes in order. */
  run(args: string[]): Promise<string[]> {
    if (args.some((a) => /[\r\n]/.test(a))) return Promise.reject(new Error(`a tmux argument cannot hold a line break: ${JSON.stringify(args)}`));
    const command = args.map(tmuxQuote).join(' ');
    return new Promise<string[]>((resolve, reject) => {
      if (this.gone) return reject(this.gone);
      this.pending.push({ command, resolve, reject });
      this.child.stdin.write(`${command}\n`);
    });
  }

  close(): void {
    this.child.stdin.end();
  }

  private read(text: string): void {
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop()!;
    for (const line of lines) {
      if (this.block) {
        // The closing line repeats the opening one's time, number and flags.
        const end = /^%(end|error) (.*)$/.exec(line);
        if (end && end[2] === this.block.tag) {
          const { lines: output, tag } = this.block;
          this.block = undefined;
          if (!tag.endsWith(' 1')) continue;
          const p = this.pending.shift();
          if (end[1] === 'end') p?.resolve(output);
          else p?.reject(new Error(`tmux ${p.command}: ${output.join(' ')}`));
        } else this.block.lines.push(line);
      } else if (line.startsWith('%begin ')) this.block = { tag: line.slice('%begin '.length), lines: [] };
      // Anything else is a notification (%session-changed, %exit…).
    }
  }

  private fail(err: Error): void {
    this.gone ??= err;
    for (const p of this.pending.splice(0)) p.reject(err);
  }
}

/** One word for tmux's command parser: single-quoted, nothing inside is special but the quote. */
function tmuxQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export class TmuxTerminal {
  private readonly dir = mkdtempSync(join(tmpdir(), 'labd-tmux-'));
  readonly socket = `labd-test-${process.pid}-${++counter}`;
  private readonly env: NodeJS.ProcessEnv;
  private readonly statusFile = join(this.dir, 'exit-status');
  private control: ControlClient | undefined;
  /** A failure of a command sent without waiting (keys, resize), thrown at the next one. */
  private unsent: Error | undefined;
  /** The commands sent so far, answered in order; the next waits for this. */
  private turn: Promise<unknown> = Promise.resolve();
  /** When the last keys were sent (performance.now()). */
  private keysAt = -Infinity;

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
  async screen(opts: { escapes?: boolean } = {}): Promise<string[]> {
    return this.command(['capture-pane', '-p', ...(opts.escapes ? ['-e'] : []), '-t', 'main']);
  }

  /**
   * tmux's newest paste buffer (where OSC 52 clipboard writes land, set-clipboard on); '' when none.
   * Through a client of its own: in control mode tmux escapes what show-buffer prints.
   */
  clipboard(): string {
    const r = spawnSync('tmux', ['-L', this.socket, 'show-buffer'], { env: this.env });
    return r.status === 0 ? r.stdout.toString() : '';
  }

  async text(): Promise<string> {
    return (await this.screen()).join('\n');
  }

  /** A tmux format of the pane, e.g. '#{alternate_on}' (1 while the program is in the alternate screen), '#{cursor_flag}'. */
  async format(fmt: string): Promise<string> {
    return (await this.command(['display-message', '-p', '-t', 'main', fmt])).join('\n').trim();
  }

  /**
   * Sends tmux key names ('q', 'Enter', 'Escape', 'C-c', 'Down'); they reach the pane before any
   * screen asked for later. A failure surfaces at the terminal's next screen, format or wait.
   */
  sendKeys(...keys: string[]): void {
    this.send(['send-keys', '-t', 'main', ...keys], { keys: true });
  }

  resize(cols: number, rows: number): void {
    this.send(['resize-window', '-t', 'main', '-x', String(cols), '-y', String(rows)]);
  }

  /**
   * Polls the screen until `test` holds; fails with the last screen after a generous deadline. With
   * `settled`, it must hold on two reads in a row that are the same: a large redraw reaches the
   * terminal in pieces, and a read between two can pass a test of the whole.
   */
  async waitFor(test: RegExp | ((lines: string[]) => boolean), what = String(test), o: { settled?: boolean } = {}): Promise<string[]> {
    const deadline = Date.now() + DEADLINE_MS;
    let lines: string[] = [];
    let passed: string | undefined;
    for (;;) {
      lines = await this.screen();
      if (typeof test === 'function' ? test(lines) : test.test(lines.join('\n'))) {
        const text = lines.join('\n');
        if (!o.settled || passed === text) return lines;
        passed = text;
      } else passed = undefined;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; the screen was:\n${lines.join('\n')}`);
      await new Promise((r) => setTimeout(r, POLL_MS));
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
        const pane = await this.format('dead=#{pane_dead} status=#{pane_dead_status} signal=#{pane_dead_signal} pid=#{pane_pid}');
        throw new Error(`the program did not end (${pane}); the screen was:\n${await this.text()}`);
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  /** Kills this tmux server (and the program, if still running) and removes its socket directory. */
  kill(): void {
    this.control?.close();
    spawnSync('tmux', ['-L', this.socket, 'kill-server'], { env: this.env });
    rmSync(this.dir, { recursive: true, force: true });
  }

  private tmux(args: string[]): string {
    const r = spawnSync('tmux', ['-L', this.socket, ...args], { env: this.env, encoding: 'utf8' });
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error(`tmux ${args[0]} failed: ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** Runs a command through the control client, after everything sent before it. */
  private async command(args: string[]): Promise<string[]> {
    this.throwUnsent();
    const lines = await this.inTurn(() => this.controlClient().run(args));
    this.throwUnsent();
    return lines;
  }

  /**
   * Sends a command whose answer nobody waits for; its failure is kept for the next command. Keys
   * go KEY_GAP_MS after the last ones, as a person types: two Escapes in one read of the terminal
   * are another key (Alt+Escape) than two presses.
   */
  private send(args: string[], o: { keys?: boolean } = {}): void {
    this.throwUnsent();
    void this.inTurn(async () => {
      const wait = o.keys ? this.keysAt + KEY_GAP_MS - performance.now() : 0;
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      try {
        await this.controlClient().run(args);
      } catch (err) {
        this.unsent ??= err as Error;
      }
      if (o.keys) this.keysAt = performance.now();
    });
  }

  /** Runs `job` once everything queued before it has had its answer. */
  private inTurn<T>(job: () => Promise<T>): Promise<T> {
    const result = this.turn.then(job);
    this.turn = result.catch(() => undefined);
    return result;
  }

  private throwUnsent(): void {
    const err = this.unsent;
    this.unsent = undefined;
    if (err) throw err;
  }

  private controlClient(): ControlClient {
    return (this.control ??= new ControlClient(this.socket, this.env));
  }
}
