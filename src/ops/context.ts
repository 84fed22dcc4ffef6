import type { Readable, Writable } from 'node:stream';
import type { Actor } from '../core/actor.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { Permission, RolePermissions } from '../core/permissions.ts';
import type { Config } from '../config/schema.ts';
import type { Db } from '../db/client.ts';
import type { Registry } from './registry.ts';

/** What every command runs with: the actor, the shared services, and the session's I/O when it has one. */
export interface Services {
  config: Config;
  db: Db;
  log: Logger;
  clock: Clock;
  rolePermissions: RolePermissions;
  version: string;
}

export interface SessionIO {
  /** Standard input, for commands that read it (`keys add`, `paste`). */
  stdin: Readable;
  /** Standard output, for commands that stream (`paste cat`, `sub`). */
  stdout: Writable;
  stderr: Writable;
  /** The client asked for a terminal (ssh -t): output may be drawn for eyes (QR codes). */
  isTerminal?: boolean;
}

export interface CommandContext extends Services {
  actor: Actor;
  registry: Registry;
  io?: SessionIO;
  signal: AbortSignal;
  /** The front-end renders the result as JSON (`--json`): give data as a result rather than streaming it. */
  json: boolean;
  /** Reports progress of a long command (lines on exec, a bar in the TUI, edits in Matrix). */
  progress(message: string): void;
  /** Whether the actor holds a permission (for checks on data, e.g. "own pastes, or admin"). */
  can(permission: Permission): boolean;
}
