import { z } from 'zod';
import { NotFound, UsageError } from '../../core/errors.ts';
import type { CommandContext } from '../context.ts';
import type { LabdModule } from '../module.ts';
import { defineCommand, type AnyCommand } from '../registry.ts';
import { newTokenSecret, TOKEN_SCOPES, tokenHash, type TokenStore } from './store.ts';

export type { TokenStore } from './store.ts';

function ownerOf(ctx: CommandContext): number {
  if (ctx.actor.userId === null) throw new UsageError('app tokens belong to a labd user; this actor has none');
  return ctx.actor.userId;
}

/** `token create/ls/rm`: each user manages their own app tokens (no one else's, admins included). */
export function tokenCommands(tokens: TokenStore, publicUrl: string): AnyCommand[] {
  const create = defineCommand({
    path: ['token', 'create'],
    summary: 'Create an app token (shown once) for a client that cannot use SSH, e.g. CardDAV on a phone',
    details: 'example: token create --scope carddav --name phone\nUse your labd user name and the token as the password.',
    args: z.object({
      scope: z.enum(TOKEN_SCOPES).describe('what the token opens: carddav'),
      name: z
        .string()
        .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,39}$/, 'letters, digits, _ . -, at most 40')
        .default('default')
        .describe('a name for the token (default: default)'),
    }),
    permission: 'crm',
    mutating: true,
    results: ['record'],
    surfaces: ['ssh', 'tui'],
    authorize: (ctx) => void ownerOf(ctx),
    async run(ctx, args) {
      const userId = ownerOf(ctx);
      const secret = newTokenSecret();
      const token = await tokens.create(userId, args.name, args.scope, tokenHash(secret));
      const url = `${publicUrl}/dav/${encodeURIComponent(ctx.actor.name)}/contacts/`;
      return {
        kind: 'record',
        title: `token '${token.name}' (${token.scope}): copy it now, it is not shown again`,
        fields: [
          { label: 'Token', value: secret },
          { label: 'User name', value: ctx.actor.name },
          { label: 'Server', value: publicUrl },
          { label: 'Address book', value: url },
        ],
        json: { id: token.id, name: token.name, scope: token.scope, token: secret, username: ctx.actor.name, server: publicUrl, url },
      };
    },
  });

  const ls = defineCommand({
    path: ['token', 'ls'],
    summary: 'List your app tokens',
    args: z.object({}),
    permission: 'crm',
    mutating: false,
    results: ['table'],
    authorize: (ctx) => void ownerOf(ctx),
    async run(ctx) {
      const list = await tokens.list(ownerOf(ctx));
      const rows = list.map((t) => ({
        id: t.id,
        name: t.name,
        scope: t.scope,
        created: t.createdAt.toISOString(),
        lastUsed: t.lastUsedAt?.toISOString() ?? 'never',
      }));
      return {
        kind: 'table',
        columns: [
          { key: 'id', label: 'ID' },
          { key: 'name', label: 'NAME' },
          { key: 'scope', label: 'SCOPE' },
          { key: 'created', label: 'CREATED' },
          { key: 'lastUsed', label: 'LAST USED' },
        ],
        rows,
        empty: 'no app tokens (make one with: token create --scope carddav)',
      };
    },
  });

  const rm = defineCommand({
    path: ['token', 'rm'],
    summary: 'Revoke one of your app tokens (by name or ID)',
    args: z.object({ token: z.string().min(1).max(40).describe('the token’s name or ID') }),
    positionals: ['token'],
    permission: 'crm',
    mutating: true,
    destructive: true,
    results: ['message'],
    authorize: (ctx) => void ownerOf(ctx),
    async run(ctx, args) {
      const revoked = await tokens.revoke(ownerOf(ctx), args.token);
      if (!revoked) throw new NotFound(`no token '${args.token}'`);
      return { kind: 'message', text: `revoked token '${revoked.name}'`, json: { id: revoked.id, name: revoked.name, revoked: true } };
    },
  });
  return [create, ls, rm];
}

export function tokensModule(deps: { tokens: TokenStore; publicUrl: string }): LabdModule {
  return { name: 'tokens', commands: tokenCommands(deps.tokens, deps.publicUrl) };
}
