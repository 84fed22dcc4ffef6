/** `node provision` and `node deprovision`: a node's life from a PXE boot answer to its removal (design §2.1). */
import { z } from 'zod';
import { parseDuration } from '../../core/duration.ts';
import { Conflict, NotFound, UsageError } from '../../core/errors.ts';
import type { Config } from '../../config/schema.ts';
import { defineCommand, type AnyCommand } from '../registry.ts';
import type { Result } from '../result.ts';
import type { KubeNode, KubePort } from '../kube/index.ts';
import { normalizeMac } from './boot.ts';
import { drainNode } from './drain.ts';
import type { NodeInventory } from './inventory.ts';
import { newToken, TOKEN_NAMESPACE, TOKEN_NODE_LABEL, MANAGED_BY_LABEL, MANAGED_BY, tokenSecret, tokenSecretName } from './tokens.ts';

/** A node labd provisions gets its hostname from the name: one DNS label (RFC 1123). */
const dnsLabel = z
  .string()
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'expected a host name (lower-case letters, digits and -, at most 63)')
  .describe('the node name (its host name)');

const mac = z
  .string()
  .transform((v, ctx) => {
    const m = normalizeMac(v);
    if (!m) ctx.addIssue({ code: 'custom', message: `expected a MAC address like aa:bb:cc:dd:ee:ff, got '${v.slice(0, 40)}'` });
    return m ?? '';
  })
  .describe('the MAC address the node PXE-boots from');

/** The k3s server keeps each agent's password here; it must go or the name cannot join again. */
const k3sPasswordSecret = (node: string): string => `${node}.node-password.k3s`;

const ignoreNotFound = (err: unknown): void => {
  if (!(err instanceof NotFound)) throw err;
};

export function lifecycleCommands(kube: KubePort, inventory: NodeInventory, config: Config['nodes']): AnyCommand[] {
  const provision = defineCommand({
    path: ['node', 'provision'],
    summary: 'Register a machine to PXE-boot and join: a bootstrap token, its boot profile for pixiecore, its role and Kilo location',
    args: z.object({
      name: dnsLabel,
      mac,
      profile: z.string().min(1).optional().describe('boot profile from nodes.profiles (default: nodes.defaultProfile)'),
      role: dnsLabel.optional().describe('role label applied when the node joins (node-role.kubernetes.io/ROLE)'),
      location: z
        .string()
        .regex(/^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/, 'expected a Kilo location name (letters, digits, - _ .)')
        .optional()
        .describe('Kilo location annotation applied when the node joins'),
    }),
    positionals: ['name'],
    permission: 'ops.nodes',
    mutating: true,
    results: ['record'],
    async run(ctx, args): Promise<Result> {
      const profileName = args.profile ?? config.defaultProfile;
      // Own keys only: a --profile such as `constructor` is an unknown profile, not Object.prototype's.
      if (!Object.hasOwn(config.profiles, profileName)) {
        const known = Object.keys(config.profiles);
        throw new UsageError(`no boot profile '${profileName}' in nodes.profiles${known.length ? ` (configured: ${known.join(', ')})` : ' (none configured)'}`);
      }
      const existing = await kube.getNode(args.name).catch((err: unknown) => (err instanceof NotFound ? undefined : Promise.reject(err)));
      if (existing) throw new Conflict(`node ${args.name} is already in the cluster`);
      const token = newToken(ctx.clock.now(), config.tokenTtl.seconds);
      const row = await inventory.add({
        name: args.name,
        mac: args.mac,
        profile: profileName,
        role: args.role ?? null,
        location: args.location ?? null,
        tokenId: token.id,
        tokenSecret: token.secret,
        createdBy: ctx.actor.name,
      });
      try {
        await kube.createSecret(tokenSecret(token, args.name));
      } catch (err) {
        await inventory.remove(row.id);
        throw err;
      }
      ctx.log.info({ node: args.name, mac: args.mac, profile: profileName, tokenId: token.id, actor: ctx.actor.name }, 'node provisioned');
      const expires = token.expiresAt.toISOString();
      return {
        kind: 'record',
        title: `node ${args.name} provisioned`,
        fields: [
          { label: 'Name', value: args.name },
          { label: 'MAC', value: args.mac },
          { label: 'Profile', value: profileName },
          { label: 'Role', value: args.role ?? '-' },
          { label: 'Location', value: args.location ?? '-' },
          { label: 'Token', value: `${tokenSecretName(token.id)} in ${TOKEN_NAMESPACE} (expires ${expires})` },
          {
            label: 'Next',
            value: config.bootListen
              ? `PXE-boot the machine; pixiecore gets its boot answer from GET http://${config.bootListen}/v1/boot/${args.mac}`
              : 'set nodes.bootListen (LABD_BOOT_LISTEN) so pixiecore can get the boot answer, then PXE-boot the machine',
          },
        ],
        json: {
          name: args.name,
          mac: args.mac,
          profile: profileName,
          role: args.role ?? null,
          location: args.location ?? null,
          tokenId: token.id,
          secretName: tokenSecretName(token.id),
          expiresAt: expires,
          state: row.state,
        },
      };
    },
  });

  const deprovision = defineCommand({
    path: ['node', 'deprovision'],
    summary: 'Cordon and drain a node, delete it, revoke its join token and boot profile, and retire it',
    args: z.object({
      name: dnsLabel,
      force: z.boolean().default(false).describe('also delete pods that declare no controller (their data is lost)'),
      timeout: z.string().default('5m').describe('give up draining after this long (default 5m)'),
    }),
    positionals: ['name'],
    permission: 'ops.nodes',
    mutating: true,
    results: ['message'],
    destructive: true,
    async run(ctx, args): Promise<Result> {
      const timeoutSeconds = parseDuration(args.timeout, '--timeout');
      const deadline = ctx.clock.now().getTime() + timeoutSeconds * 1000;
      const record = await inventory.byName(args.name);
      let node: KubeNode | undefined;
      try {
        node = await kube.getNode(args.name);
      } catch (err) {
        ignoreNotFound(err);
      }
      if (!node && !record) throw new NotFound(`node ${args.name}: not in the cluster and not provisioned by labd`);
      const steps: string[] = [];
      const step = (text: string) => {
        steps.push(text);
        ctx.progress(text);
      };
      let drained = { evicted: [] as string[], skipped: [] as string[] };
      if (node) {
        if (!node.unschedulable) await kube.patchNode(node.name, { unschedulable: true });
        step(`node ${node.name} cordoned`);
        drained = await drainNode(kube, node.name, {
          force: args.force,
          deadline,
          evictRetryMs: config.evictRetryInterval.ms,
          signal: ctx.signal,
          progress: ctx.progress,
          now: () => ctx.clock.now().getTime(),
        });
        step(`node ${node.name} drained (${drained.evicted.length} evicted, ${drained.skipped.length} skipped)`);
        await kube.deleteNode(node.name).catch(ignoreNotFound);
        step(`deleted node ${node.name}`);
      } else step(`node ${args.name} is not in the cluster`);
      // Every join token labd made for this name, not only the inventory's latest.
      const tokens = await kube.listSecrets(TOKEN_NAMESPACE, { labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY},${TOKEN_NODE_LABEL}=${args.name}` });
      const names = new Set(tokens.map((t) => t.name));
      if (record) names.add(tokenSecretName(record.tokenId));
      for (const name of names) {
        await kube.deleteSecret(TOKEN_NAMESPACE, name).then(() => step(`deleted join token ${name}`), ignoreNotFound);
      }
      await kube
        .deleteSecret(TOKEN_NAMESPACE, k3sPasswordSecret(args.name))
        .then(() => step(`deleted k3s node password ${k3sPasswordSecret(args.name)}`), ignoreNotFound);
      if (record) {
        await inventory.retire(record.id);
        step(`boot profile for ${record.mac} removed; node retired`);
      }
      ctx.log.info({ node: args.name, actor: ctx.actor.name, evicted: drained.evicted.length }, 'node deprovisioned');
      return {
        kind: 'message',
        text: `node ${args.name} deprovisioned`,
        json: { node: args.name, deleted: !!node, evicted: drained.evicted, skipped: drained.skipped, retired: !!record, steps },
      };
    },
  });

  const list = defineCommand({
    path: ['node', 'inventory'],
    summary: 'List the nodes labd provisioned: MAC, boot profile, role, location and whether they joined',
    args: z.object({ all: z.boolean().default(false).describe('include retired nodes') }),
    short: { a: 'all' },
    permission: 'ops.read',
    mutating: false,
    results: ['table'],
    async run(_ctx, args): Promise<Result> {
      const rows = await inventory.list(args.all);
      return {
        kind: 'table',
        columns: [
          { key: 'name', label: 'NAME' },
          { key: 'state', label: 'STATE' },
          { key: 'mac', label: 'MAC' },
          { key: 'profile', label: 'PROFILE' },
          { key: 'role', label: 'ROLE' },
          { key: 'location', label: 'LOCATION' },
          { key: 'createdBy', label: 'BY' },
        ],
        rows: rows.map((r) => ({
          name: r.name,
          state: r.state,
          mac: r.mac,
          profile: r.profile,
          role: r.role ?? '-',
          location: r.location ?? '-',
          createdBy: r.createdBy,
        })),
        empty: 'no provisioned nodes',
        json: rows.map((r) => ({
          name: r.name,
          state: r.state,
          mac: r.mac,
          profile: r.profile,
          role: r.role,
          location: r.location,
          tokenId: r.tokenId,
          createdBy: r.createdBy,
          createdAt: r.createdAt.toISOString(),
          joinedAt: r.joinedAt?.toISOString() ?? null,
          retiredAt: r.retiredAt?.toISOString() ?? null,
        })),
      };
    },
  });

  return [provision, deprovision, list];
}
