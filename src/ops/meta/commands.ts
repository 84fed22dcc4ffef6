import { z } from 'zod';
import { UsageError } from '../../core/errors.ts';
import { defineCommand, type AnyCommand } from '../registry.ts';

const help = (labdVersion: string) =>
  defineCommand({
  path: ['help'],
  summary: 'List the commands you may run, or show one command\'s usage',
  args: z.object({ command: z.array(z.string()).default([]).describe('a command, e.g. keys add') }),
  positionals: ['command'],
  permission: 'authenticated',
  mutating: false,
  results: ['help'],
  async run(ctx, args) {
    const registry = ctx.registry;
    if (args.command.length) {
      const found = registry.resolve(args.command);
      if (found && found.rest.length === 0) return registry.helpResult(found.command);
      const group = registry.group(args.command).filter((c) => registry.allowed(ctx.actor, c));
      if (group.length) return { kind: 'help', title: args.command.join(' '), text: registry.listText(group), json: group.map((c) => ({ command: c.path.join(' '), summary: c.summary })) };
      throw new UsageError(`unknown command '${args.command.join(' ').slice(0, 60)}'`);
    }
    const commands = registry.all().filter((c) => registry.allowed(ctx.actor, c) && registry.offeredOn(c, ctx.actor.via));
    const text = [`labd ${labdVersion}: commands you may run`, '', registry.listText(commands), '', "Every command takes --help and --json; destructive ones need --yes."].join('\n');
    return { kind: 'help', title: 'help', text, json: commands.map((c) => ({ command: c.path.join(' '), summary: c.summary, destructive: !!c.destructive })) };
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
