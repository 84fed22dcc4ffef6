import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import type { Actor, Surface } from '../core/actor.ts';
import { errorKind, LabdError, PermissionDenied, UsageError } from '../core/errors.ts';
import { roleHas, type Permission } from '../core/permissions.ts';
import { isBooleanFlag, isListArg, isRequired, kebab, parseArgv, validateArgs } from './args.ts';
import type { CommandContext, Services, SessionIO } from './context.ts';
import type { Result } from './result.ts';
import { recordAudit } from './audit/store.ts';

export interface CommandDefinition<S extends z.ZodObject = z.ZodObject> {
  /** The command words, e.g. ['keys', 'add']. */
  path: readonly string[];
  summary: string;
  /** Extra lines of help after the usage line. */
  details?: string;
  args: S;
  /** Argument names taken from positional words, in order. A list schema takes the rest. */
  positionals?: readonly (keyof z.infer<S> & string)[];
  short?: Readonly<Record<string, keyof z.infer<S> & string>>;
  /** 'authenticated': any logged-in user. */
  permission: Permission | 'authenticated';
  /** Changes state: writes one audit row per run. */
  mutating: boolean;
  /** Asks for confirmation (`--yes` on exec, a dialog in the TUI). */
  destructive?: boolean;
  /** Argument names whose values never reach the audit log. */
  secrets?: readonly string[];
  /** Surfaces the command is offered on (default: all). */
  surfaces?: readonly Surface[];
  /** Needs the session's stdin/stdout (not offered where there is none, e.g. Matrix). */
  needsIO?: boolean;
  run(ctx: CommandContext, args: z.infer<S>): Promise<Result>;
}

export type AnyCommand = CommandDefinition<z.ZodObject>;

export function defineCommand<S extends z.ZodObject>(def: CommandDefinition<S>): AnyCommand {
  return def as unknown as AnyCommand;
}

/** Options every command accepts; front-ends strip them before parsing. */
export interface GlobalFlags {
  help: boolean;
  json: boolean;
  yes: boolean;
}

export function splitGlobalFlags(argv: readonly string[]): { flags: GlobalFlags; rest: string[] } {
  const flags: GlobalFlags = { help: false, json: false, yes: false };
  const rest: string[] = [];
  let passthrough = false;
  for (const word of argv) {
    if (passthrough) rest.push(word);
    else if (word === '--') {
      passthrough = true;
      rest.push(word);
    } else if (word === '--help' || word === '-h') flags.help = true;
    else if (word === '--json') flags.json = true;
    else if (word === '--yes' || word === '-y') flags.yes = true;
    else rest.push(word);
  }
  return { flags, rest };
}

export interface Invocation {
  actor: Actor;
  argv: readonly string[];
  confirmed: boolean;
  io?: SessionIO;
  signal?: AbortSignal;
  onProgress?: (message: string) => void;
}

export interface CommandObserver {
  commandFinished(name: string, surface: Surface, outcome: string, seconds: number): void;
}

/** Re-reads an actor from the store (its user, its current role); throws PermissionDenied for a user that is gone. */
export type ActorResolver = (actor: Actor) => Actor;

export class Registry {
  private readonly commands = new Map<string, AnyCommand>();
  private observer: CommandObserver | undefined;
  private resolveActor: ActorResolver = (actor) => actor;

  constructor(readonly services: Services) {}

  setObserver(observer: CommandObserver): void {
    this.observer = observer;
  }

  /** How every command's actor is brought up to date, so a role change or a removed user counts on open connections too. */
  setActorResolver(resolver: ActorResolver): void {
    this.resolveActor = resolver;
  }

  register(...defs: AnyCommand[]): void {
    for (const def of defs) {
      const key = def.path.join(' ');
      if (this.commands.has(key)) throw new Error(`command '${key}' registered twice`);
      for (const name of def.positionals ?? []) {
        if (!(name in def.args.shape)) throw new Error(`command '${key}': positional '${name}' is not in its args`);
      }
      this.commands.set(key, def);
    }
  }

  all(): AnyCommand[] {
    return [...this.commands.values()].sort((a, b) => a.path.join(' ').localeCompare(b.path.join(' ')));
  }

  get(path: readonly string[]): AnyCommand | undefined {
    return this.commands.get(path.join(' '));
  }

  /** Finds the longest registered command path that prefixes the words. */
  resolve(words: readonly string[]): { command: AnyCommand; rest: string[] } | undefined {
    for (let n = Math.min(words.length, 4); n > 0; n--) {
      const command = this.commands.get(words.slice(0, n).join(' '));
      if (command) return { command, rest: words.slice(n) };
    }
    return undefined;
  }

  /** Commands whose path starts with these words (for "keys" → keys ls/add/rm). */
  group(words: readonly string[]): AnyCommand[] {
    const prefix = words.join(' ') + ' ';
    return this.all().filter((c) => c.path.join(' ').startsWith(prefix));
  }

  allowed(actor: Actor, command: AnyCommand): boolean {
    return command.permission === 'authenticated' || roleHas(this.services.rolePermissions, actor.role, command.permission);
  }

  offeredOn(command: AnyCommand, surface: Surface): boolean {
    return !command.surfaces || command.surfaces.includes(surface);
  }

  usage(command: AnyCommand): string {
    const shape = command.args.shape as Record<string, z.ZodType>;
    const positionals = command.positionals ?? [];
    const parts = [...command.path];
    for (const name of positionals) {
      const s = shape[name]!;
      const label = isListArg(s) ? `${name.toUpperCase()}...` : name.toUpperCase();
      parts.push(isRequired(s) ? label : `[${label}]`);
    }
    const shortOf = Object.fromEntries(Object.entries(command.short ?? {}).map(([k, v]) => [v, k]));
    const lines: string[] = [];
    for (const [key, s] of Object.entries(shape)) {
      if (positionals.includes(key)) continue;
      const flag = `--${kebab(key)}${shortOf[key] ? `, -${shortOf[key]}` : ''}${isBooleanFlag(s) ? '' : ` ${kebab(key).toUpperCase()}`}`;
      lines.push(`  ${flag.padEnd(26)} ${s.description ?? ''}`.trimEnd());
    }
    if (command.destructive) lines.push(`  ${'--yes, -y'.padEnd(26)} confirm (required: this command is destructive)`);
    lines.push(`  ${'--json'.padEnd(26)} print one JSON document`);
    lines.push(`  ${'--help, -h'.padEnd(26)} show this help`);
    const posHelp = positionals
      .map((name) => ({ name, d: shape[name]!.description }))
      .filter((p) => p.d)
      .map((p) => `  ${p.name.toUpperCase().padEnd(26)} ${p.d}`);
    return [`usage: ${parts.join(' ')} [FLAGS]`, '', command.summary, ...(command.details ? ['', command.details] : []), ...(posHelp.length ? ['', 'arguments:', ...posHelp] : []), '', 'flags:', ...lines].join('\n');
  }

  helpResult(command: AnyCommand): Result {
    const text = this.usage(command);
    return { kind: 'help', title: command.path.join(' '), text, json: { command: command.path.join(' '), summary: command.summary, usage: text, destructive: !!command.destructive, permission: command.permission } };
  }

  /**
   * The one path every front-end takes: resolve → authorize → parse → confirm → run → audit.
   * Authorization reads only the command's declared permission and the actor, never argument text.
   */
  async execute(invocation: Invocation, surface: Surface = invocation.actor.via): Promise<{ command: AnyCommand | undefined; result: Result }> {
    // The actor as the store says now, not as it was when the connection logged in.
    const inv = { ...invocation, actor: this.resolveActor(invocation.actor) };
    const { flags, rest } = splitGlobalFlags(inv.argv);
    const resolved = this.resolve(rest);
    if (!resolved) {
      const group = rest.length ? this.group(rest.slice(0, 1)).filter((c) => this.allowed(inv.actor, c)) : [];
      if (rest.length === 1 && group.length) {
        return { command: undefined, result: { kind: 'help', title: rest[0]!, text: this.listText(group), json: group.map((c) => ({ command: c.path.join(' '), summary: c.summary })) } };
      }
      const word = rest.slice(0, 2).join(' ');
      const err = new UsageError(rest.length ? `unknown command '${word.slice(0, 60)}' (try 'help')` : "no command given (try 'help')");
      throw err;
    }
    const { command } = resolved;
    if (!this.offeredOn(command, surface)) throw new UsageError(`'${command.path.join(' ')}' is not available here`);
    if (flags.help) return { command, result: this.helpResult(command) };

    const started = performance.now();
    let outcome = 'ok';
    let errorText: string | undefined;
    let auditArgs: Record<string, unknown> = { argv: rest.slice(command.path.length) };
    try {
      if (!this.allowed(inv.actor, command)) {
        throw new PermissionDenied(`permission denied: '${command.path.join(' ')}' needs ${command.permission} (you are ${inv.actor.role})`);
      }
      let args: Record<string, unknown>;
      try {
        const raw = parseArgv({ schema: command.args, positionals: command.positionals ?? [], short: command.short ?? {} }, resolved.rest);
        args = validateArgs(command.args, raw, command.positionals ?? []) as Record<string, unknown>;
      } catch (err) {
        if (err instanceof UsageError) err.commandPath = [...command.path];
        throw err;
      }
      auditArgs = redact(args, command.secrets ?? []);
      if (command.destructive && !inv.confirmed && !flags.yes) {
        const err = new UsageError(`'${command.path.join(' ')}' is destructive: add --yes to confirm`);
        err.commandPath = [...command.path];
        throw err;
      }
      const ctx = this.context(inv, surface, flags.json);
      const result = await command.run(ctx, args as never);
      return { command, result };
    } catch (err) {
      outcome = errorKind(err);
      errorText = err instanceof LabdError ? err.message : String((err as Error)?.message ?? err);
      if (!(err instanceof LabdError)) this.services.log.error({ err, command: command.path.join(' ') }, 'command crashed');
      throw err;
    } finally {
      const seconds = (performance.now() - started) / 1000;
      this.observer?.commandFinished(command.path.join(' '), surface, outcome, seconds);
      if (command.mutating) {
        recordAudit(this.services.db, {
          at: this.services.clock.now(),
          actor: inv.actor,
          command: command.path.join(' '),
          args: auditArgs,
          outcome,
          error: errorText,
          durationMs: Math.round(seconds * 1000),
        });
      }
    }
  }

  listText(commands: AnyCommand[]): string {
    const width = Math.max(...commands.map((c) => c.path.join(' ').length), 8) + 2;
    return commands.map((c) => `  ${c.path.join(' ').padEnd(width)}${c.summary}`).join('\n');
  }

  private context(inv: Invocation, surface: Surface, json: boolean): CommandContext {
    const actor = inv.actor;
    return {
      ...this.services,
      actor: { ...actor, via: surface },
      registry: this,
      io: inv.io,
      signal: inv.signal ?? new AbortController().signal,
      json,
      progress: (message) => inv.onProgress?.(message),
      can: (permission) => roleHas(this.services.rolePermissions, actor.role, permission),
    };
  }
}

function redact(args: Record<string, unknown>, secrets: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(args)) out[k] = secrets.includes(k) && v !== undefined ? '[redacted]' : v;
  return out;
}
