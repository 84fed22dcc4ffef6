import { z } from 'zod';
import { UsageError } from '../../core/errors.ts';
import type { BackendName } from '../backends.ts';
import { defineCommand, type AnyCommand } from '../registry.ts';

/** Appended to the summary of a command whose backend is not configured. */
export const NOT_CONFIGURED_MARK = '[not configured]';

const help = (labdVersion: string) =>
  defineCommand({
    path: ['help'],
    summary: "List the commands you may run, or show one command's usage",
    args: z.object({ command: z.array(z.string()).default([]).describe('a command, e.g. keys add') }),
    positionals: ['command'],
    permission: 'authenticated',
    newcomer: true,
    mutating: false,
    results: ['help'],
    async run(ctx, args) {
      const registry = ctx.registry;
      if (args.command.length) {
        const found = registry.resolve(args.command);
        if (found && found.rest.length === 0) return registry.helpResult(found.command);
        const group = registry.group(args.command).filter((c) => registry.allowed(ctx.actor, c));
        if (group.length)
          return {
            kind: 'help',
            title: args.command.join(' '),
            text: registry.listText(group),
            json: group.map((c) => ({ command: c.path.join(' '), summary: c.summary })),
          };
        throw new UsageError(`unknown command '${args.command.join(' ').slice(0, 60)}'`);
      }
      const commands = registry.all().filter((c) => registry.allowed(ctx.actor, c) && registry.offeredOn(c, ctx.actor.via));
      const missing = new Map<BackendName, string>();
      for (const c of commands) {
        const b = registry.backendOf(c);
        if (b && !b.configured) missing.set(b.name, b.notConfigured);
      }
      const marked = commands.map((c) => (registry.backendOf(c)?.configured === false ? { ...c, summary: `${c.summary} ${NOT_CONFIGURED_MARK}` } : c));
      const text = [
        `labd ${labdVersion}: commands you may run`,
        '',
        registry.listText(marked),
        '',
        'Every command takes --help and --json; destructive ones need --yes.',
        ...[...missing.values()].map((line) => `${NOT_CONFIGURED_MARK} ${line}`),
      ].join('\n');
      return {
        kind: 'help',
        title: 'help',
        text,
        json: commands.map((c) => {
          const b = registry.backendOf(c);
          return {
            command: c.path.join(' '),
            summary: c.summary,
            destructive: !!c.destructive,
            mutating: c.mutating,
            ...(b ? { backend: b.name, configured: b.configured, reachable: b.reachable } : {}),
          };
        }),
      };
    },
  });

const version = (labdVersion: string) =>
  defineCommand({
    path: ['version'],
    summary: 'Show the labd version',
    args: z.object({}),
    permission: 'authenticated',
    mutating: false,
    results: ['message'],
    async run() {
      return { kind: 'message', text: `labd ${labdVersion}`, json: { version: labdVersion, node: process.version } };
    },
  });

/** help and version: the module every labd has. */
export function metaCommands(labdVersion: string): AnyCommand[] {
  return [help(labdVersion), version(labdVersion)];
}
