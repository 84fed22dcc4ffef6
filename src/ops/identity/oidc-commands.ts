/** `login`: the device-flow login for the key this session came in with (to link it longer, or to the account the IdP vouches for). */
import { z } from 'zod';
import { PermissionDenied, UsageError } from '../../core/errors.ts';
import { parsePublicKeyLine } from '../../core/sshwire/keys.ts';
import type { CommandContext } from '../context.ts';
import { defineCommand, type AnyCommand } from '../registry.ts';
import type { OidcLogin } from './oidc-login.ts';
import type { IdentityStore } from './store.ts';

export function oidcCommands(oidc: OidcLogin, identities: IdentityStore): AnyCommand[] {
  /** The key the session proved it holds: the plain key it logged in with, or its certificate's own key. */
  async function sessionKey(ctx: CommandContext): Promise<{ fingerprint: string; algo: string; publicKey: string }> {
    const cred = ctx.actor.credential;
    if (cred?.kind === 'key') {
      const row = await identities.keyByFingerprint(cred.fingerprint);
      if (!row) throw new UsageError('the key this session logged in with is no longer registered');
      return { fingerprint: row.fingerprint, algo: row.algo, publicKey: row.publicKey };
    }
    if (cred?.kind === 'cert' && cred.keyFingerprint && cred.publicKey) {
      const { key } = parsePublicKeyLine(cred.publicKey);
      return { fingerprint: cred.keyFingerprint, algo: key.type, publicKey: cred.publicKey };
    }
    throw new UsageError('login links the SSH key this session logged in with; this session has none');
  }

  const login = defineCommand({
    path: ['login'],
    summary: 'Log in with the identity provider (OIDC device flow) and link this session’s key to your account',
    details: [
      `The key is linked to your account for ${oidc.keyLifetimeText} (auth.oidc.keyLifetime); \`keys ls\` shows the link.`,
      'Only your own identity links: one linked to your account already, or one linked to none whose name is',
      'no other account and whose groups grant no more than your account holds. Anything else is refused.',
    ].join('\n'),
    args: z.object({}),
    permission: 'authenticated',
    mutating: true,
    results: ['message'],
    surfaces: ['ssh'],
    surfacesWhy: 'it links the SSH key the session logged in with',
    needsIO: true,
    async run(ctx) {
      if (ctx.actor.userId === null) throw new PermissionDenied('login needs a labd account');
      const key = await sessionKey(ctx);
      const outcome = await oidc.login(key, {
        surface: ctx.actor.via,
        remoteAddress: ctx.actor.remoteAddress,
        sessionUserId: ctx.actor.userId,
        qr: ctx.io?.isTerminal === true && !ctx.json,
        progress: (line) => ctx.progress(line),
        signal: ctx.signal,
      });
      return {
        kind: 'message',
        text: `key ${key.fingerprint} is linked to ${outcome.user.name} (${outcome.role}) until ${outcome.expiresAt.toISOString()}`,
        json: {
          key: key.fingerprint,
          user: outcome.user.name,
          role: outcome.role,
          expiresAt: outcome.expiresAt.toISOString(),
          link: outcome.link,
          claims: outcome.claims,
        },
      };
    },
  });
  return [login];
}
