/** `alerts`, `ack`, `unack` (design §2.1): the same commands over SSH, the TUI and Matrix. */
import { z } from 'zod';
import { parseDuration, formatDuration } from '../../core/duration.ts';
import { UsageError } from '../../core/errors.ts';
import { freeText } from '../args.ts';
import { commandHandle, defineCommand, type AnyCommand, type ResultOf } from '../registry.ts';
import type { Result } from '../result.ts';
import { groupJson, groupRow } from './format.ts';
import type { AckLength, AlertService } from './service.ts';
import type { AlertGroupView } from './view.ts';

const alertId = z.string().describe('the alert group id shown by `alerts`');

export function parseAlertId(text: string): number {
  const m = /^#?(\d{1,12})$/.exec(text.trim());
  if (!m) throw new UsageError(`ALERT: expected the id shown by 'alerts' (e.g. 12), got '${JSON.stringify(text.slice(0, 40)).slice(1, -1)}'`);
  return Number(m[1]);
}

function groupRecord(title: string, g: AlertGroupView, now: Date): Result {
  const row = groupRow(g, now);
  return {
    kind: 'record',
    title,
    fields: [
      { label: 'id', value: g.id },
      { label: 'state', value: row.state },
      { label: 'group', value: row.group },
      { label: 'summary', value: row.summary },
      { label: 'alerts', value: row.alerts },
      ...(g.ack
        ? [
            { label: 'acknowledged by', value: g.ack.by },
            { label: 'until', value: g.ack.until.toISOString() },
            ...(g.ack.holdUntil ? [{ label: 'held while firing, at most until', value: g.ack.holdUntil.toISOString() }] : []),
            { label: 'comment', value: g.ack.comment },
            { label: 'silences', value: g.ack.silenceIds.join(' ') },
          ]
        : []),
    ],
    json: groupJson(g),
  };
}

export interface AlertCommandOptions {
  /** An ack without --for holds while the group fires: silences of this step, extended up to the maximum. */
  holdStepSeconds: number;
  holdMaxSeconds: number;
  maxAckSeconds: number;
}

/** Typed handles of the alert commands the TUI's Alerts screen calls. */
export const alertAck = commandHandle({
  path: ['ack'],
  args: z.object({
    alert: alertId,
    for: z.string().optional().describe('how long: 30m, 2h, 1d'),
    comment: freeText(500, 'why, or what you are doing (the rest of the line)'),
  }),
}).returns<Result>();

export const alertUnack = commandHandle({ path: ['unack'], args: z.object({ alert: alertId }) }).returns<Result>();

/** `alerts`, by its typed handle (the TUI's home strip reads its groups). */
export const alertsList = commandHandle({
  path: ['alerts'],
  args: z.object({ all: z.boolean().default(false).describe('include acknowledged and resolved groups') }),
}).returns<ResultOf<'table', ReturnType<typeof groupJson>[]>>();

export function alertCommands(service: AlertService, opts: AlertCommandOptions): AnyCommand[] {
  const list = defineCommand(alertsList, {
    summary: 'List firing alert groups nobody acknowledged yet (--all: also acknowledged and resolved ones)',
    short: { a: 'all' },
    permission: 'ops.read',
    mutating: false,
    results: ['table'],
    async run(ctx, args) {
      const groups = await service.store.list(args.all);
      const now = ctx.clock.now();
      return {
        kind: 'table',
        columns: [
          { key: 'id', label: 'ID' },
          { key: 'state', label: 'STATE', priority: 3 },
          { key: 'group', label: 'GROUP', priority: 2 },
          { key: 'summary', label: 'SUMMARY', priority: -1 },
          { key: 'alerts', label: 'FIRING' },
          { key: 'since', label: 'SINCE' },
          { key: 'ack', label: 'ACKNOWLEDGED' },
        ],
        rows: groups.map((g) => groupRow(g, now)),
        empty: args.all ? 'no alerts received yet' : 'no unacknowledged firing alerts',
        json: groups.map(groupJson),
      };
    },
  });

  const ack = defineCommand(alertAck, {
    summary: 'Acknowledge an alert group: silence exactly its alerts in Alertmanager',
    details: `example: ack 12 --for 2h looking at the disk\nThe comment is the words after the alert id and flags (no quotes needed; put it after -- if it starts with -).\nEach firing alert of the group gets a silence with exact matchers on all its labels (comment "ACK! USER: COMMENT").\nWithout --for the acknowledgement holds while the group fires: silences of ${formatDuration(opts.holdStepSeconds)}, extended before they end, for at most ${formatDuration(opts.holdMaxSeconds)}; they are expired when the group resolves. --for: at most ${formatDuration(opts.maxAckSeconds)}. Acknowledging again replaces the silences.`,
    positionals: ['alert', 'comment'],
    permission: 'ops.alerts',
    mutating: true,
    results: ['record'],
    async run(ctx, args): Promise<Result> {
      const id = parseAlertId(args.alert);
      const length: AckLength =
        args.for === undefined
          ? { kind: 'hold', stepSeconds: opts.holdStepSeconds, maxSeconds: opts.holdMaxSeconds }
          : { kind: 'fixed', seconds: parseDuration(args.for, '--for') };
      if (length.kind === 'fixed' && length.seconds > opts.maxAckSeconds) throw new UsageError(`--for: at most ${formatDuration(opts.maxAckSeconds)}`);
      const group = await service.ack(id, ctx.actor, length, args.comment, ctx.signal);
      return groupRecord(`acknowledged alert group ${id}`, group, ctx.clock.now());
    },
  });

  const unack = defineCommand(alertUnack, {
    summary: 'Take back an acknowledgement: expire its silences',
    positionals: ['alert'],
    permission: 'ops.alerts',
    mutating: true,
    results: ['record'],
    async run(ctx, args): Promise<Result> {
      const id = parseAlertId(args.alert);
      const group = await service.unack(id, ctx.actor, ctx.signal);
      return groupRecord(`alert group ${id} is no longer acknowledged`, group, ctx.clock.now());
    },
  });

  return [list, ack, unack];
}
