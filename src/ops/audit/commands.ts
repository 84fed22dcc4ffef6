import { z } from 'zod';
import { parseDuration } from '../../core/duration.ts';
import { defineCommand, type AnyCommand } from '../registry.ts';
import type { AuditLog } from './store.ts';

export function auditCommands(log: AuditLog): AnyCommand[] {
  return [auditLs(log)];
}

const auditLs = (log: AuditLog) =>
  defineCommand({
    path: ['audit'],
    summary: 'Show the audit log of mutating commands',
    args: z.object({
      since: z.string().default('24h').describe('how far back, e.g. 1h, 7d (default 24h)'),
      limit: z.coerce.number().int().min(1).max(10000).default(100).describe('at most this many rows (default 100)'),
    }),
    permission: 'admin.users',
    mutating: false,
    results: ['table'],
    async run(ctx, args) {
      const seconds = parseDuration(args.since, '--since');
      const since = new Date(ctx.clock.now().getTime() - seconds * 1000);
      const rows = (await log.since(since, args.limit)).map((r) => ({
        at: r.at.toISOString(),
        actor: r.actor,
        via: r.via,
        command: r.command,
        args: r.args,
        outcome: r.outcome,
        error: r.error,
        durationMs: r.durationMs,
        credential: r.credential,
        remoteAddress: r.remoteAddress,
      }));
      return {
        kind: 'table',
        // On a narrow screen ARGS gives way first, OUTCOME last (a failed attempt must never look blank).
        columns: [
          { key: 'at', label: 'AT', priority: 2 },
          { key: 'actor', label: 'WHO', priority: 3 },
          { key: 'via', label: 'VIA', priority: 1 },
          { key: 'command', label: 'COMMAND', priority: 3 },
          { key: 'args', label: 'ARGS', priority: -1 },
          { key: 'outcome', label: 'OUTCOME', priority: 4 },
          { key: 'durationMs', label: 'MS', priority: 0, align: 'right' },
        ],
        rows,
        empty: `nothing audited in the last ${args.since}`,
      };
    },
  });
