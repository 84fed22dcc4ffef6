/** policy/v1 Eviction: refused with 429 while a matching PodDisruptionBudget allows no disruption. */
import { findResource } from './resources.ts';
import { selectorObjectMatches } from './selectors.ts';
import { errors, success, type StatusDoc } from './status.ts';
import type { KubeObject, ObjectStore } from './store.ts';

const PODS = findResource('', 'v1', 'pods')!;
const PDBS = findResource('policy', 'v1', 'poddisruptionbudgets')!;

export function evictPod(store: ObjectStore, namespace: string, name: string, body: KubeObject | undefined): StatusDoc {
  const pod = store.get(PODS, namespace, name);
  if (!pod) throw errors.notFound(PODS, name);
  if (body?.metadata?.name && body.metadata.name !== name) throw errors.badRequest(`name in URL does not match name in Eviction object`);
  const phase = (pod.status as { phase?: string } | undefined)?.phase;
  // Finished pods never count against a budget (the eviction REST handler deletes them straight away).
  if (phase !== 'Succeeded' && phase !== 'Failed') {
    const pdbs = store.list(PDBS, namespace).filter((p) => selectorObjectMatches((p.spec as { selector?: never } | undefined)?.selector, pod.metadata.labels));
    if (pdbs.length > 1) throw errors.internal('This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.');
    const pdb = pdbs[0];
    if (pdb) {
      const status = (pdb.status ?? {}) as { disruptionsAllowed?: number; desiredHealthy?: number; currentHealthy?: number };
      if ((status.disruptionsAllowed ?? 0) <= 0) {
        throw errors.tooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", [
          {
            reason: 'DisruptionBudget',
            message: `The disruption budget ${pdb.metadata.name} needs ${status.desiredHealthy ?? 0} healthy pods and has ${status.currentHealthy ?? 0} currently`,
          },
        ]);
      }
      pdb.status = { ...status, disruptionsAllowed: (status.disruptionsAllowed ?? 0) - 1 };
      store.update(PDBS, pdb);
    }
  }
  store.delete(PODS, namespace, name);
  return success(201);
}
