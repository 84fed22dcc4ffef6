import type { Widgets } from 'blessed';
import type { Actor } from '../../core/actor.ts';
import type { Permission } from '../../core/permissions.ts';
import type { Registry, SessionIO } from '../../ops/registry.ts';
import type { Result } from '../../ops/result.ts';
import type { KeyHint } from './keys.ts';
import type { Theme } from './theme.ts';

/** What an app's TUI screen gets: a box to draw in, the actor, the registry, and a way back. */
export interface TuiScreenContext {
  screen: Widgets.Screen;
  parent: Widgets.BoxElement;
  actor: Actor;
  registry: Registry;
  theme: Theme;
  /**
   * Runs a command through the registry as the actor (authorization, audit and all); aborted with `signal`
   * or the given one, whichever ends first. `onProgress` gets the command's progress messages.
   */
  run(argv: string[], opts?: { confirmed?: boolean; onProgress?: (message: string) => void; signal?: AbortSignal }): ReturnType<Registry['execute']>;
  /** The same with typed arguments (no words built and parsed again): `invoke(['ack'], { alert: '3', for: '2h' })`. */
  invoke(
    path: readonly string[],
    args: Record<string, unknown>,
    opts?: { confirmed?: boolean; onProgress?: (message: string) => void; signal?: AbortSignal; io?: SessionIO },
  ): Promise<Result>;
  /** Asks a yes/no question in a dialog. */
  confirm(question: string): Promise<boolean>;
  /** Leaves the app, back to the home menu. */
  back(): void;
  /** The keys of the app's own screen: drawn in the footer and the `?` help (keys.ts). */
  setKeys(keys: KeyHint[]): void;
  /**
   * Opens a level over the app's screen (a pane, a detail view): its keys own the footer and the help,
   * and Escape calls `back` (which should close it). Returns the function that removes the level.
   */
  pushLevel(level: { title: string; keys: KeyHint[]; back(): void }): () => void;
  /** Aborted when the user leaves the app or the session ends: pass it to long work. */
  signal: AbortSignal;
}

/** A TUI app on the home menu. Apps register themselves with the host. */
export interface TuiApp {
  id: string;
  title: string;
  description: string;
  /** Shown only to users holding this permission. */
  permission: Permission | 'authenticated';
  open(ctx: TuiScreenContext): { destroy(): void } | void;
  /**
   * The command whose backend (or config section) the screen needs (e.g. ['nodes']): while it is not configured
   * the home menu marks the app and opening it says what to set, instead of an empty screen.
   */
  needs?: readonly string[];
  /**
   * The app's count on the home menu ('3 pastes'), read with registry commands as the user while
   * the home screen is open; undefined: no count.
   */
  count?(ctx: { run(argv: string[]): Promise<Result>; mayRun(path: string[]): boolean }): Promise<string | undefined>;
}

/** A count from a list command: 'N things', or nothing when the user may not run it. */
export function listCount(argv: string[], one: string, many: string): NonNullable<TuiApp['count']> {
  return async ({ run, mayRun }) => {
    if (!mayRun(argv.filter((w) => !w.startsWith('-')))) return undefined;
    const result = await run(argv);
    if (result.kind !== 'table') return undefined;
    const n = result.rows.length;
    return `${n} ${n === 1 ? one : many}`;
  };
}
