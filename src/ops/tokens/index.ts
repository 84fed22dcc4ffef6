import { z } from 'zod';
import { parseDuration } from '../../core/duration.ts';
import { NotFound, PermissionDenied, UsageError } from '../../core/errors.ts';
import type { CommandContext } from '../context.ts';
import type { LabdModule } from '../module.ts';
import { defineCommand, type AnyCommand } from '../registry.ts';
import type { Result } from '../result.ts';
import { newTokenSecret, SCOPE_PERMISSION, TOKEN_SCOPES, tokenHash, type AppToken, type TokenScope, type TokenStore } from './store.ts';

export type { TokenStore } from './store.ts';

function ownerOf(ctx: CommandContext): number {
  if (ctx.actor.userId === null) throw new UsageError('app tokens belong to a labd user; this actor has none');
  return ctx.actor.userId;
}

/** A token opens one scope: making one needs that scope's permission (crm for CardDAV, git.read for git). */
function mayHold(ctx: CommandContext, scope: TokenScope): void {
  ownerOf(ctx);
  if (!ctx.can(SCOPE_PERMISSION[scope])) throw new PermissionDenied(`a ${scope} token needs the ${SCOPE_PERMISSION[scope]} permission`);
}

export const tokenNameArg = z
  .string()
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,39}$/, 'letters, digits, _ . -, at most 40')
  .describe('a name for the token, e.g. phone or laptop');

export const expiresArg = z
  .string()
  .regex(/^(\d+[smhdw])+$/, 'expected a duration like 30d or 12h')
  .optional()
  .describe('expire after this long, e.g. 30d (default: never)');

/** Where the tokens are used, and the most one user may hold (tokens.maxPerUser). */
export interface TokenLimits {
  publicUrl: string;
  maxPerUser: number;
}

/** How git gets the token without it being in the URL. */
export const GIT_CREDENTIALS_HELP = (user: string) =>
  `git asks for a user name (${user}) and a password (the token); to keep it, a credential helper: git config --global credential.helper cache`;

/** Makes a token and describes how to use it: the one implementation behind `token create` and `repo token create`. */
export async function createToken(
  tokens: TokenStore,
  limits: TokenLimits,
  ctx: CommandContext,
  o: { scope: TokenScope; name: string; expires?: string },
): Promise<Extract<Result, { kind: 'record' }>> {
  const userId = ownerOf(ctx);
  const expiresAt = o.expires === undefined ? null : new Date(ctx.clock.now().getTime() + parseDuration(o.expires, '--expires') * 1000);
  const secret = newTokenSecret(o.scope);
  const token = await tokens.create(userId, o.name, o.scope, tokenHash(secret), expiresAt, limits.maxPerUser);
  const { publicUrl } = limits;
  const user = ctx.actor.name;
  const expires = { label: 'Expires', value: expiresAt?.toISOString() ?? 'never' };
  const common = { id: token.id, name: token.name, scope: token.scope, token: secret, username: user, expiresAt: expiresAt?.toISOString() ?? null };
  if (o.scope === 'git') {
    // Not the token in the URL: it would stay in shell history, `.git/config` and process lists.
    const clone = `git clone ${publicUrl}/git/NAME.git`;
    return {
      kind: 'record',
      title: `token '${token.name}' (git): copy it now, it is not shown again`,
      fields: [
        { label: 'Token', value: secret },
        { label: 'User name', value: user },
        expires,
        { label: 'Use', value: clone },
        { label: 'Credentials', value: GIT_CREDENTIALS_HELP(user) },
      ],
      json: { ...common, use: clone, credentials: GIT_CREDENTIALS_HELP(user) },
    };
  }
  const url = `${publicUrl}/dav/${encodeURIComponent(user)}/contacts/`;
  return {
    kind: 'record',
    title: `token '${token.name}' (${token.scope}): copy it now, it is not shown again`,
    fields: [
      { label: 'Token', value: secret },
      { label: 'User name', value: user },
      { label: 'Server', value: publicUrl },
      { label: 'Address book', value: url },
      expires,
    ],
    json: { ...common, server: publicUrl, url },
  };
}

function tokenRows(list: AppToken[], now: Date) {
  return list.map((t) => ({
    id: t.id,
    name: t.name,
    scope: t.scope,
    created: t.createdAt.toISOString(),
    expires: t.expiresAt ? `${t.expiresAt.toISOString()}${t.expiresAt <= now ? ' (expired)' : ''}` : 'never',
    lastUsed: t.lastUsedAt?.toISOString() ?? 'never',
  }));
}

/** Lists the actor's tokens (of one scope when given). */
export async function listTokens(tokens: TokenStore, ctx: CommandContext, scope?: TokenScope) {
  const list = await tokens.list(ownerOf(ctx), scope);
  return {
    kind: 'table' as const,
    columns: [
      { key: 'id', label: 'ID' },
      { key: 'name', label: 'NAME' },
      { key: 'scope', label: 'SCOPE' },
      { key: 'created', label: 'CREATED' },
      { key: 'expires', label: 'EXPIRES' },
      { key: 'lastUsed', label: 'LAST USED' },
    ],
    rows: tokenRows(list, ctx.clock.now()),
    empty: scope === 'git' ? 'no git tokens (make one with: repo token create NAME)' : 'no app tokens (make one with: token create --scope carddav)',
  };
}

/** Revokes one of the actor's tokens (of one scope when given) by name or ID. */
export async function revokeToken(tokens: TokenStore, ctx: CommandContext, nameOrId: string, scope?: TokenScope) {
  const userId = ownerOf(ctx);
  const target = scope ? (await tokens.list(userId, scope)).find((t) => t.name === nameOrId || String(t.id) === nameOrId) : undefined;
  if (scope && !target) throw new NotFound(`no ${scope} token '${nameOrId}'`);
  const revoked = await tokens.revoke(userId, target ? String(target.id) : nameOrId);
  if (!revoked) throw new NotFound(`no token '${nameOrId}'`);
  return {
    kind: 'message' as const,
    text: `revoked token '${revoked.name}'`,
    json: { id: revoked.id, name: revoked.name, scope: revoked.scope, revoked: true },
  };
}

/** `token create/ls/rm`: each user manages their own app tokens (no one else's, admins included). */
export function tokenCommands(tokens: TokenStore, limits: TokenLimits): AnyCommand[] {
  const create = defineCommand({
    path: ['token', 'create'],
    summary: 'Create an app token (shown once) for a client that cannot use SSH: CardDAV on a phone, git over HTTP',
    details:
      'example: token create --scope carddav --name phone\nexample: token create --scope git --name laptop --expires 30d\nUse your labd user name and the token as the password.',
    args: z.object({
      scope: z.enum(TOKEN_SCOPES).describe('what the token opens: carddav (needs crm) or git (needs git.read)'),
      name: tokenNameArg.default('default'),
      expires: expiresArg,
    }),
    permission: 'authenticated',
    mutating: true,
    results: ['record'],
    surfaces: ['ssh', 'tui'],
    authorize: (ctx, args) => mayHold(ctx, args.scope),
    run: (ctx, args) => createToken(tokens, limits, ctx, args),
  });

  const ls = defineCommand({
    path: ['token', 'ls'],
    summary: 'List your app tokens',
    args: z.object({ scope: z.enum(TOKEN_SCOPES).optional().describe('only tokens of this scope') }),
    permission: 'authenticated',
    mutating: false,
    results: ['table'],
    authorize: (ctx) => void ownerOf(ctx),
    run: (ctx, args) => listTokens(tokens, ctx, args.scope),
  });

  const rm = defineCommand({
    path: ['token', 'rm'],
    summary: 'Revoke one of your app tokens (by name or ID)',
    args: z.object({ token: z.string().min(1).max(40).describe('the token’s name or ID') }),
    positionals: ['token'],
    permission: 'authenticated',
    mutating: true,
    destructive: true,
    results: ['message'],
    authorize: (ctx) => void ownerOf(ctx),
    run: (ctx, args) => revokeToken(tokens, ctx, args.token),
  });
  return [create, ls, rm];
}

export function tokensModule(deps: { tokens: TokenStore } & TokenLimits): LabdModule {
  return { name: 'tokens', commands: tokenCommands(deps.tokens, deps) };
}
