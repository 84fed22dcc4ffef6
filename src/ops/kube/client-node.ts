/**
 * The KubePort adapter over @kubernetes/client-node 1.x (the only code that imports it; 2.x does not load
 * on Node 20). Every request carries its own time-out, so a down or slow API server gives a typed error.
 */
import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  Observable,
  type ConfigurationOptions,
  type CoreV1Event,
  type RequestContext,
  type ResponseContext,
  type V1Node,
  type V1Pod,
  type V1Secret,
} from '@kubernetes/client-node';
import { mapKubeError, EvictionBlocked } from './errors.ts';
import { ClientNodeDeploys } from './client-node-deploys.ts';
import type { DeploymentPatch, FluxKind, FluxObject, KubeDeployment, KubeReplicaSet } from './port.ts';
import type { KubeSource } from './connect.ts';
import type { KiloPeer, KubeEvent, KubeNode, KubePod, KubePort, KubeSecret, NodePatch } from './port.ts';

const STRATEGIC_MERGE = 'application/strategic-merge-patch+json';
const MERGE = 'application/merge-patch+json';
const PEERS = { group: 'kilo.squat.ai', version: 'v1alpha1', plural: 'peers' } as const;

/** Credentials and the current context from a kubeconfig file or the pod's service account; a bad kubeconfig fails with one line. */
export function loadKubeConfig(source: Exclude<KubeSource, { kind: 'none' }>): KubeConfig {
  const kc = new KubeConfig();
  if (source.kind === 'in-cluster') {
    kc.loadFromCluster();
    return kc;
  }
  try {
    kc.loadFromFile(source.path);
    if (source.context) {
      if (!kc.getContexts().some((c) => c.name === source.context)) throw new Error(`no context '${source.context}' in it`);
      kc.setCurrentContext(source.context);
    }
    const cluster = kc.getCurrentCluster();
    if (cluster?.server.startsWith('http:') && !cluster.skipTLSVerify) {
      throw new Error(`cluster '${cluster.name}' uses plain http, which needs insecure-skip-tls-verify: true`);
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : String(e.message).split('\n')[0];
    throw new Error(`kube.kubeconfig (LABD_KUBECONFIG) ${source.path}: ${why}`, { cause: err });
  }
  return kc;
}

export class ClientNodeKube implements KubePort {
  readonly target: string;
  private readonly core: CoreV1Api;
  private readonly deploys: ClientNodeDeploys;
  private readonly custom: CustomObjectsApi;

  private constructor(
    kc: KubeConfig,
    where: string,
    private readonly timeoutMs: number,
  ) {
    const server = kc.getCurrentCluster()?.server;
    if (!server) throw new Error(`${where}: the current context names no cluster server`);
    this.target = server;
    this.core = kc.makeApiClient(CoreV1Api);
    this.deploys = new ClientNodeDeploys(kc, (what, fn, contentType) => this.call(what, fn, contentType));
    this.custom = kc.makeApiClient(CustomObjectsApi);
  }

  /** Loads credentials; a kubeconfig that cannot be read or used fails here, at start, with one line. */
  static connect(source: Exclude<KubeSource, { kind: 'none' }>, timeoutMs: number): ClientNodeKube {
    return new ClientNodeKube(loadKubeConfig(source), source.kind === 'in-cluster' ? 'in-cluster config' : source.path, timeoutMs);
  }

  /** Runs one API call with a time-out, an optional content type, and error mapping. */
  private async call<T>(what: string, fn: (options: ConfigurationOptions) => Promise<T>, contentType?: string): Promise<T> {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.timeoutMs);
    // The object-parameter API hands per-call middleware (observable style in 1.x) every request:
    // the place to attach the abort signal and the patch content type.
    const middleware = {
      pre: (ctx: RequestContext) => {
        ctx.setSignal(controller.signal);
        if (contentType) ctx.setHeaderParam('Content-Type', contentType);
        return new Observable(Promise.resolve(ctx));
      },
      post: (response: ResponseContext) => new Observable(Promise.resolve(response)),
    };
    try {
      return await fn({ middleware: [middleware], middlewareMergeStrategy: 'append' });
    } catch (err) {
      throw mapKubeError(err, what, this.target, this.timeoutMs / 1000, timedOut);
    } finally {
      clearTimeout(timer);
    }
  }

  async listNodes(opts: { labelSelector?: string } = {}): Promise<KubeNode[]> {
    const list = await this.call('list nodes', (o) => this.core.listNode({ labelSelector: opts.labelSelector }, o));
    return list.items.map(toNode);
  }

  async getNode(name: string): Promise<KubeNode> {
    return toNode(await this.call(`node ${name}`, (o) => this.core.readNode({ name }, o)));
  }

  async patchNode(name: string, patch: NodePatch): Promise<KubeNode> {
    const body: Record<string, unknown> = {};
    if (patch.unschedulable !== undefined) body.spec = { unschedulable: patch.unschedulable ? true : null };
    if (patch.labels || patch.annotations)
      body.metadata = { ...(patch.labels ? { labels: patch.labels } : {}), ...(patch.annotations ? { annotations: patch.annotations } : {}) };
    return toNode(await this.call(`node ${name}`, (o) => this.core.patchNode({ name, body }, o), STRATEGIC_MERGE));
  }

  async deleteNode(name: string): Promise<void> {
    await this.call(`node ${name}`, (o) => this.core.deleteNode({ name }, o));
  }

  // Kilo peers (seats).
  async listPeers(opts: { labelSelector?: string } = {}): Promise<KiloPeer[]> {
    const list = (await this.call('list Kilo peers', (o) => this.custom.listClusterCustomObject({ ...PEERS, labelSelector: opts.labelSelector }, o))) as {
      items?: PeerObject[];
    };
    return (list.items ?? []).map(toPeer);
  }

  async getPeer(name: string): Promise<KiloPeer> {
    return toPeer(await this.call(`Kilo peer ${name}`, (o) => this.custom.getClusterCustomObject({ ...PEERS, name }, o)));
  }

  async createPeer(peer: Omit<KiloPeer, 'resourceVersion'>): Promise<KiloPeer> {
    const spec: Record<string, unknown> = { publicKey: peer.publicKey, allowedIPs: peer.allowedIPs };
    if (peer.persistentKeepalive !== undefined) spec.persistentKeepalive = peer.persistentKeepalive;
    const body = { apiVersion: `${PEERS.group}/${PEERS.version}`, kind: 'Peer', metadata: { name: peer.name, labels: peer.labels }, spec };
    return toPeer(await this.call(`Kilo peer ${peer.name}`, (o) => this.custom.createClusterCustomObject({ ...PEERS, body }, o)));
  }

  async setPeerPublicKey(name: string, publicKey: string, resourceVersion: string): Promise<KiloPeer> {
    // The resourceVersion in a merge patch is a precondition: a Peer changed since it was read gives 409.
    const body = { metadata: { resourceVersion }, spec: { publicKey } };
    return toPeer(await this.call(`Kilo peer ${name}`, (o) => this.custom.patchClusterCustomObject({ ...PEERS, name, body }, o), MERGE));
  }

  async deletePeer(name: string): Promise<void> {
    await this.call(`Kilo peer ${name}`, (o) => this.custom.deleteClusterCustomObject({ ...PEERS, name }, o));
  }

  async listPods(opts: { nodeName?: string; namespace?: string; labelSelector?: string } = {}): Promise<KubePod[]> {
    const fieldSelector = opts.nodeName ? `spec.nodeName=${opts.nodeName}` : undefined;
    const list = await this.call(opts.nodeName ? `pods on node ${opts.nodeName}` : 'list pods', (o) =>
      opts.namespace
        ? this.core.listNamespacedPod({ namespace: opts.namespace, fieldSelector, labelSelector: opts.labelSelector }, o)
        : this.core.listPodForAllNamespaces({ fieldSelector, labelSelector: opts.labelSelector }, o),
    );
    return list.items.map(toPod);
  }

  async evictPod(namespace: string, name: string): Promise<void> {
    try {
      await this.call(`pod ${namespace}/${name}`, (o) =>
        this.core.createNamespacedPodEviction({ namespace, name, body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace } } }, o),
      );
    } catch (err) {
      // 429 from the eviction subresource means a PodDisruptionBudget says "not now".
      const cause = (err as { cause?: { code?: number; body?: string } }).cause;
      if (cause?.code === 429)
        throw new EvictionBlocked(`pod ${namespace}/${name}: ${statusMessage(cause.body) ?? 'eviction refused by a disruption budget'}`, { cause });
      throw err;
    }
  }

  async listEvents(opts: { kind: string; name: string; namespace?: string }): Promise<KubeEvent[]> {
    const fieldSelector = `involvedObject.kind=${opts.kind},involvedObject.name=${opts.name}`;
    const list = await this.call(`events of ${opts.kind.toLowerCase()} ${opts.name}`, (o) =>
      opts.namespace
        ? this.core.listNamespacedEvent({ namespace: opts.namespace, fieldSelector }, o)
        : this.core.listEventForAllNamespaces({ fieldSelector }, o),
    );
    return list.items.map(toEvent).sort((a, b) => (a.lastAt?.getTime() ?? 0) - (b.lastAt?.getTime() ?? 0));
  }

  // Node provisioning and drain.
  async getPod(namespace: string, name: string): Promise<KubePod> {
    return toPod(await this.call(`pod ${namespace}/${name}`, (o) => this.core.readNamespacedPod({ namespace, name }, o)));
  }

  async createSecret(secret: Omit<KubeSecret, 'createdAt'>): Promise<void> {
    const data = Object.fromEntries(Object.entries(secret.data).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')]));
    const body = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: secret.name, namespace: secret.namespace, labels: secret.labels },
      type: secret.type,
      data,
    };
    await this.call(`secret ${secret.namespace}/${secret.name}`, (o) => this.core.createNamespacedSecret({ namespace: secret.namespace, body }, o));
  }

  async listSecrets(namespace: string, opts: { labelSelector?: string } = {}): Promise<KubeSecret[]> {
    const list = await this.call(`secrets in ${namespace}`, (o) => this.core.listNamespacedSecret({ namespace, labelSelector: opts.labelSelector }, o));
    return list.items.map(toSecret);
  }

  async deleteSecret(namespace: string, name: string): Promise<void> {
    await this.call(`secret ${namespace}/${name}`, (o) => this.core.deleteNamespacedSecret({ namespace, name }, o));
  }

  // Deployments and Flux.
  listDeployments(opts?: { namespace?: string }): Promise<KubeDeployment[]> {
    return this.deploys.listDeployments(opts);
  }

  getDeployment(namespace: string, name: string): Promise<KubeDeployment> {
    return this.deploys.getDeployment(namespace, name);
  }

  patchDeployment(namespace: string, name: string, patch: DeploymentPatch): Promise<KubeDeployment> {
    return this.deploys.patchDeployment(namespace, name, patch);
  }

  listReplicaSets(namespace: string, opts?: { labelSelector?: string }): Promise<KubeReplicaSet[]> {
    return this.deploys.listReplicaSets(namespace, opts);
  }

  getFluxObject(kind: FluxKind, namespace: string, name: string): Promise<FluxObject> {
    return this.deploys.getFluxObject(kind, namespace, name);
  }

  annotateFluxObject(kind: FluxKind, namespace: string, name: string, annotations: Record<string, string>): Promise<FluxObject> {
    return this.deploys.annotateFluxObject(kind, namespace, name, annotations);
  }
}

function toSecret(s: V1Secret): KubeSecret {
  return {
    namespace: s.metadata?.namespace ?? '',
    name: s.metadata?.name ?? '',
    type: s.type ?? 'Opaque',
    labels: s.metadata?.labels ?? {},
    createdAt: asDate(s.metadata?.creationTimestamp),
    data: Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')])),
  };
}

interface PeerObject {
  metadata?: { name?: string; resourceVersion?: string; labels?: Record<string, string> };
  spec?: { publicKey?: string; allowedIPs?: string[]; persistentKeepalive?: number };
}

function toPeer(p: PeerObject): KiloPeer {
  return {
    name: p.metadata?.name ?? '',
    resourceVersion: p.metadata?.resourceVersion ?? '',
    labels: p.metadata?.labels ?? {},
    publicKey: p.spec?.publicKey ?? '',
    allowedIPs: p.spec?.allowedIPs ?? [],
    persistentKeepalive: p.spec?.persistentKeepalive,
  };
}

/** The Status message, with its causes (an eviction 429 names the budget only there). */
function statusMessage(body: string | undefined): string | undefined {
  try {
    const status = JSON.parse(body ?? '') as { message?: string; details?: { causes?: { message?: string }[] } };
    const causes = (status.details?.causes ?? []).map((c) => c.message).filter(Boolean);
    return [status.message, ...causes].filter(Boolean).join(' ') || undefined;
  } catch {
    return undefined;
  }
}

/** Quantities are strings on the wire; a hand-written object may carry bare numbers. */
const quantities = (r: Record<string, string> | undefined): Record<string, string> =>
  Object.fromEntries(Object.entries(r ?? {}).map(([k, v]) => [k, String(v)]));

const asDate = (v: Date | string | undefined): Date | undefined => (v === undefined ? undefined : v instanceof Date ? v : new Date(v));

function toNode(n: V1Node): KubeNode {
  return {
    name: n.metadata?.name ?? '',
    uid: n.metadata?.uid ?? '',
    resourceVersion: n.metadata?.resourceVersion ?? '',
    createdAt: asDate(n.metadata?.creationTimestamp),
    labels: n.metadata?.labels ?? {},
    annotations: n.metadata?.annotations ?? {},
    unschedulable: n.spec?.unschedulable === true,
    taints: (n.spec?.taints ?? []).map((t) => ({ key: t.key, value: t.value, effect: t.effect })),
    conditions: (n.status?.conditions ?? []).map((c) => ({
      type: c.type,
      status: c.status,
      reason: c.reason,
      message: c.message,
      lastTransitionTime: asDate(c.lastTransitionTime),
    })),
    addresses: (n.status?.addresses ?? []).map((a) => ({ type: a.type, address: a.address })),
    capacity: quantities(n.status?.capacity),
    allocatable: quantities(n.status?.allocatable),
    info: {
      kubeletVersion: n.status?.nodeInfo?.kubeletVersion,
      osImage: n.status?.nodeInfo?.osImage,
      kernelVersion: n.status?.nodeInfo?.kernelVersion,
      containerRuntimeVersion: n.status?.nodeInfo?.containerRuntimeVersion,
      architecture: n.status?.nodeInfo?.architecture,
    },
  };
}

function toPod(p: V1Pod): KubePod {
  const statuses = p.status?.containerStatuses ?? [];
  const owner = p.metadata?.ownerReferences?.find((r) => r.controller);
  const ready = p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
  const containers = p.spec?.containers?.length ?? 0;
  return {
    namespace: p.metadata?.namespace ?? '',
    name: p.metadata?.name ?? '',
    uid: p.metadata?.uid ?? '',
    nodeName: p.spec?.nodeName,
    phase: p.status?.phase ?? 'Unknown',
    // Without container statuses (pods written by hand), the Ready condition stands for all containers.
    readyContainers: statuses.length ? statuses.filter((s) => s.ready).length : ready ? containers : 0,
    containers,
    restarts: statuses.reduce((n, s) => n + (s.restartCount ?? 0), 0),
    createdAt: asDate(p.metadata?.creationTimestamp),
    deleting: !!p.metadata?.deletionTimestamp,
    controller: owner ? { kind: owner.kind, name: owner.name } : undefined,
    labels: p.metadata?.labels ?? {},
    annotations: p.metadata?.annotations ?? {},
    localStorage: (p.spec?.volumes ?? []).some((v) => !!v.emptyDir),
  };
}

function toEvent(e: CoreV1Event): KubeEvent {
  return {
    namespace: e.metadata?.namespace ?? '',
    type: e.type ?? 'Normal',
    reason: e.reason ?? '',
    message: e.message ?? '',
    count: e.count ?? 1,
    firstAt: asDate(e.firstTimestamp ?? e.eventTime),
    lastAt: asDate(e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp),
    source: e.source?.component ?? e.reportingComponent,
    involved: { kind: e.involvedObject.kind ?? '', name: e.involvedObject.name ?? '', namespace: e.involvedObject.namespace },
  };
}
