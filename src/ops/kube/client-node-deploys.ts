/** Deployments, ReplicaSets and Flux objects over client-node 1.x, for ClientNodeKube (same time-outs and error mapping). */
import { AppsV1Api, CustomObjectsApi, type ConfigurationOptions, type KubeConfig, type V1Deployment, type V1ReplicaSet } from '@kubernetes/client-node';
import type { DeploymentPatch, FluxKind, FluxObject, KubeDeployment, KubeReplicaSet, PodTemplate, StatusCondition } from './port.ts';

const STRATEGIC_MERGE = 'application/strategic-merge-patch+json';
const MERGE = 'application/merge-patch+json';
/** The field manager `flux reconcile` uses, so Flux's server-side apply leaves the annotation alone. */
const FLUX_FIELD_MANAGER = 'flux-client-side-apply';

const FLUX: Record<FluxKind, { group: string; version: string; plural: string }> = {
  Kustomization: { group: 'kustomize.toolkit.fluxcd.io', version: 'v1', plural: 'kustomizations' },
  HelmRelease: { group: 'helm.toolkit.fluxcd.io', version: 'v2', plural: 'helmreleases' },
};

export type KubeCall = <T>(what: string, fn: (options: ConfigurationOptions) => Promise<T>, contentType?: string) => Promise<T>;

export class ClientNodeDeploys {
  private readonly apps: AppsV1Api;
  private readonly custom: CustomObjectsApi;

  constructor(
    kc: KubeConfig,
    private readonly call: KubeCall,
  ) {
    this.apps = kc.makeApiClient(AppsV1Api);
    this.custom = kc.makeApiClient(CustomObjectsApi);
  }

  async listDeployments(opts: { namespace?: string } = {}): Promise<KubeDeployment[]> {
    const list = await this.call(opts.namespace ? `deployments in ${opts.namespace}` : 'list deployments', (o) =>
      opts.namespace ? this.apps.listNamespacedDeployment({ namespace: opts.namespace }, o) : this.apps.listDeploymentForAllNamespaces({}, o),
    );
    return list.items.map(toDeployment);
  }

  async getDeployment(namespace: string, name: string): Promise<KubeDeployment> {
    return toDeployment(await this.call(`deployment ${namespace}/${name}`, (o) => this.apps.readNamespacedDeployment({ namespace, name }, o)));
  }

  async patchDeployment(namespace: string, name: string, patch: DeploymentPatch): Promise<KubeDeployment> {
    const metadata: Record<string, unknown> = {};
    // A resourceVersion in a patch is a precondition: the server answers 409 if the object changed since.
    if (patch.resourceVersion) metadata.resourceVersion = patch.resourceVersion;
    if (patch.annotations) metadata.annotations = patch.annotations;
    let template: Record<string, unknown> | undefined;
    if (patch.template) template = { $patch: 'replace', ...patch.template };
    else if (patch.images || patch.templateAnnotations) {
      template = {};
      if (patch.templateAnnotations) template.metadata = { annotations: patch.templateAnnotations };
      // Containers merge on their name, so only the image of the named ones changes.
      if (patch.images) template.spec = { containers: Object.entries(patch.images).map(([container, image]) => ({ name: container, image })) };
    }
    const body = { metadata, ...(template ? { spec: { template } } : {}) };
    return toDeployment(
      await this.call(`deployment ${namespace}/${name}`, (o) => this.apps.patchNamespacedDeployment({ namespace, name, body }, o), STRATEGIC_MERGE),
    );
  }

  async listReplicaSets(namespace: string, opts: { labelSelector?: string } = {}): Promise<KubeReplicaSet[]> {
    const list = await this.call(`replica sets in ${namespace}`, (o) =>
      this.apps.listNamespacedReplicaSet({ namespace, labelSelector: opts.labelSelector }, o),
    );
    return list.items.map(toReplicaSet);
  }

  async getFluxObject(kind: FluxKind, namespace: string, name: string): Promise<FluxObject> {
    const raw = (await this.call(`${kind.toLowerCase()} ${namespace}/${name}`, (o) =>
      this.custom.getNamespacedCustomObject({ ...FLUX[kind], namespace, name }, o),
    )) as FluxRaw;
    return toFlux(kind, raw);
  }

  async annotateFluxObject(kind: FluxKind, namespace: string, name: string, annotations: Record<string, string>): Promise<FluxObject> {
    const body = { metadata: { annotations } };
    const raw = (await this.call(
      `${kind.toLowerCase()} ${namespace}/${name}`,
      (o) => this.custom.patchNamespacedCustomObject({ ...FLUX[kind], namespace, name, body, fieldManager: FLUX_FIELD_MANAGER }, o),
      MERGE,
    )) as FluxRaw;
    return toFlux(kind, raw);
  }
}

const asDate = (v: Date | string | undefined): Date | undefined => (v === undefined || v === null ? undefined : v instanceof Date ? v : new Date(v));

/** client-node's models keep the wire names for pod templates; JSON turns its Dates back into timestamps. */
function templateJson(template: unknown): PodTemplate {
  return JSON.parse(JSON.stringify(template ?? {})) as PodTemplate;
}

interface RawCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastUpdateTime?: Date | string;
  lastTransitionTime?: Date | string;
}

function toConditions(list: RawCondition[] | undefined): StatusCondition[] {
  return (list ?? []).map((c) => ({
    type: c.type,
    status: c.status,
    reason: c.reason,
    message: c.message,
    lastUpdateTime: asDate(c.lastUpdateTime),
    lastTransitionTime: asDate(c.lastTransitionTime),
  }));
}

function toDeployment(d: V1Deployment): KubeDeployment {
  const s = d.status;
  return {
    namespace: d.metadata?.namespace ?? '',
    name: d.metadata?.name ?? '',
    uid: d.metadata?.uid ?? '',
    resourceVersion: d.metadata?.resourceVersion ?? '',
    generation: d.metadata?.generation ?? 0,
    createdAt: asDate(d.metadata?.creationTimestamp),
    labels: d.metadata?.labels ?? {},
    annotations: d.metadata?.annotations ?? {},
    replicas: d.spec?.replicas ?? 1,
    paused: d.spec?.paused === true,
    progressDeadlineSeconds: d.spec?.progressDeadlineSeconds,
    matchLabels: d.spec?.selector?.matchLabels ?? {},
    containers: (d.spec?.template?.spec?.containers ?? []).map((c) => ({ name: c.name, image: c.image ?? '' })),
    template: templateJson(d.spec?.template),
    status: {
      observedGeneration: s?.observedGeneration,
      replicas: s?.replicas ?? 0,
      updatedReplicas: s?.updatedReplicas ?? 0,
      readyReplicas: s?.readyReplicas ?? 0,
      availableReplicas: s?.availableReplicas ?? 0,
      unavailableReplicas: s?.unavailableReplicas ?? 0,
    },
    conditions: toConditions(s?.conditions),
  };
}

function toReplicaSet(rs: V1ReplicaSet): KubeReplicaSet {
  const owner = rs.metadata?.ownerReferences?.find((r) => r.controller);
  return {
    namespace: rs.metadata?.namespace ?? '',
    name: rs.metadata?.name ?? '',
    uid: rs.metadata?.uid ?? '',
    createdAt: asDate(rs.metadata?.creationTimestamp),
    annotations: rs.metadata?.annotations ?? {},
    controller: owner ? { kind: owner.kind, name: owner.name, uid: owner.uid } : undefined,
    replicas: rs.spec?.replicas ?? 1,
    template: templateJson(rs.spec?.template),
  };
}

interface FluxRaw {
  metadata?: { namespace?: string; name?: string; generation?: number; annotations?: Record<string, string> };
  spec?: { suspend?: boolean };
  status?: {
    observedGeneration?: number;
    lastHandledReconcileAt?: string;
    lastAppliedRevision?: string;
    lastAttemptedRevision?: string;
    conditions?: RawCondition[];
  };
}

function toFlux(kind: FluxKind, o: FluxRaw): FluxObject {
  return {
    kind,
    namespace: o.metadata?.namespace ?? '',
    name: o.metadata?.name ?? '',
    generation: o.metadata?.generation ?? 0,
    suspended: o.spec?.suspend === true,
    annotations: o.metadata?.annotations ?? {},
    observedGeneration: o.status?.observedGeneration,
    lastHandledReconcileAt: o.status?.lastHandledReconcileAt,
    revision: o.status?.lastAppliedRevision ?? o.status?.lastAttemptedRevision,
    conditions: toConditions(o.status?.conditions),
  };
}
