/**
 * One parsed terminfo (blessed's Tput) per terminal kind, shared by every TUI session.
 *
 * blessed's `Program.setupTput` parses the terminfo file and compiles each of its ~1000
 * capabilities into a function for every program, then copies all of them onto the program and
 * wraps each in a `put` closure: about half a megabyte per session, identical for every session on
 * the same TERM. Here a Program subclass per (TERM, UTF-8) carries the shared Tput and its copied
 * capabilities on its prototype, and each session's `put` is one function whose prototype holds
 * the shared wrappers. Compiled capabilities keep no state between calls (their variables are
 * locals of each call), so sharing them is safe; nothing in blessed writes to the Tput after setup
 * except the screen setting `unicode` to the value it was built with.
 */
import type { BlessedProgram } from 'blessed';
import { blessed } from './blessed.ts';

/** The parts of blessed's Program and Tput this file uses; @types/blessed does not declare them. */
interface TputLike {
  brokenACS: boolean;
  numbers: Record<string, number>;
  features: { unicode: boolean };
  unicode: boolean;
  padding?: unknown;
  error?: unknown;
  [cap: string]: unknown;
}
interface ProgramInternals {
  tput: TputLike;
  put: unknown;
  _tputSetup: boolean;
  tmux: boolean;
  _write(text: string): unknown;
}
type ProgramConstructor = new (options: Record<string, unknown>) => BlessedProgram;

interface SharedTerminal {
  tput: TputLike;
  Program: ProgramConstructor;
  putPrototype: object;
}

/**
 * Terminal kinds kept parsed, most recently used last. Sessions keep the entry they were built
 * with, so dropping one only means the next session of that kind parses it again; the bound keeps
 * clients naming many different TERMs from growing the cache without end.
 */
const MAX_SHARED = 16;
const shared = new Map<string, SharedTerminal>();

/** The terminfo entries parsed so far (one per TERM and character set), for tests and metrics. */
export function sharedTerminalCount(): number {
  return shared.size;
}

function sharedTerminal(term: string, unicode: boolean): SharedTerminal {
  const key = `${term}\0${unicode ? 'utf8' : 'ascii'}`;
  const found = shared.get(key);
  if (found) {
    shared.delete(key);
    shared.set(key, found);
    return found;
  }

  // Read here, not at import: blessed loads with the first TUI session (./blessed.ts).
  const BaseProgram = (blessed as unknown as { program: ProgramConstructor & { prototype: Record<string, unknown> } }).program;
  const Tput = (blessed as unknown as { tput: new (options: Record<string, unknown>) => TputLike }).tput;
  const tput = withoutConsoleErrors(() => new Tput({ terminal: term, forceUnicode: unicode }));
  // No terminfo entry blessed can read for this name (ncurses' newer 256-colour entries among
  // them, and screen-256color, whose plab_norm blessed cannot compile): blessed falls back to its
  // xterm, so this name shares xterm's entry.
  if (tput.error && term !== 'xterm') return remember(key, sharedTerminal('xterm', unicode));
  // Never switch to the DEC line-drawing set: screen/tmux terminfo enter it with SO, which prints
  // 'lqqk' unless G1 was designated first. Lines are drawn as Unicode, or as ASCII (+-|) without UTF-8.
  tput.brokenACS = true;
  tput.numbers.U8 = unicode ? 1 : 0;
  // Padding is off unless asked for; the shared wrappers below assume so.
  tput.padding = false;

  const putPrototype = Object.create(Function.prototype) as Record<string, unknown>;
  function SharedProgram(this: ProgramInternals, options: Record<string, unknown>) {
    (BaseProgram as unknown as (this: unknown, o: Record<string, unknown>) => void).call(this, { ...options, tput: false });
    this.tput = tput;
    this._tputSetup = true;
    const put = ((cap: string, ...args: unknown[]) => {
      const fn = tput[cap];
      return typeof fn === 'function' ? this._write((fn as (...a: unknown[]) => string).apply(tput, args)) : undefined;
    }) as unknown as Record<string, unknown>;
    put.program = this;
    Object.setPrototypeOf(put, putPrototype);
    this.put = put;
  }
  const prototype = Object.create(BaseProgram.prototype) as Record<string, unknown>;
  prototype.constructor = SharedProgram;
  for (const cap of Object.keys(tput)) {
    const value = tput[cap];
    // What setupTput copies onto each program: capabilities Program has no method or field for.
    if (BaseProgram.prototype[cap] == null) prototype[cap] = value;
    putPrototype[cap] =
      typeof value === 'function'
        ? function (this: { program: ProgramInternals }, ...args: unknown[]) {
            return this.program._write((value as (...a: unknown[]) => string).apply(tput, args));
          }
        : value;
  }
  SharedProgram.prototype = prototype;

  const entry: SharedTerminal = { tput, Program: SharedProgram as unknown as ProgramConstructor, putPrototype };
  return remember(key, entry);
}

/**
 * blessed prints a capability it cannot compile, with the JavaScript it made of it, to
 * console.error before it falls back: dozens of lines on labd's stderr, outside the JSON log, the
 * first time a client says TERM=screen-256color (tmux). Its error is kept on the Tput (`error`);
 * the print is dropped. Synchronous, so nothing else runs while console.error is swapped.
 */
function withoutConsoleErrors<T>(fn: () => T): T {
  const original = console.error;
  console.error = () => {};
  try {
    return fn();
  } finally {
    console.error = original;
  }
}

function remember(key: string, entry: SharedTerminal): SharedTerminal {
  shared.set(key, entry);
  if (shared.size > MAX_SHARED) shared.delete(shared.keys().next().value!);
  return entry;
}

/**
 * A blessed Program on the client's terminal that uses the shared terminfo of its TERM. Pass it to
 * `blessed.screen({ program })`.
 */
export function sharedProgram(o: { input: unknown; output: unknown; term: string; unicode: boolean }): BlessedProgram {
  const { Program } = sharedTerminal(o.term, o.unicode);
  const program = new Program({ input: o.input, output: o.output, terminal: o.term, buffer: true, zero: true, forceUnicode: o.unicode });
  // blessed looks at this process's TMUX variable; the client's terminal is what counts.
  (program as unknown as ProgramInternals).tmux = false;
  return program;
}
