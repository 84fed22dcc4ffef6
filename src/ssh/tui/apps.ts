import type { Widgets } from 'blessed';
import type { Actor } from '../../core/actor.ts';
import type { Permission } from '../../core/permissions.ts';
import type { z } from 'zod';
import type { CommandHandle, Registry, SessionIO } from '../../ops/registry.ts';
import type { Result } from '../../ops/result.ts';
import type { KeyHint } from './keys.ts';
import type { Theme } from './theme.ts';

export interface ScreenInvokeOptions {
  confirmed?: boolean;
  onProgress?: (message: string) => void;
  signal?: AbortSignal;
  io?: SessionIO;
}

export interface ScreenInvoke {
  <S extends z.ZodObject, R extends Result>(handle: CommandHandle<S, R>, args: z.input<S>, opts?: ScreenInvokeOptions): Promise<R>;
  (path: readonly string[], args: Record<string, unknown>, opts?: ScreenInvokeOptions): Promise<Result>;
}

/** What an app's TUI screen gets: a box to draw in, the actor, the registry, and a way back. */
export interface TuiScreenContext {
  screen: Widgets.Screen;
  parent: Widgets.BoxElement;
  actor: Actor;
  registry: Registry;
  theme: Theme;
  /**
   * Runs a command through the registry as the actor (authorization, audit and all), by its typed
   * handle (`invoke(nodeCordon, { name })`: typed arguments, typed result) or its words as a path
   * with arguments by name; never from words to parse. Aborted with `signal` or the given one,
   * whichever ends first; `onProgress` gets the command's progress messages.
   */
  invoke: ScreenInvoke;
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
  count?(ctx: { invoke: CountInvoke; mayRun(path: readonly string[]): boolean }): Promise<string | undefined>;
}

/** How a count runs a read-only command as the user: by its typed handle, or its path with arguments by name. */
export interface CountInvoke {
  <S extends z.ZodObject, R extends Result>(handle: CommandHandle<S, R>, args: z.input<S>): Promise<R>;
  (path: readonly string[], args: Record<string, unknown>): Promise<Result>;
}

/** A count from a list command: 'N things', or nothing when the user may not run it. */
export function listCount(path: readonly string[], one: string, many: string, args: Record<string, unknown> = {}): NonNullable<TuiApp['count']> {
  return async ({ invoke, mayRun }) => {
    if (!mayRun(path)) return undefined;
    const result = await invoke(path, args);
    if (result.kind !== 'table') return undefined;
    const n = result.rows.length;
    return `${n} ${n === 1 ? one : many}`;
  };
}
