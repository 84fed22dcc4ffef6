/** `repo token create|ls|rm`: per-user tokens for smart-HTTP clones (only their SHA-256 is stored). */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { parseDuration } from '../../core/duration.ts';
import { NotFound, UsageError } from '../../core/errors.ts';
import { defineCommand, type AnyCommand } from '../../ops/registry.ts';
import { hashToken } from './http.ts';
import type { RepoStore } from './store.ts';

const tokenName = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,39}$/, 'a token name: lower-case letters, digits, . _ -');

export function tokenCommands(deps: { store: RepoStore; publicUrl: string }): AnyCommand[] {
  const userIdOf = (id: number | null): number => {
    if (id === null) throw new UsageError('tokens belong to a labd user; this actor has none');
    return id;
  };
  const create = defineCommand({
    path: ['repo', 'token', 'create'],
    summary: 'Make a token for cloning over HTTP (printed once)',
    details: 'example: git clone http://x:TOKEN@HOST/git/NAME.git (or a credential helper)',
    args: z.object({
      name: tokenName.describe('what it is for, e.g. laptop'),
      expires: z.string().optional().describe('expire after this long, e.g. 30d (default: never)'),
    }),
    positionals: ['name'],
    permission: 'git.read',
    mutating: true,
    results: ['record'],
    async run(ctx, args) {
      const userId = userIdOf(ctx.actor.userId);
      let expiresAt: Date | null = null;
      if (args.expires !== undefined) {
        if (!/^(\d+[smhdw])+$/.test(args.expires)) throw new UsageError('--expires: expected a duration like 30d');
        expiresAt = new Date(ctx.clock.now().getTime() + parseDuration(args.expires, '--expires') * 1000);
      }
      const secret = `labd_git_${randomBytes(24).toString('base64url')}`;
      const token = await deps.store.addToken({ userId, name: args.name, hash: hashToken(secret), expiresAt });
      return {
        kind: 'record',
        title: `token ${token.name}`,
        fields: [
          { label: 'token', value: secret },
          { label: 'expires', value: expiresAt?.toISOString() ?? 'never' },
          { label: 'use', value: `git clone ${deps.publicUrl.replace('://', `://${ctx.actor.name}:${secret}@`)}/git/NAME.git` },
        ],
        json: { name: token.name, token: secret, expiresAt: expiresAt?.toISOString() ?? null },
      };
    },
  });
  const ls = defineCommand({
    path: ['repo', 'token', 'ls'],
    summary: 'List your HTTP tokens',
    args: z.object({}),
    permission: 'git.read',
    mutating: false,
    results: ['table'],
    async run(ctx) {
      const list = await deps.store.tokensOf(userIdOf(ctx.actor.userId));
      const rows = list.map((t) => ({
        name: t.name,
        created: t.createdAt.toISOString().slice(0, 10),
        expires: t.expiresAt?.toISOString().slice(0, 10) ?? 'never',
      }));
      return {
        kind: 'table',
        columns: [
          { key: 'name', label: 'NAME' },
          { key: 'created', label: 'CREATED' },
          { key: 'expires', label: 'EXPIRES' },
        ],
        rows,
        empty: 'no tokens (make one with: repo token create NAME)',
        json: list.map((t) => ({ name: t.name, createdAt: t.createdAt.toISOString(), expiresAt: t.expiresAt?.toISOString() ?? null })),
      };
    },
  });
  const rm = defineCommand({
    path: ['repo', 'token', 'rm'],
    summary: 'Revoke one of your HTTP tokens',
    args: z.object({ name: tokenName.describe('the token name') }),
    positionals: ['name'],
    permission: 'git.read',
    mutating: true,
    results: ['message'],
    async run(ctx, args) {
      if (!(await deps.store.removeToken(userIdOf(ctx.actor.userId), args.name))) throw new NotFound(`no token '${args.name}'`);
      return { kind: 'message', text: `revoked token ${args.name}`, json: { name: args.name, removed: true } };
    },
  });
  return [create, ls, rm];
}
