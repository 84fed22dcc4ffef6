/**
 * Drain like `kubectl drain` (research/k8s_ops.md §4): skip mirror and DaemonSet pods, refuse pods with no
 * controller unless forced, evict the rest through the Eviction API in parallel (a 429 from a
 * PodDisruptionBudget is retried after a pause), then wait until each pod is gone or replaced (new UID).
 * The whole drain is bounded by a deadline and stops when the session ends.
 */
import { Conflict, Failed, NotFound } from '../../core/errors.ts';
import { EvictionBlocked, type KubePod, type KubePort } from '../kube/index.ts';

export const MIRROR_ANNOTATION = 'kubernetes.io/config.mirror';
/** kubectl polls a deleted pod once a second. */
const GONE_POLL_MS = 1000;

export interface DrainOptions {
  force: boolean;
  deadline: number;
  evictRetryMs: number;
  signal: AbortSignal;
  progress(message: string): void;
  now(): number;
}

export interface DrainReport {
  evicted: string[];
  skipped: string[];
}

const podRef = (p: KubePod): string => `${p.namespace}/${p.name}`;
const finished = (p: KubePod): boolean => p.phase === 'Succeeded' || p.phase === 'Failed';

/** Decides per pod as kubectl's filters do; throws (node stays cordoned) when any pod may not go. */
export function planDrain(pods: KubePod[], force: boolean): { evict: KubePod[]; skipped: { pod: KubePod; why: string }[]; warnings: string[] } {
  const evict: KubePod[] = [];
  const skipped: { pod: KubePod; why: string }[] = [];
  const unmanaged: KubePod[] = [];
  const warnings: string[] = [];
  for (const pod of pods) {
    if (pod.annotations[MIRROR_ANNOTATION] !== undefined) skipped.push({ pod, why: 'mirror pod' });
    else if (pod.controller?.kind === 'DaemonSet' && !finished(pod)) skipped.push({ pod, why: 'DaemonSet-managed' });
    else if (!pod.controller && !finished(pod)) unmanaged.push(pod);
    else evict.push(pod);
  }
  if (unmanaged.length && !force) {
    throw new Conflict(`cannot drain: pods that declare no controller would be lost (use --force to delete them): ${unmanaged.map(podRef).join(', ')}`);
  }
  for (const pod of unmanaged) warnings.push(`deleting pod ${podRef(pod)}, which declares no controller (--force)`);
  for (const pod of evict) if (pod.localStorage && !finished(pod)) warnings.push(`pod ${podRef(pod)} uses emptyDir: its data is lost`);
  return { evict: [...evict, ...unmanaged], skipped, warnings };
}

export async function drainNode(kube: KubePort, node: string, opts: DrainOptions): Promise<DrainReport> {
  const pods = await kube.listPods({ nodeName: node });
  const plan = planDrain(pods, opts.force);
  const daemonSet = plan.skipped.filter((s) => s.why === 'DaemonSet-managed').map((s) => podRef(s.pod));
  if (daemonSet.length) opts.progress(`ignoring DaemonSet-managed pods: ${daemonSet.join(', ')}`);
  for (const w of plan.warnings) opts.progress(`warning: ${w}`);
  // Stops every pod's loop at the first failure, the deadline, or the end of the session.
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  opts.signal.addEventListener('abort', onAbort, { once: true });
  try {
    await Promise.all(
      plan.evict.map((pod) =>
        evictAndWait(kube, pod, opts, stop.signal).catch((err: unknown) => {
          stop.abort();
          throw err;
        }),
      ),
    );
  } finally {
    opts.signal.removeEventListener('abort', onAbort);
  }
  return { evicted: plan.evict.map(podRef), skipped: plan.skipped.map((s) => podRef(s.pod)) };
}

async function evictAndWait(kube: KubePort, pod: KubePod, opts: DrainOptions, stop: AbortSignal): Promise<void> {
  const ref = podRef(pod);
  opts.progress(`evicting pod ${ref}`);
  for (;;) {
    checkStop(ref, opts, stop);
    try {
      await kube.evictPod(pod.namespace, pod.name);
      break;
    } catch (err) {
      if (err instanceof NotFound) {
        opts.progress(`pod ${ref} evicted`);
        return;
      }
      if (!(err instanceof EvictionBlocked)) throw err;
      opts.progress(`waiting on PDB: ${err.message}; retrying in ${Math.round(opts.evictRetryMs / 1000)}s`);
      await pause(opts.evictRetryMs, ref, opts, stop);
    }
  }
  for (;;) {
    checkStop(ref, opts, stop);
    try {
      const now = await kube.getPod(pod.namespace, pod.name);
      if (now.uid !== pod.uid) break;
    } catch (err) {
      if (err instanceof NotFound) break;
      throw err;
    }
    await pause(GONE_POLL_MS, ref, opts, stop);
  }
  opts.progress(`pod ${ref} evicted`);
}

function checkStop(ref: string, opts: DrainOptions, stop: AbortSignal): void {
  if (opts.signal.aborted) throw new Failed(`drain interrupted while pod ${ref} was being evicted; the node stays cordoned`);
  if (stop.aborted) throw new Failed('drain stopped');
  if (opts.now() >= opts.deadline) throw new Failed(`drain timed out waiting for pod ${ref}; the node stays cordoned`);
}

/** Sleeps up to `ms`, no later than the deadline, waking early when stopped. */
function pause(ms: number, ref: string, opts: DrainOptions, stop: AbortSignal): Promise<void> {
  const wait = Math.max(0, Math.min(ms, opts.deadline - opts.now()));
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      stop.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, wait);
    stop.addEventListener('abort', done, { once: true });
  }).then(() => checkStop(ref, opts, stop));
}
