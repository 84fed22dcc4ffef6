/**
 * `keys rotate join-tokens`: removes the bootstrap-token Secrets labd made (`node provision`) that have
 * expired, or that are older than --max-age though still valid (a token made for a node that never came).
 * Tokens labd did not make are never touched. Kubernetes records no use of a bootstrap token, so age
 * is what tells an unused token from one a node is about to present.
 * A provisioned node whose token is gone (removed here, or by the TokenCleaner) can never join with it:
 * its boot answer is withdrawn and its record retired, so `node provision` can register it again.
 */
import { z } from 'zod';
import { parseDuration } from '../../core/duration.ts';
import { NotFound } from '../../core/errors.ts';
import type { KubePort, KubeSecret } from '../kube/index.ts';
import { defineCommand, type AnyCommand } from '../registry.ts';
import type { Result } from '../result.ts';
import type { NodeInventory } from '../nodes/inventory.ts';
import { MANAGED_BY, MANAGED_BY_LABEL, TOKEN_NAMESPACE, TOKEN_NODE_LABEL, TOKEN_TYPE, tokenSecretName } from '../nodes/tokens.ts';

/** Why a token goes, or undefined when it stays. */
function staleReason(secret: KubeSecret, now: Date, maxAgeSeconds: number): string | undefined {
  const expiration = secret.data.expiration ? Date.parse(secret.data.expiration) : NaN;
  if (secret.data.expiration && Number.isNaN(expiration)) return 'unreadable expiration (the API server treats it as invalid)';
  if (!Number.isNaN(expiration) && expiration <= now.getTime()) return `expired ${secret.data.expiration}`;
  if (secret.createdAt && now.getTime() - secret.createdAt.getTime() > maxAgeSeconds * 1000) return `unused for more than ${maxAgeSecondsText(maxAgeSeconds)}`;
  return undefined;
}

const maxAgeSecondsText = (s: number): string => (s % 86400 === 0 ? `${s / 86400}d` : s % 3600 === 0 ? `${s / 3600}h` : `${s}s`);

export function joinTokenCommands(kube: KubePort, inventory: NodeInventory): AnyCommand[] {
  const rotate = defineCommand({
    path: ['keys', 'rotate', 'join-tokens'],
    summary: 'Remove the node join tokens labd made that have expired or are older than --max-age',
    args: z.object({ maxAge: z.string().default('24h').describe("also remove valid tokens older than this (default 24h, kubeadm's token lifetime)") }),
    permission: 'ops.keys',
    mutating: true,
    results: ['message'],
    async run(ctx, args): Promise<Result> {
      const maxAge = parseDuration(args.maxAge, '--max-age');
      const now = ctx.clock.now();
      const secrets = (await kube.listSecrets(TOKEN_NAMESPACE, { labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY}` })).filter((s) => s.type === TOKEN_TYPE);
      const removed: { name: string; node: string | null; reason: string }[] = [];
      const kept: string[] = [];
      for (const secret of secrets) {
        const reason = staleReason(secret, now, maxAge);
        if (!reason) {
          kept.push(secret.name);
          continue;
        }
        try {
          await kube.deleteSecret(secret.namespace, secret.name);
        } catch (err) {
          // The controller-manager's TokenCleaner may have removed an expired token first.
          if (!(err instanceof NotFound)) throw err;
        }
        removed.push({ name: secret.name, node: secret.labels[TOKEN_NODE_LABEL] ?? null, reason });
        ctx.progress(`removed ${secret.name}: ${reason}`);
      }
      // Boot answers must never outlive their token: retire every provisioned node whose token is not kept.
      const keptNames = new Set(kept);
      const retired: string[] = [];
      for (const row of await inventory.pending()) {
        if (keptNames.has(tokenSecretName(row.tokenId))) continue;
        await inventory.retire(row.id);
        retired.push(row.name);
        ctx.progress(`node ${row.name}: its join token is gone, boot answer withdrawn and node retired (provision it again)`);
      }
      ctx.log.info({ removed: removed.map((r) => r.name), kept: kept.length, retired, actor: ctx.actor.name }, 'join tokens rotated');
      let text = removed.length
        ? `removed ${removed.length} join token${removed.length === 1 ? '' : 's'}; ${kept.length} still valid`
        : `no join tokens to remove; ${kept.length} still valid`;
      if (retired.length) text += `; retired provisioned node${retired.length === 1 ? '' : 's'} ${retired.join(', ')}`;
      return { kind: 'message', text, json: { removed, kept, retired } };
    },
  });
  return [rotate];
}
