/**
 * What a module is: a factory that takes exactly the ports it needs and returns what it contributes.
 * The composition root (src/app.ts) builds the adapters, calls each factory once and wires the
 * contributions into the registry, the HTTP server and the TUI. Nothing here imports its caller.
 *
 * `Screen` is left open so that ops modules contribute no screens (their TUI lives in src/ssh/tui/ops)
 * while apps with a screen of their own contribute the TUI's type, which src/ops never names.
 */
import type { BuiltinRole, Permission } from '../core/permissions.ts';
import type { HttpRoute } from './http.ts';
import type { AnyCommand } from './registry.ts';

/** Something that runs in the background while labd serves: a poller, a sweeper, a watcher, the bot. */
export interface Job {
  name: string;
  /**
   * Work only one replica may do (the Matrix bot, alert polling and escalation, mirror fetches,
   * reminders, sweeps): run only while this replica is the leader (src/ops/leader), started when it
   * becomes leader and stopped when it stops being leader, so `start` may follow `stop` again.
   * Without it the job runs on every replica.
   */
  singleton?: boolean;
  start(): void;
  stop(): void | Promise<void>;
}

/**
 * A permission a module's commands need, with the built-in roles that hold it until config
 * (`access.defaults`) or an admin (`role grant/revoke`) says otherwise. A new service declares its
 * own, so it arrives with defaults and shows up in `role show` without a central list to edit.
 */
export interface PermissionDecl {
  name: Permission;
  summary: string;
  roles: readonly BuiltinRole[];
}

export interface LabdModule<Screen = never> {
  name: string;
  /** The permissions this module's commands (and screens) need, with their default roles. */
  permissions?: readonly PermissionDecl[];
  commands?: readonly AnyCommand[];
  routes?: readonly HttpRoute[];
  screens?: readonly Screen[];
  jobs?: readonly Job[];
}

/** A job from an interval: runs `tick` every `everyMs` (and once at start when `immediately`). */
export function intervalJob(name: string, everyMs: number, tick: () => void, immediately = false): Job {
  let timer: NodeJS.Timeout | undefined;
  return {
    name,
    start() {
      if (immediately) tick();
      timer = setInterval(tick, everyMs);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
    },
  };
}
