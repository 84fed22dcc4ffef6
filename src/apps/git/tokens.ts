/**
 * `repo token create|ls|rm`: the git forge's words for app tokens of scope `git` (smart-HTTP clones
 * of what the user may read). They are the same tokens `token create --scope git` makes, kept in
 * the one token store (src/ops/tokens).
 */
import { z } from 'zod';
import { createToken, expiresArg, listTokens, revokeToken, tokenNameArg, type TokenLimits } from '../../ops/tokens/index.ts';
import type { TokenStore } from '../../ops/tokens/store.ts';
import { defineCommand, type AnyCommand } from '../../ops/registry.ts';

export function tokenCommands(deps: { tokens: TokenStore } & TokenLimits): AnyCommand[] {
  const create = defineCommand({
    path: ['repo', 'token', 'create'],
    summary: 'Make a token for cloning over HTTP (printed once)',
    details:
      'example: git clone http://HOST/git/NAME.git\ngit asks for your user name and a password: give the token (a credential helper keeps it: git config --global credential.helper cache).\nSame as: token create --scope git --name NAME',
    args: z.object({ name: tokenNameArg, expires: expiresArg }),
    positionals: ['name'],
    permission: 'git.read',
    mutating: true,
    results: ['record'],
    run: (ctx, args) => createToken(deps.tokens, deps, ctx, { scope: 'git', ...args }),
  });
  const ls = defineCommand({
    path: ['repo', 'token', 'ls'],
    summary: 'List your HTTP tokens',
    args: z.object({}),
    permission: 'git.read',
    mutating: false,
    results: ['table'],
    run: (ctx) => listTokens(deps.tokens, ctx, 'git'),
  });
  const rm = defineCommand({
    path: ['repo', 'token', 'rm'],
    summary: 'Revoke one of your HTTP tokens',
    args: z.object({ name: z.string().min(1).max(40).describe('the token’s name or ID') }),
    positionals: ['name'],
    permission: 'git.read',
    mutating: true,
    results: ['message'],
    run: (ctx, args) => revokeToken(deps.tokens, ctx, args.name, 'git'),
  });
  return [create, ls, rm];
}
