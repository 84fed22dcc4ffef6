/**
 * `flux reconcile` for Kustomizations and HelmReleases: write a new reconcile.fluxcd.io/requestedAt,
 * wait until the controller reports it handled (status.lastHandledReconcileAt), then for Ready.
 */
import { formatDuration } from '../../core/duration.ts';
import { Failed } from '../../core/errors.ts';
import type { FluxKind, FluxObject, KubePort } from '../kube/index.ts';
import type { FollowContext } from './rollout.ts';
import { POLL_MS } from './rollout.ts';
import { Deadline } from './wait.ts';

export const REQUESTED_AT = 'reconcile.fluxcd.io/requestedAt';

export function readyCondition(o: FluxObject) {
  return o.conditions.find((c) => c.type === 'Ready');
}

export async function reconcile(
  kube: KubePort,
  ctx: FollowContext & { now: Date },
  kind: FluxKind,
  namespace: string,
  name: string,
  timeoutSeconds: number,
): Promise<FluxObject> {
  const ref = `${kind.toLowerCase()} ${namespace}/${name}`;
  const current = await kube.getFluxObject(kind, namespace, name);
  if (current.suspended) throw new Failed(`${ref} is suspended; resume it before asking for a reconcile`);
  // Any new value queues a reconcile; an RFC 3339 time with fractions is what the flux CLI writes.
  const token = ctx.now.toISOString();
  await kube.annotateFluxObject(kind, namespace, name, { [REQUESTED_AT]: token });
  ctx.progress(`requested a reconcile of ${ref}; waiting for ${kind === 'Kustomization' ? 'kustomize' : 'helm'}-controller...`);
  const deadline = new Deadline(timeoutSeconds);
  let handled = false;
  for (;;) {
    const o = await kube.getFluxObject(kind, namespace, name);
    if (o.lastHandledReconcileAt === token) {
      if (!handled) ctx.progress(`${ref}: reconcile handled, waiting for Ready...`);
      handled = true;
      const ready = readyCondition(o);
      const observed = o.observedGeneration === undefined || o.observedGeneration >= o.generation;
      if (observed && ready?.status === 'True') return o;
      if (observed && ready?.status === 'False') throw new Failed(`${ref} reconciliation failed: ${ready.message ?? ready.reason ?? 'Ready=False'}`);
    }
    if (deadline.passed) {
      throw new Failed(
        `timed out after ${formatDuration(timeoutSeconds)} waiting for ${ref} to ${handled ? 'become Ready' : 'handle the reconcile request (is the Flux controller running?)'}`,
      );
    }
    await deadline.pause(POLL_MS, ctx.signal, `waiting for ${ref}`);
  }
}
