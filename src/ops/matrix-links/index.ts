/**
 * Matrix identities linked by their owner: `!lab link` in the bot answers with a one-time code
 * (stored hashed, short-lived); its owner confirms it over SSH as their labd user (`link CODE`),
 * and the bot then maps that Matrix id to the user without a config edit (matrix.userMap stays
 * as the seed). One command on both surfaces, so both halves are audited.
 */
import { z } from 'zod';
import type { Clock } from '../../core/clock.ts';
import { UsageError } from '../../core/errors.ts';
import type { LabdModule } from '../module.ts';
import { defineCommand, type AnyCommand } from '../registry.ts';
import { linkCodeHash, newLinkCode, type MatrixLinkStore } from './store.ts';

export type { MatrixLinkStore } from './store.ts';

/** How long a link code may be confirmed. */
export const LINK_CODE_TTL_MS = 10 * 60_000;

export function matrixLinkCommands(deps: { links: MatrixLinkStore; clock: Clock; sshCommand: string }): AnyCommand[] {
  const { links, clock, sshCommand } = deps;
  const link = defineCommand({
    path: ['link'],
    summary: 'Link your Matrix account to your labd user: !lab link in Matrix gives a code, ssh … link CODE confirms it',
    details: [
      'In Matrix: !lab link   answers with a one-time code (valid 10 minutes).',
      `Over SSH, as the labd user the Matrix account should act as: ${sshCommand} link CODE`,
      'The bot then treats that Matrix account as your labd user (your role, your rights).',
    ].join('\n'),
    args: z.object({
      code: z.string().max(64).optional().describe('the code the bot gave you (over SSH)'),
    }),
    positionals: ['code'],
    secrets: ['code'],
    permission: 'authenticated',
    mutating: true,
    results: ['message'],
    surfaces: ['ssh', 'matrix'],
    async run(ctx, args) {
      const cred = ctx.actor.credential;
      if (cred?.kind === 'matrix') {
        if (args.code) throw new UsageError(`confirm the code over SSH, as your labd user: ${sshCommand} link CODE (never here, where others can read it)`);
        const code = newLinkCode();
        const expiresAt = new Date(clock.now().getTime() + LINK_CODE_TTL_MS);
        await links.addCode(cred.mxid, linkCodeHash(code), expiresAt);
        return {
          kind: 'message',
          text: `To link ${cred.mxid} to your labd user, run within 10 minutes: ${sshCommand} link ${code} (the code works once, and only for ${cred.mxid})`,
          json: { mxid: cred.mxid, code, expiresAt: expiresAt.toISOString() },
        };
      }
      if (ctx.actor.userId === null) throw new UsageError('linking needs a labd user: log in with your key or certificate');
      if (!args.code) throw new UsageError(`give the code the bot answered to '!lab link': ${sshCommand} link CODE`);
      const now = clock.now();
      const r = await links.redeem(linkCodeHash(args.code), ctx.actor.userId, now);
      if (!r.ok) {
        if (r.reason === 'expired') throw new UsageError(`that link code expired at ${r.expiredAt.toISOString()}: send '!lab link' again for a new one`);
        if (r.reason === 'used') throw new UsageError(`that link code was already used (at ${r.usedAt.toISOString()}): send '!lab link' again for a new one`);
        throw new UsageError("no such link code: check it, or send '!lab link' again for a new one");
      }
      const was = r.previous && r.previous !== ctx.actor.name ? ` (it was linked to ${r.previous})` : '';
      return {
        kind: 'message',
        text: `linked ${r.mxid} to ${ctx.actor.name}${was}: the bot now acts for it as ${ctx.actor.name}`,
        json: { mxid: r.mxid, user: ctx.actor.name, previous: r.previous ?? null },
      };
    },
  });
  return [link];
}

export function matrixLinksModule(deps: { links: MatrixLinkStore; clock: Clock; sshCommand: string }): LabdModule {
  return { name: 'matrix-links', commands: matrixLinkCommands(deps) };
}
