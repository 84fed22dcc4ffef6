/**
 * `kubectl rollout undo` for Deployments: the wanted revision is a ReplicaSet the Deployment controls
 * (annotation deployment.kubernetes.io/revision); its pod template, without the pod-template-hash
 * label, becomes the Deployment's template again.
 */
import { NotFound } from '../../core/errors.ts';
import type { DeploymentPatch, KubeDeployment, KubeReplicaSet, PodTemplate } from '../kube/index.ts';

export const REVISION = 'deployment.kubernetes.io/revision';
const POD_TEMPLATE_HASH = 'pod-template-hash';
/** Annotations that belong to the Deployment itself and are never copied back from a ReplicaSet (kubectl's list). */
const OWN_ANNOTATIONS = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION,
  'deployment.kubernetes.io/revision-history',
  'deployment.kubernetes.io/desired-replicas',
  'deployment.kubernetes.io/max-replicas',
  'deprecated.deployment.rollback.to',
]);

export function revisionOf(rs: KubeReplicaSet): number | undefined {
  const v = Number(rs.annotations[REVISION]);
  return Number.isSafeInteger(v) && v > 0 ? v : undefined;
}

/** The ReplicaSets this Deployment controls, newest revision first. */
export function revisions(d: KubeDeployment, all: KubeReplicaSet[]): { revision: number; rs: KubeReplicaSet }[] {
  return all
    .filter((rs) => rs.controller?.uid === d.uid)
    .flatMap((rs) => {
      const revision = revisionOf(rs);
      return revision === undefined ? [] : [{ revision, rs }];
    })
    .sort((a, b) => b.revision - a.revision);
}

/** The wanted revision (default: the one before the newest), or NotFound naming the ones there are. */
export function pickRevision(d: KubeDeployment, all: KubeReplicaSet[], to: number | undefined): { revision: number; rs: KubeReplicaSet } {
  const history = revisions(d, all);
  const ref = `deployment "${d.namespace}/${d.name}"`;
  const known = history.map((h) => h.revision).join(', ') || 'none';
  if (to !== undefined) {
    const hit = history.find((h) => h.revision === to);
    if (!hit) throw new NotFound(`${ref} has no revision ${to} (revisions: ${known})`);
    return hit;
  }
  if (history.length < 2) throw new NotFound(`${ref} has no previous revision to roll back to (revisions: ${known})`);
  return history[1]!;
}

/** The ReplicaSet's template as the Deployment would carry it. */
export function templateOf(rs: KubeReplicaSet): PodTemplate {
  const template = structuredClone(rs.template) as { metadata?: { labels?: Record<string, string> } };
  if (template.metadata?.labels) {
    delete template.metadata.labels[POD_TEMPLATE_HASH];
    if (!Object.keys(template.metadata.labels).length) delete template.metadata.labels;
  }
  return template as PodTemplate;
}

/** Same content regardless of key order or empty fields (different writers serialize a template differently). */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = canonical((v as Record<string, unknown>)[k]);
      if (x === null || x === undefined || (typeof x === 'object' && !Array.isArray(x) && !Object.keys(x).length)) continue;
      out[k] = x;
    }
    return out;
  }
  return v;
}

export function sameTemplate(a: PodTemplate, b: PodTemplate): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

/**
 * The patch that restores `rs`: its template in place of the current one, and the Deployment's annotations
 * replaced by the ReplicaSet's, except those that belong to the Deployment itself.
 */
export function rollbackPatch(d: KubeDeployment, rs: KubeReplicaSet): DeploymentPatch {
  const annotations: Record<string, string | null> = {};
  for (const k of Object.keys(d.annotations)) if (!OWN_ANNOTATIONS.has(k) && !(k in rs.annotations)) annotations[k] = null;
  for (const [k, v] of Object.entries(rs.annotations)) if (!OWN_ANNOTATIONS.has(k) && d.annotations[k] !== v) annotations[k] = v;
  return { resourceVersion: d.resourceVersion, template: templateOf(rs), ...(Object.keys(annotations).length ? { annotations } : {}) };
}
