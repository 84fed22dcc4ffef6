import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import type { Actor, Surface } from '../core/actor.ts';
import { errorKind, LabdError, PermissionDenied, Unavailable, UsageError } from '../core/errors.ts';
import type { BackendName, Backends, BackendStatus } from './backends.ts';
import { tablePermissions, type Permission, type PermissionCheck } from '../core/permissions.ts';
import { isBooleanFlag, isListArg, isRequired, kebab, parseArgv, validateArgs, type ArgSpec } from './args.ts';
import type { Readable, Writable } from 'node:stream';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { RolePermissions } from '../core/permissions.ts';
import { closest } from '../core/suggest.ts';
import type { AuditEntry, AuditLog } from './audit/store.ts';
import type { Result, ResultKind } from './result.ts';

/**
 * What the registry itself needs. Commands get their stores and adapters from their module's
 * factory (a closure), never from here: there is no catch-all config or database handle.
 */
export interface Services {
  log: Logger;
  clock: Clock;
  /** The seed role → permission table (what `permissions` starts from; alone in tests without an access module). */
  rolePermissions: RolePermissions;
  /** The live answer to "may this actor do that" (role table as admins changed it, user grants): src/ops/access. */
  permissions?: PermissionCheck;
  audit: AuditLog;
  /** Which backends (Kubernetes, Alertmanager, Matrix) are configured and reachable. */
  backends: Backends;
  /** Told of every finished command (metrics). */
  observer?: CommandObserver;
  /** How every command's actor is brought up to date, so a role change or a removed user counts on open connections too. */
  resolveActor?: ActorResolver;
  /** Runs a function in one database transaction (the storage's `write`): a command's change and its audit row. */
  transaction?: <T>(fn: () => Promise<T>) => Promise<T>;
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
  /**
   * Says stdout is one bulk stream the client drains at its own pace (a clone, a download, `sub`): the
   * front-end may then keep less of it in flight (SSH: src/ssh/flow-control.ts, unackedLimit). Returns
   * how many bytes the client would still take at once had it been offered its whole window, which a
   * stream with a drop policy of its own counts as slack (pub/sub).
   */
  bulkOutput?: () => () => number;
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
  /** Every permission the actor holds now (its role's and its own grants, denials taken out). */
  permissionsHeld(): Permission[];
  /**
   * Adds what the command did to its audit row, beside its (redacted) arguments: the account a `join`
   * created, say, which its arguments cannot tell. Never a secret.
   */
  auditDetail(fields: Record<string, unknown>): void;
}

export interface CommandDefinition<S extends z.ZodObject = z.ZodObject, R extends Result = Result> {
  /** The command words, e.g. ['keys', 'add']. */
  path: readonly string[];
  summary: string;
  /** Extra lines of help after the usage line. */
  details?: string;
  args: S;
  /** Argument names taken from positional words, in order. A list schema takes the rest. */
  positionals?: readonly (keyof z.infer<S> & string)[];
  short?: Readonly<Record<string, keyof z.infer<S> & string>>;
  /** Words that look like flags but name none are taken as positional words (`crm tag 3 +work -old`). */
  dashWords?: boolean;
  /** Flags whose value runs on over the next words that match (a phone number typed with spaces; see ArgSpec). */
  continued?: Readonly<Partial<Record<keyof z.infer<S> & string, RegExp>>>;
  /** 'authenticated': any logged-in user. */
  permission: Permission | 'authenticated';
  /**
   * Offered to anonymous actors (keyless logins, git.anonAccess): only the git fetch commands. For them
   * the role permission is not consulted; the command's `authorize` decides.
   */
  anonymous?: boolean;
  /** Offered to a proven key that has no account yet (`join`, `help`): the sign-up policy decides what it may create. */
  newcomer?: boolean;
  /**
   * Spoken by a program over the session's streams (git's transport), never by a person: an SSH session
   * of a key that is linked to nobody runs it at once as anonymous, never after a login prompt (issue #12).
   */
  protocol?: boolean;
  /** Changes state: writes one audit row per run. */
  mutating: boolean;
  /**
   * Whether the change and its audit row commit in one transaction (the default for a mutating command).
   * Not for one that waits on the world while it runs (a session's stdin, a backend, a person, a long
   * import): it makes its changes in transactions of its own and the audit row follows; the registry
   * already treats needsIO, protocol and backend commands so.
   */
  atomic?: boolean;
  /**
   * The result kinds `run` returns. Every surface the command is offered on must render each of them
   * (test/renderers.test.ts), and the registry refuses a result of an undeclared kind.
   */
  results: readonly ResultKind[];
  /** Asks for confirmation (`--yes` on exec, a dialog in the TUI). */
  destructive?: boolean;
  /** Argument names whose values never reach the audit log. */
  secrets?: readonly string[];
  /** Surfaces the command is offered on (default: all). */
  surfaces?: readonly Surface[];
  /** Why it is not offered on the other surfaces (told to whoever asks there). */
  surfacesWhy?: string;
  /** Needs the session's stdin/stdout (not offered where there is none, e.g. Matrix). */
  needsIO?: boolean;
  /**
   * Per-resource rules (owner of a paste, reader of a topic), run by the registry after the permission
   * check and validation, before confirmation: throws PermissionDenied (or NotFound, to hide what exists).
   */
  authorize?(ctx: CommandContext, args: z.infer<S>): void | Promise<void>;
  /** The backend the command talks to: while it is not configured the command says so and exits 1. */
  backend?: BackendName;
  /**
   * What to set while the command cannot work with this configuration (a section of its own, not a
   * backend: `seats.endpoint`), so front-ends can mark it before anyone tries (the TUI's home menu).
   */
  notConfigured?(): string | undefined;
  run(ctx: CommandContext, args: z.infer<S>): Promise<R>;
}

export type AnyCommand = CommandDefinition<z.ZodObject>;

/** A result whose JSON document has a known type: what a screen reads of it. */
export type ResultOf<K extends ResultKind, J> = Extract<Result, { kind: K }> & { json: J };

/**
 * A command's typed handle: its words and argument schema, and (as a type only) its result. The
 * module defines the command from it (`defineCommand(handle, {...})`, whose `run` must return that
 * result) and exports it, so front-ends call the command by it (`registry.call`, the TUI's
 * `ctx.call`) with typed arguments and a typed result: renaming a command or a field breaks the
 * build, not a screen at run time.
 */
export interface CommandHandle<S extends z.ZodObject = z.ZodObject, R extends Result = Result> {
  readonly path: readonly string[];
  readonly args: S;
  /** Type only, never set: the result the command returns. */
  readonly result?: R;
}

/** `commandHandle({ path, args }).returns<ResultOf<'table', Row[]>>()`: a handle (the result type given apart, as TS cannot infer half of the parameters). */
export function commandHandle<S extends z.ZodObject>(handle: { path: readonly string[]; args: S }): { returns<R extends Result>(): CommandHandle<S, R> } {
  return { returns: () => handle };
}

/** Defines a command: from its whole definition, or from its typed handle and the rest (then `run` must return the handle's result). */
export function defineCommand<S extends z.ZodObject>(def: CommandDefinition<S>): AnyCommand;
export function defineCommand<S extends z.ZodObject, R extends Result>(
  handle: CommandHandle<S, R>,
  // NoInfer: the result type is the handle's; a `run` returning anything wider is an error, not a wider R.
  def: Omit<CommandDefinition<NoInfer<S>, NoInfer<R>>, 'path' | 'args'>,
): AnyCommand;
export function defineCommand(first: CommandDefinition | CommandHandle, rest?: Omit<CommandDefinition, 'path' | 'args'>): AnyCommand {
  const def = rest ? { ...rest, path: first.path, args: first.args } : first;
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

/** No command by those words: each front-end adds how to list the commands there (`help`, `!lab help`). */
export class UnknownCommand extends UsageError {}

const SURFACE_NAMES: Record<Surface, string> = { ssh: 'SSH', tui: 'the terminal UI', matrix: 'Matrix', http: 'HTTP', system: 'labd itself' };

export interface InvokeOptions {
  /** The user confirmed a destructive command (TUI dialog, ✅ in Matrix, `--yes`). */
  confirmed?: boolean;
  io?: SessionIO;
  signal?: AbortSignal;
  onProgress?: (message: string) => void;
  /** The front-end will render JSON. */
  json?: boolean;
  /** Where the call comes from when it differs from the actor's own surface (the TUI of an SSH login). */
  surface?: Surface;
}

export interface Invocation extends Omit<InvokeOptions, 'confirmed' | 'surface' | 'json'> {
  actor: Actor;
  argv: readonly string[];
  confirmed: boolean;
}

/** Arguments as they arrive: words to parse (SSH exec, Matrix text) or typed values (TUI, reactions, HTTP). */
type Arguments = { kind: 'argv'; words: readonly string[] } | { kind: 'typed'; values: Record<string, unknown> };

export interface CommandObserver {
  commandFinished(name: string, surface: Surface, outcome: string, seconds: number): void;
}

/** Re-reads an actor from the store (its user, its current role); throws PermissionDenied for a user that is gone. */
export type ActorResolver = (actor: Actor) => Actor | Promise<Actor>;

export class Registry {
  private readonly commands = new Map<string, AnyCommand>();
  private readonly observer: CommandObserver | undefined;
  private readonly resolveActor: ActorResolver;

  constructor(readonly services: Services) {
    this.observer = services.observer;
    this.resolveActor = services.resolveActor ?? ((actor) => actor);
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

  /** ` (did you mean 'repo ls'?)` for words close to commands the actor may run, else ''. */
  private didYouMean(actor: Actor, words: readonly string[]): string {
    const pairs = this.all()
      .filter((c) => c.path.length <= words.length && this.allowed(actor, c))
      .map((c) => ({ typed: words.slice(0, c.path.length).join(' '), name: c.path.join(' ') }));
    const found = closest(pairs).map((n) => `'${n}'`);
    return found.length ? ` (did you mean ${found.join(' or ')}?)` : '';
  }

  allowed(actor: Actor, command: AnyCommand): boolean {
    if (actor.credential?.kind === 'anonymous') return command.anonymous === true;
    // A key with no account yet (sign-up policy lets it try): only what signs up (join) and help.
    if (actor.credential?.kind === 'newcomer') return command.newcomer === true;
    return command.permission === 'authenticated' || this.can(actor, command.permission);
  }

  /** The permission table as it is now (admins change it at run time): role grants and the user's own grants. */
  get permissions(): PermissionCheck {
    return (this.services.permissions ??= tablePermissions(this.services.rolePermissions));
  }

  /** Whether the actor holds a permission now (deny beats allow). */
  can(actor: Actor, permission: Permission): boolean {
    if (actor.credential?.kind === 'anonymous' || actor.credential?.kind === 'newcomer') return false;
    return this.permissions.can(actor, permission);
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
    return [
      `usage: ${parts.join(' ')} [FLAGS]`,
      '',
      command.summary,
      ...(command.details ? ['', command.details] : []),
      ...(posHelp.length ? ['', 'arguments:', ...posHelp] : []),
      '',
      'flags:',
      ...lines,
    ].join('\n');
  }

  helpResult(command: AnyCommand): Result {
    const text = this.usage(command);
    return {
      kind: 'help',
      title: command.path.join(' '),
      text,
      json: { command: command.path.join(' '), summary: command.summary, usage: text, destructive: !!command.destructive, permission: command.permission },
    };
  }

  /**
   * Runs a command from words (SSH exec, Matrix text): resolve, then the one path of `call`.
   * Authorization reads only the command's declared permission, the actor and the command's own
   * `authorize` on validated arguments, never argument text in a front-end.
   */
  async execute(invocation: Invocation, surface: Surface = invocation.actor.via): Promise<{ command: AnyCommand | undefined; result: Result }> {
    // The actor as the store says now, not as it was when the connection logged in.
    const inv = { ...invocation, actor: await this.resolveActor(invocation.actor) };
    const { flags, rest } = splitGlobalFlags(inv.argv);
    const resolved = this.resolve(rest);
    if (!resolved) {
      const group = rest.length ? this.group(rest.slice(0, 1)).filter((c) => this.allowed(inv.actor, c)) : [];
      if (rest.length === 1 && group.length) {
        return {
          command: undefined,
          result: { kind: 'help', title: rest[0]!, text: this.listText(group), json: group.map((c) => ({ command: c.path.join(' '), summary: c.summary })) },
        };
      }
      const word = rest.slice(0, 2).join(' ');
      throw new UnknownCommand(rest.length ? `unknown command '${word.slice(0, 60)}'${this.didYouMean(inv.actor, rest)}` : 'no command given');
    }
    const { command } = resolved;
    if (!this.offeredOn(command, surface)) throw new UsageError(this.notOfferedText(command, surface));
    if (flags.help) return { command, result: this.helpResult(command) };
    const result = await this.call(
      command,
      inv.actor,
      { kind: 'argv', words: resolved.rest },
      { ...inv, confirmed: inv.confirmed || flags.yes, json: flags.json, surface },
    );
    return { command, result };
  }

  /**
   * Parses words into a command and its arguments, checked, without running anything (a front-end
   * that asks for confirmation first keeps the typed call, not the text). Throws UsageError.
   */
  parse(argv: readonly string[]): { command: AnyCommand; args: Record<string, unknown>; flags: GlobalFlags } {
    const { flags, rest } = splitGlobalFlags(argv);
    const resolved = this.resolve(rest);
    if (!resolved) throw new UnknownCommand(`unknown command '${rest.slice(0, 2).join(' ').slice(0, 60)}'`);
    const { command } = resolved;
    const raw = parseArgv(argSpec(command), resolved.rest);
    validateArgs(command.args, raw, command.positionals ?? []);
    // The arguments as given (validated): `invoke` validates them again, and a transformed value might not pass twice.
    return { command, args: raw, flags };
  }

  /**
   * Runs a command with typed arguments (the TUI, Matrix reactions and confirmations, HTTP pages):
   * the same path as `execute`, without the text. By the command's typed handle, the arguments are
   * the schema's input type and the result the one the command was defined to return (from this
   * very handle: checked); by its words, both are untyped.
   */
  invoke<S extends z.ZodObject, R extends Result>(actor: Actor, handle: CommandHandle<S, R>, args: z.input<S>, opts?: InvokeOptions): Promise<R>;
  invoke(actor: Actor, path: readonly string[], args: Record<string, unknown>, opts?: InvokeOptions): Promise<Result>;
  async invoke(actor: Actor, target: readonly string[] | CommandHandle, args: Record<string, unknown>, opts: InvokeOptions = {}): Promise<Result> {
    const path = isHandle(target) ? target.path : target;
    const command = this.get(path);
    if (!command) throw new UnknownCommand(`unknown command '${path.join(' ').slice(0, 60)}'`);
    if (isHandle(target) && command.args !== target.args) throw new Error(`command '${path.join(' ')}' was not defined from its handle`);
    const surface = opts.surface ?? actor.via;
    if (!this.offeredOn(command, surface)) throw new UsageError(this.notOfferedText(command, surface));
    // As in `execute`: the actor as the store says now, not as it was when the connection logged in.
    return this.call(command, await this.resolveActor(actor), { kind: 'typed', values: args }, { ...opts, surface });
  }

  /** authorize (permission, then the command's own rule) → validate → confirm → run → audit → metrics. */
  private async call(command: AnyCommand, actor: Actor, input: Arguments, opts: InvokeOptions & { surface: Surface }): Promise<Result> {
    const started = performance.now();
    const name = command.path.join(' ');
    let outcome = 'ok';
    let errorText: string | undefined;
    // Until the arguments are validated, the audit row holds only what redaction can vouch for.
    let auditArgs = unvalidatedAuditArgs(command, input);
    const auditDetails: Record<string, unknown> = {};
    let audited = false;
    const auditEntry = (outcomeNow: string, error?: string): AuditEntry => ({
      at: this.services.clock.now(),
      actor: { ...actor, via: opts.surface },
      command: name,
      args: { ...auditArgs, ...auditDetails },
      outcome: outcomeNow,
      error,
      durationMs: Math.round(performance.now() - started),
    });
    try {
      if (!this.allowed(actor, command)) {
        if (actor.credential?.kind === 'anonymous' && actor.credential.fingerprint)
          throw new PermissionDenied(
            `permission denied: this key is linked to no account, so only git clone and fetch work ('${name}' needs an account): log in with  ssh HOST login`,
          );
        if (actor.credential?.kind === 'anonymous')
          throw new PermissionDenied(`permission denied: without a key only git clone and fetch work ('${name}' needs a registered key)`);
        if (actor.credential?.kind === 'newcomer')
          throw new PermissionDenied(`permission denied: this key has no account yet; sign up with: join CODE (see help join)`);
        if (command.permission !== 'authenticated' && this.permissions.deniedToUser?.(actor, command.permission))
          throw new PermissionDenied(`permission denied: '${name}' needs ${command.permission}, which is denied to your account (user deny)`);
        throw new PermissionDenied(`permission denied: '${name}' needs ${command.permission} (you are ${actor.role})`);
      }
      let args: Record<string, unknown>;
      try {
        const raw = input.kind === 'argv' ? parseArgv(argSpec(command), input.words) : input.values;
        args = validateArgs(command.args, raw, command.positionals ?? []) as Record<string, unknown>;
      } catch (err) {
        if (err instanceof UsageError) err.commandPath = [...command.path];
        throw err;
      }
      auditArgs = redact(args, command.secrets ?? []);
      const ctx = this.context(actor, opts, auditDetails);
      await command.authorize?.(ctx, args as never);
      const backend = this.backendOf(command);
      if (backend && !backend.configured) throw new Unavailable(backend.notConfigured);
      if (command.destructive && !opts.confirmed) {
        const err = new UsageError(`'${name}' is destructive: add --yes to confirm`);
        err.commandPath = [...command.path];
        throw err;
      }
      const runChecked = async (): Promise<Result> => {
        const result = await command.run(ctx, args as never);
        if (!command.results.includes(result.kind)) throw new Error(`'${name}' returned a ${result.kind} result but declares ${command.results.join(', ')}`);
        return result;
      };
      const transaction = this.services.transaction;
      if (!transaction || !atomicCommand(command)) return await runChecked();
      // The change and its audit row commit together: if the row cannot be written, nothing changed.
      const result = await transaction(async () => {
        const r = await runChecked();
        await this.services.audit.record(auditEntry('ok'));
        return r;
      });
      audited = true;
      return result;
    } catch (err) {
      outcome = errorKind(err);
      errorText = err instanceof LabdError ? err.message : String((err as Error)?.message ?? err);
      if (!(err instanceof LabdError)) this.services.log.error({ err, command: name }, 'command crashed');
      throw err;
    } finally {
      const seconds = (performance.now() - started) / 1000;
      this.observer?.commandFinished(name, opts.surface, outcome, seconds);
      if (command.mutating && !audited) {
        try {
          await this.services.audit.record(auditEntry(outcome, errorText));
        } catch (err) {
          this.services.log.error({ err, command: name }, 'could not write the audit row');
          // A change made outside a transaction (it waited on a session, a backend or a person) cannot be
          // undone; its caller is told it went unrecorded. A refused or failed command keeps its own error.
          if (outcome === 'ok') throw new Unavailable(`'${name}' ran, but its audit row could not be written: ${(err as Error).message}`);
        }
      }
    }
  }

  /** Why a command is refused on a surface: where it runs instead, and why. */
  notOfferedText(command: AnyCommand, surface: Surface): string {
    const where = (command.surfaces ?? [])
      .filter((s) => s !== 'system')
      .map((s) => SURFACE_NAMES[s])
      .join(' and ');
    return `'${command.path.join(' ')}' is not available in ${SURFACE_NAMES[surface]}, only over ${where}${command.surfacesWhy ? `: ${command.surfacesWhy}` : ''}`;
  }

  /** The status of the command's backend (undefined: it needs none, or its module declared none). */
  backendOf(command: AnyCommand): BackendStatus | undefined {
    return command.backend ? this.services.backends.get(command.backend) : undefined;
  }

  listText(commands: AnyCommand[]): string {
    const width = Math.max(...commands.map((c) => c.path.join(' ').length), 8) + 2;
    return commands.map((c) => `  ${c.path.join(' ').padEnd(width)}${c.summary}`).join('\n');
  }

  private context(actor: Actor, opts: InvokeOptions & { surface: Surface }, auditDetails: Record<string, unknown>): CommandContext {
    return {
      log: this.services.log,
      clock: this.services.clock,
      rolePermissions: this.services.rolePermissions,
      actor: { ...actor, via: opts.surface },
      registry: this,
      io: opts.io,
      signal: opts.signal ?? new AbortController().signal,
      json: opts.json ?? false,
      progress: (message) => opts.onProgress?.(message),
      can: (permission) => this.can(actor, permission),
      permissionsHeld: () => (actor.credential?.kind === 'newcomer' ? [] : this.permissions.permissionsOf(actor)),
      auditDetail: (fields) => Object.assign(auditDetails, fields),
    };
  }
}

/** How a command's words are parsed. */
function argSpec(command: AnyCommand): ArgSpec {
  return {
    schema: command.args,
    positionals: command.positionals ?? [],
    short: command.short ?? {},
    dashWords: command.dashWords,
    continued: command.continued as ArgSpec['continued'],
  };
}

function isHandle(target: readonly string[] | CommandHandle): target is CommandHandle {
  return !Array.isArray(target);
}

const REDACTED = '[redacted]';

function redact(args: Record<string, unknown>, secrets: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(args)) out[k] = secrets.includes(k) && v !== undefined ? REDACTED : v;
  return out;
}

/**
 * The audit args of a call refused or malformed before validation. Without secrets, the words as
 * given. With secrets: the parsed words with secret values redacted, or nothing of the words when
 * they do not even parse (a secret may sit anywhere in them).
 */
function unvalidatedAuditArgs(command: AnyCommand, input: Arguments): Record<string, unknown> {
  const secrets = command.secrets ?? [];
  if (input.kind === 'typed') return redact(input.values, secrets);
  if (!secrets.length) return { argv: [...input.words] };
  try {
    return redact(parseArgv(argSpec(command), input.words), secrets);
  } catch {
    return { argv: REDACTED };
  }
}

/** Whether a mutating command runs in one transaction with its audit row (see CommandDefinition.atomic). */
export function atomicCommand(command: AnyCommand): boolean {
  return command.mutating && command.atomic !== false && !command.needsIO && !command.protocol && !command.backend;
}
