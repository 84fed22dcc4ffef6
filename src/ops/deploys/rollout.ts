/**
 * Following a Deployment's rollout like `kubectl rollout status`: done when the controller has seen the
 * latest spec and every replica is updated and available; failed on ProgressDeadlineExceeded.
 */
import { Failed, NotFound } from '../../core/errors.ts';
import { formatDuration } from '../../core/duration.ts';
import type { KubeDeployment, KubePort } from '../kube/index.ts';
import { Deadline } from './wait.ts';

/** Polling keeps every step a bounded request, so a dead API server shows up within the request time-out. */
export const POLL_MS = 500;

export type RolloutState = { phase: 'done' | 'waiting' | 'failed'; message: string };

export function rolloutState(d: KubeDeployment): RolloutState {
  const name = `"${d.namespace}/${d.name}"`;
  if (d.status.observedGeneration === undefined || d.generation > d.status.observedGeneration)
    return { phase: 'waiting', message: 'Waiting for deployment spec update to be observed...' };
  const progressing = d.conditions.find((c) => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return { phase: 'failed', message: `deployment ${name} exceeded its progress deadline${progressing.message ? ` (${progressing.message})` : ''}` };
  }
  const s = d.status;
  if (s.updatedReplicas < d.replicas)
    return {
      phase: 'waiting',
      message: `Waiting for deployment ${name} rollout to finish: ${s.updatedReplicas} out of ${d.replicas} new replicas have been updated...`,
    };
  if (s.replicas > s.updatedReplicas)
    return {
      phase: 'waiting',
      message: `Waiting for deployment ${name} rollout to finish: ${s.replicas - s.updatedReplicas} old replicas are pending termination...`,
    };
  if (s.availableReplicas < s.updatedReplicas)
    return {
      phase: 'waiting',
      message: `Waiting for deployment ${name} rollout to finish: ${s.availableReplicas} of ${s.updatedReplicas} updated replicas are available...`,
    };
  return { phase: 'done', message: `deployment ${name} successfully rolled out` };
}

export interface FollowContext {
  signal: AbortSignal;
  progress(message: string): void;
}

/** Polls until the rollout is done; progress lines only when something changed. Returns the rolled-out Deployment. */
export async function followRollout(kube: KubePort, ctx: FollowContext, namespace: string, name: string, timeoutSeconds: number): Promise<KubeDeployment> {
  const deadline = new Deadline(timeoutSeconds);
  let last = '';
  for (;;) {
    let d: KubeDeployment;
    try {
      d = await kube.getDeployment(namespace, name);
    } catch (err) {
      if (err instanceof NotFound && last) throw new Failed(`deployment "${namespace}/${name}" was deleted during its rollout`, { cause: err });
      throw err;
    }
    const state = rolloutState(d);
    if (state.phase === 'done') return d;
    if (state.phase === 'failed') throw new Failed(state.message);
    if (state.message !== last) ctx.progress(state.message);
    last = state.message;
    if (deadline.passed) {
      throw new Failed(
        `timed out after ${formatDuration(timeoutSeconds)} waiting for deployment "${namespace}/${name}" to roll out (${state.message.replace(/^Waiting for [^:]*: /, '').replace(/\.\.\.$/, '')}); the rollout goes on in the cluster`,
      );
    }
    await deadline.pause(POLL_MS, ctx.signal, `following deployment "${namespace}/${name}"`);
  }
}
