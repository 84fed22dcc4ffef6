import type { Readable, Writable } from 'node:stream';
import type { Actor } from '../core/actor.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { Permission, RolePermissions } from '../core/permissions.ts';
import type { AuditLog } from './audit/store.ts';
import type { Registry } from './registry.ts';

/**
 * What the registry itself needs. Commands get their stores and adapters from their module's
 * factory (a closure), never from here: there is no catch-all config or database handle.
 */
export interface Services {
  log: Logger;
  clock: Clock;
  rolePermissions: RolePermissions;
  audit: AuditLog;
}

export interface SessionIO {
  /** Standard input, for commands that read it (`keys add`, `paste`). */
  stdin: Readable;
  /** Standard output, for commands that stream (`paste cat`, `sub`). */
  stdout: Writable;
  stderr: Writable;
  /** The client asked for a terminal (ssh -t): output may be drawn for eyes (QR codes). */
  isTerminal?: boolean;
  /** Environment the client sent that the front-end accepted (e.g. GIT_PROTOCOL). */
  env?: Readonly<Record<string, string>>;
}

export interface CommandContext {
  actor: Actor;
  log: Logger;
  clock: Clock;
  rolePermissions: RolePermissions;
  registry: Registry;
  io?: SessionIO;
  signal: AbortSignal;
  /** The front-end renders the result as JSON (`--json`): give data as a result rather than streaming it. */
  json: boolean;
  /** Reports progress of a long command (lines on exec, a bar in the TUI, edits in Matrix). */
  progress(message: string): void;
  /** Whether the actor holds a permission (for per-resource rules in `authorize`, e.g. "own pastes, or admin"). */
  can(permission: Permission): boolean;
}
