/** Deploy commands (design §2.1): deploys, deploy, restart, rollback, rollout, reconcile. */
import { z } from 'zod';
import { parseDuration } from '../../core/duration.ts';
import { UsageError } from '../../core/errors.ts';
import type { CommandContext } from '../context.ts';
import type { OpsEventsPort } from '../events/index.ts';
import type { FluxKind, KubeDeployment, KubePort } from '../kube/index.ts';
import { age } from '../nodes/format.ts';
import { commandHandle, defineCommand, type AnyCommand } from '../registry.ts';
import type { Result } from '../result.ts';
import { containerName, imageRef, namespaceName, objectRef, splitRef, timeoutFlag } from './args.ts';
import { readyCondition, reconcile } from './reconcile.ts';
import { followRollout } from './rollout.ts';
import { pickRevision, REVISION, rollbackPatch, sameTemplate, templateOf } from './rollback.ts';
import { retryOnConflict } from './retry.ts';

export const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';
const ROLLOUT_TIMEOUT = '10m';
const RECONCILE_TIMEOUT = '5m';

const ref = (d: { namespace: string; name: string }) => `"${d.namespace}/${d.name}"`;
const images = (d: KubeDeployment) => d.containers.map((c) => c.image).join(',');

function deploymentJson(d: KubeDeployment) {
  return {
    namespace: d.namespace,
    name: d.name,
    revision: d.annotations[REVISION] ?? null,
    replicas: d.replicas,
    ready: d.status.readyReplicas,
    upToDate: d.status.updatedReplicas,
    available: d.status.availableReplicas,
    paused: d.paused,
    containers: d.containers,
    conditions: d.conditions.map((c) => ({ type: c.type, status: c.status, reason: c.reason ?? null, message: c.message ?? null })),
    createdAt: d.createdAt?.toISOString() ?? null,
  };
}

/** A paused Deployment takes template changes but does not roll them out (kubectl refuses too). */
function refusePaused(d: KubeDeployment, what: string): void {
  if (d.paused) throw new UsageError(`deployment ${ref(d)} is paused; resume it before you ${what}`);
}

/** Follows the rollout when asked, says how it ended, and reports it as an ops event (not when the session went away). */
async function finish(
  kube: KubePort,
  events: Pick<OpsEventsPort, 'emit'>,
  ctx: CommandContext,
  action: string,
  d: KubeDeployment,
  wait: boolean,
  timeout: string,
  text: string,
  json: Record<string, unknown>,
): Promise<Result> {
  if (!wait) return { kind: 'message', text, json };
  ctx.progress(text);
  const deployment = `${d.namespace}/${d.name}`;
  let done: KubeDeployment;
  try {
    done = await followRollout(kube, ctx, d.namespace, d.name, parseDuration(timeout, '--timeout'));
  } catch (err) {
    if (!ctx.signal.aborted) await events.emit({ kind: 'deploy.failed', deployment, action, by: ctx.actor.name, error: (err as Error).message });
    throw err;
  }
  await events.emit({ kind: 'deploy.finished', deployment, action, by: ctx.actor.name, detail: text });
  return {
    kind: 'message',
    text: `deployment ${ref(done)} successfully rolled out`,
    json: { ...json, rolledOut: true, revision: done.annotations[REVISION] ?? null },
  };
}

const retryNote = (ctx: CommandContext, what: string) => (n: number) => ctx.progress(`${what} changed while labd updated it; retrying (${n})`);

/** Typed handles of the deployment commands the TUI's Deploys screen calls. */
export const deploysList = commandHandle({
  path: ['deploys'],
  args: z.object({ namespace: namespaceName.optional().describe('only this namespace (default: all)') }),
}).returns<Result>();

export const deployRestart = commandHandle({
  path: ['restart'],
  args: z.object({
    deployment: objectRef.describe('NAMESPACE/NAME of the deployment'),
    wait: z.boolean().default(false).describe('follow the rollout until it completes or fails'),
    timeout: timeoutFlag(ROLLOUT_TIMEOUT, 'with --wait'),
  }),
}).returns<Result>();

export const deployRollout = commandHandle({
  path: ['rollout'],
  args: z.object({ deployment: objectRef.describe('NAMESPACE/NAME of the deployment'), timeout: timeoutFlag(ROLLOUT_TIMEOUT, 'the rollout itself goes on') }),
}).returns<Result>();

export function deployCommands(kube: KubePort, events: Pick<OpsEventsPort, 'emit'>): AnyCommand[] {
  const deploys = defineCommand(deploysList, {
    summary: 'List deployments: ready, up-to-date and available replicas, images, age',
    short: { n: 'namespace' },
    permission: 'ops.read',
    mutating: false,
    results: ['table'],
    async run(ctx, args): Promise<Result> {
      const list = await kube.listDeployments({ namespace: args.namespace });
      const now = ctx.clock.now();
      return {
        kind: 'table',
        columns: [
          { key: 'name', label: 'NAME' },
          { key: 'ready', label: 'READY' },
          { key: 'upToDate', label: 'UP-TO-DATE' },
          { key: 'available', label: 'AVAILABLE' },
          { key: 'images', label: 'IMAGES' },
          { key: 'age', label: 'AGE' },
        ],
        rows: list.map((d) => ({
          name: `${d.namespace}/${d.name}`,
          ready: `${d.status.readyReplicas}/${d.replicas}`,
          upToDate: d.status.updatedReplicas,
          available: d.status.availableReplicas,
          images: images(d) || '-',
          age: age(d.createdAt, now),
        })),
        empty: args.namespace ? `no deployments in ${args.namespace}` : 'no deployments',
        json: list.map(deploymentJson),
      };
    },
  });

  const deploy = defineCommand({
    path: ['deploy'],
    summary: 'Set the image of a deployment container (a strategic-merge patch), optionally following the rollout',
    args: z.object({
      deployment: objectRef.describe('NAMESPACE/NAME of the deployment'),
      image: imageRef,
      container: containerName.optional().describe('the container to change (required when there are several)'),
      wait: z.boolean().default(false).describe('follow the rollout until it completes or fails'),
      timeout: timeoutFlag(ROLLOUT_TIMEOUT, 'with --wait'),
    }),
    positionals: ['deployment'],
    short: { c: 'container', w: 'wait' },
    permission: 'ops.deploy',
    mutating: true,
    results: ['message'],
    async run(ctx, args): Promise<Result> {
      const { namespace, name } = splitRef(args.deployment);
      const outcome = await retryOnConflict(`deployment "${args.deployment}"`, ctx.signal, retryNote(ctx, `deployment "${args.deployment}"`), async () => {
        const d = await kube.getDeployment(namespace, name);
        const names = d.containers.map((c) => c.name);
        const container = args.container ?? (names.length === 1 ? names[0]! : undefined);
        if (!container) throw new UsageError(`deployment ${ref(d)} has containers ${names.join(', ')}: choose one with --container`);
        const current = d.containers.find((c) => c.name === container);
        if (!current) throw new UsageError(`deployment ${ref(d)} has no container '${container}' (containers: ${names.join(', ') || 'none'})`);
        if (current.image === args.image) return { d, container, previous: current.image, changed: false };
        const patched = await kube.patchDeployment(namespace, name, { resourceVersion: d.resourceVersion, images: { [container]: args.image } });
        return { d: patched, container, previous: current.image, changed: true };
      });
      if (outcome.changed)
        ctx.log.info({ deployment: args.deployment, container: outcome.container, image: args.image, actor: ctx.actor.name }, 'deployment image set');
      const text = outcome.changed
        ? `deployment ${ref(outcome.d)} container ${outcome.container}: ${outcome.previous} → ${args.image}`
        : `deployment ${ref(outcome.d)} container ${outcome.container} already runs ${args.image}`;
      const json = { deployment: args.deployment, container: outcome.container, image: args.image, previousImage: outcome.previous, changed: outcome.changed };
      return finish(kube, events, ctx, 'deploy', outcome.d, args.wait, args.timeout, text, json);
    },
  });

  const restart = defineCommand(deployRestart, {
    summary: 'Restart the pods of a deployment with a rolling update (like kubectl rollout restart)',
    positionals: ['deployment'],
    short: { w: 'wait' },
    permission: 'ops.deploy',
    mutating: true,
    results: ['message'],
    async run(ctx, args): Promise<Result> {
      const { namespace, name } = splitRef(args.deployment);
      const at = ctx.clock
        .now()
        .toISOString()
        .replace(/\.\d{3}Z$/, 'Z');
      const d = await retryOnConflict(`deployment "${args.deployment}"`, ctx.signal, retryNote(ctx, `deployment "${args.deployment}"`), async () => {
        const current = await kube.getDeployment(namespace, name);
        refusePaused(current, 'restart it');
        return kube.patchDeployment(namespace, name, { resourceVersion: current.resourceVersion, templateAnnotations: { [RESTARTED_AT]: at } });
      });
      ctx.log.info({ deployment: args.deployment, actor: ctx.actor.name }, 'deployment restarted');
      return finish(kube, events, ctx, 'restart', d, args.wait, args.timeout, `deployment ${ref(d)} restarted`, {
        deployment: args.deployment,
        restartedAt: at,
      });
    },
  });

  const rollback = defineCommand({
    path: ['rollback'],
    summary: "Roll a deployment back to an earlier revision's pod template (like kubectl rollout undo)",
    args: z.object({
      deployment: objectRef.describe('NAMESPACE/NAME of the deployment'),
      to: z.coerce.number().int().min(1).optional().describe('the revision to go back to (default: the previous one)'),
      wait: z.boolean().default(false).describe('follow the rollout until it completes or fails'),
      timeout: timeoutFlag(ROLLOUT_TIMEOUT, 'with --wait'),
    }),
    positionals: ['deployment'],
    short: { w: 'wait' },
    permission: 'ops.deploy',
    mutating: true,
    results: ['message'],
    destructive: true,
    async run(ctx, args): Promise<Result> {
      const { namespace, name } = splitRef(args.deployment);
      const outcome = await retryOnConflict(`deployment "${args.deployment}"`, ctx.signal, retryNote(ctx, `deployment "${args.deployment}"`), async () => {
        const d = await kube.getDeployment(namespace, name);
        refusePaused(d, 'roll it back');
        const replicaSets = await kube.listReplicaSets(namespace, {
          labelSelector:
            Object.entries(d.matchLabels)
              .map(([k, v]) => `${k}=${v}`)
              .join(',') || undefined,
        });
        const wanted = pickRevision(d, replicaSets, args.to);
        if (sameTemplate(templateOf(wanted.rs), d.template)) return { d, revision: wanted.revision, changed: false };
        const patched = await kube.patchDeployment(namespace, name, rollbackPatch(d, wanted.rs));
        return { d: patched, revision: wanted.revision, changed: true };
      });
      const text = outcome.changed
        ? `deployment ${ref(outcome.d)} rolled back to revision ${outcome.revision} (${images(outcome.d)})`
        : `deployment ${ref(outcome.d)} already runs the template of revision ${outcome.revision}; nothing to roll back`;
      if (outcome.changed) ctx.log.info({ deployment: args.deployment, revision: outcome.revision, actor: ctx.actor.name }, 'deployment rolled back');
      return finish(kube, events, ctx, 'rollback', outcome.d, args.wait, args.timeout, text, {
        deployment: args.deployment,
        toRevision: outcome.revision,
        images: outcome.d.containers,
        changed: outcome.changed,
      });
    },
  });

  const rollout = defineCommand(deployRollout, {
    summary: 'Follow a deployment rollout until it completes, fails or exceeds its progress deadline (like kubectl rollout status)',
    positionals: ['deployment'],
    permission: 'ops.read',
    mutating: false,
    results: ['message'],
    async run(ctx, args): Promise<Result> {
      const { namespace, name } = splitRef(args.deployment);
      const d = await followRollout(kube, ctx, namespace, name, parseDuration(args.timeout, '--timeout'));
      return { kind: 'message', text: `deployment ${ref(d)} successfully rolled out`, json: { ...deploymentJson(d), rolledOut: true } };
    },
  });

  const kinds: Record<string, FluxKind> = { kustomization: 'Kustomization', helmrelease: 'HelmRelease' };
  const reconcileCommand = defineCommand({
    path: ['reconcile'],
    summary: 'Ask Flux to reconcile a kustomization or helmrelease now and wait until it is Ready',
    args: z.object({
      kind: z.enum(['kustomization', 'helmrelease']).describe('kustomization or helmrelease'),
      object: objectRef.describe('NAMESPACE/NAME of the kustomization or helmrelease'),
      timeout: timeoutFlag(RECONCILE_TIMEOUT, 'the reconcile itself goes on'),
    }),
    positionals: ['kind', 'object'],
    permission: 'ops.deploy',
    mutating: true,
    results: ['message'],
    async run(ctx, args): Promise<Result> {
      const { namespace, name } = splitRef(args.object);
      const kind = kinds[args.kind]!;
      const o = await reconcile(
        kube,
        { signal: ctx.signal, progress: (m) => ctx.progress(m), now: ctx.clock.now() },
        kind,
        namespace,
        name,
        parseDuration(args.timeout, '--timeout'),
      );
      const ready = readyCondition(o);
      return {
        kind: 'message',
        text: `${args.kind} ${namespace}/${name} reconciled${ready?.message ? `: ${ready.message}` : ''}`,
        json: {
          kind,
          namespace,
          name,
          ready: true,
          reason: ready?.reason ?? null,
          message: ready?.message ?? null,
          revision: o.revision ?? null,
          lastHandledReconcileAt: o.lastHandledReconcileAt ?? null,
        },
      };
    },
  });

  return [deploys, deploy, restart, rollback, rollout, reconcileCommand];
}
