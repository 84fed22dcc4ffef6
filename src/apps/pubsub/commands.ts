import { z } from 'zod';
import { parseDuration } from '../../core/duration.ts';
import { UsageError } from '../../core/errors.ts';
import type { CommandContext, SessionIO } from '../../ops/context.ts';
import { commandHandle, defineCommand, type AnyCommand, type ResultOf } from '../../ops/registry.ts';
import type { AccessGrant, TopicBroker, TopicInfo } from './broker.ts';
import { parseTopic, parseUserList } from './names.ts';

const topicArg = z.string().describe('OWNER/NAME, or NAME for your own topic');
const accessArgs = {
  public: z.boolean().default(false).describe('make the topic public: anyone with pub/sub access may read and write it'),
  access: z.array(z.string()).default([]).describe('share the topic with these users (comma separated)'),
  clean: z.boolean().default(false).describe('no status lines on stderr'),
};
const accessShort = { p: 'public', a: 'access', c: 'clean' } as const;

const ACCESS_HELP = [
  'A bare NAME is your own topic (YOU/NAME); other users name it OWNER/NAME.',
  'Topics are private to their owner. The owner opens them to others with -p (public) or -a bob,carol;',
  'that access lasts while anyone is attached to the topic.',
].join('\n');

function sessionIO(ctx: CommandContext): SessionIO {
  if (!ctx.io) throw new UsageError('this command streams stdin/stdout, which this surface does not have');
  return ctx.io;
}

function grantOf(args: { public: boolean; access: string[] }): AccessGrant {
  return { public: args.public, share: parseUserList(args.access) };
}

/** `topics`, by its typed handle (the TUI's Pub/sub screen lists them). */
export const topicsList = commandHandle({ path: ['topics'], args: z.object({}) }).returns<ResultOf<'table', TopicInfo[]>>();

export function pubsubCommands(broker: TopicBroker): AnyCommand[] {
  /** Who may use a topic: the one rule every pub/sub command and the TUI tail go through. */
  const topicRule = (ctx: CommandContext, args: { topic: string; public: boolean; access: string[] }) =>
    broker.authorize(ctx.actor.name, parseTopic(args.topic, ctx.actor.name), grantOf(args));

  const sub = defineCommand({
    path: ['sub'],
    summary: 'Print what is published to a topic',
    details: `Ends when the topic's last publisher leaves, unless -k keeps it open.\nPublishers go at the pace of their fastest subscriber. Each subscriber has its own buffer;\none that falls more than pubsub.subscriberBuffer bytes behind is dropped (exit 1, with a\nmessage on stderr), so a slow or stalled subscriber never holds up the others.\n\n${ACCESS_HELP}`,
    args: z.object({ topic: topicArg, keep: z.boolean().default(false).describe('keep reading after the publishers leave'), ...accessArgs }),
    positionals: ['topic'],
    short: { k: 'keep', ...accessShort },
    permission: 'pubsub',
    mutating: false,
    results: ['streamed'],
    needsIO: true,
    // The TUI's tail is this command too (the same topic rule, metrics and all).
    surfaces: ['ssh', 'tui'],
    authorize: topicRule,
    async run(ctx, args) {
      const io = sessionIO(ctx);
      const topic = parseTopic(args.topic, ctx.actor.name);
      // sub reads nothing: discard stdin so its end (and the channel's close) is seen.
      io.stdin.resume();
      // Less in flight keeps the client's buffers small (many subscribers move more); what it holds back is slack.
      const slack = io.bulkOutput?.();
      await broker.subscribe({
        user: ctx.actor.name,
        topic,
        grant: grantOf(args),
        signal: ctx.signal,
        out: io.stdout,
        keep: args.keep,
        ...(slack ? { slack } : {}),
      });
      return { kind: 'streamed' };
    },
  });

  const pub = defineCommand({
    path: ['pub'],
    summary: 'Publish stdin to a topic',
    details: `Waits until a subscriber is connected (and again whenever none is left), unless -b=false:\nthen data nobody is subscribed to is dropped. Every subscriber gets everything.\n\n${ACCESS_HELP}`,
    args: z.object({
      topic: topicArg,
      block: z.boolean().default(true).describe('wait for a subscriber (-b=false: drop data nobody takes)'),
      timeout: z.string().optional().describe('give up waiting for a subscriber after this long (e.g. 30s, 5m)'),
      empty: z.boolean().default(false).describe('send nothing, do not read stdin: just wake the subscribers'),
      ...accessArgs,
    }),
    positionals: ['topic'],
    short: { b: 'block', t: 'timeout', e: 'empty', ...accessShort },
    permission: 'pubsub',
    mutating: false,
    results: ['streamed'],
    needsIO: true,
    surfaces: ['ssh'],
    authorize: topicRule,
    async run(ctx, args) {
      const io = sessionIO(ctx);
      const topic = parseTopic(args.topic, ctx.actor.name);
      const timeoutMs = args.timeout ? parseDuration(args.timeout, '--timeout') * 1000 : undefined;
      if (args.empty) io.stdin.resume();
      await broker.publish({
        user: ctx.actor.name,
        topic,
        grant: grantOf(args),
        signal: ctx.signal,
        input: args.empty ? undefined : io.stdin,
        block: args.block,
        timeoutMs,
        onWaiting: args.clean ? undefined : () => ctx.progress(`waiting for a subscriber on ${topic.key} (sub ${topic.key})`),
      });
      return { kind: 'streamed' };
    },
  });

  const pipe = defineCommand({
    path: ['pipe'],
    summary: 'Read and write a topic: stdin goes to everyone else on it',
    details: `Every other pipe client and subscriber of the topic gets this client's stdin;\nthis client prints what the others send. Ends when stdin ends.\n\n${ACCESS_HELP}`,
    args: z.object({ topic: topicArg, replay: z.boolean().default(false).describe('also print what this client sends'), ...accessArgs }),
    positionals: ['topic'],
    short: { r: 'replay', ...accessShort },
    permission: 'pubsub',
    mutating: false,
    results: ['streamed'],
    needsIO: true,
    surfaces: ['ssh'],
    authorize: topicRule,
    async run(ctx, args) {
      const io = sessionIO(ctx);
      const topic = parseTopic(args.topic, ctx.actor.name);
      await broker.pipe({ user: ctx.actor.name, topic, grant: grantOf(args), signal: ctx.signal, input: io.stdin, out: io.stdout, replay: args.replay });
      return { kind: 'streamed' };
    },
  });

  const topics = defineCommand(topicsList, {
    summary: 'List the live pub/sub topics you may use',
    permission: 'pubsub',
    mutating: false,
    results: ['table'],
    async run(ctx) {
      const list = broker.visibleTo(ctx.actor.name);
      return {
        kind: 'table',
        columns: [
          { key: 'topic', label: 'TOPIC' },
          { key: 'access', label: 'ACCESS' },
          { key: 'subscribers', label: 'SUBS' },
          { key: 'publishers', label: 'PUBS' },
          { key: 'pipes', label: 'PIPES' },
          { key: 'waiting', label: 'WAITING' },
        ],
        rows: list.map((t) => ({ ...t, access: t.sharedWith?.length ? `shared: ${t.sharedWith.join(',')}` : t.access })),
        empty: 'no live topics you may use',
        json: list,
      };
    },
  });

  return [sub, pub, pipe, topics];
}
