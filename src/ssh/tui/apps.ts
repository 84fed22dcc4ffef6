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
  invoke(path: readonly string[], args: Record<string, unknown>, opts?: { confirmed?: boolean; onProgress?: (message: string) => void; signal?: AbortSignal; io?: SessionIO }): Promise<Result>;
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
  /** A line for the home screen ("3 people to catch up with"), from commands run as the actor; none when undefined. */
  homeLine?(run: (argv: string[]) => ReturnType<Registry['execute']>): Promise<string | undefined>;
}
