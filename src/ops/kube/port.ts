/**
 * What the operations layer needs from a Kubernetes cluster, in labd's own terms (no client-node types).
 * Implemented by the client-node adapter; every call fails with a typed LabdError.
 */
export interface NodeCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: Date;
}

export interface NodeTaint {
  key: string;
  value?: string;
  effect: string;
}

export interface KubeNode {
  name: string;
  uid: string;
  resourceVersion: string;
  createdAt?: Date;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  unschedulable: boolean;
  taints: NodeTaint[];
  conditions: NodeCondition[];
  addresses: { type: string; address: string }[];
  capacity: Record<string, string>;
  allocatable: Record<string, string>;
  info: { kubeletVersion?: string; osImage?: string; kernelVersion?: string; containerRuntimeVersion?: string; architecture?: string };
}

export interface KubePod {
  namespace: string;
  name: string;
  uid: string;
  nodeName?: string;
  phase: string;
  readyContainers: number;
  containers: number;
  restarts: number;
  createdAt?: Date;
  deleting: boolean;
  /** The controlling owner (ReplicaSet, DaemonSet, StatefulSet, Job …), if any. */
  controller?: { kind: string; name: string };
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Uses an emptyDir volume (data lost on eviction). */
  localStorage: boolean;
}

/** A Kilo Peer (kilo.squat.ai/v1alpha1, cluster-scoped): a WireGuard peer outside the cluster, e.g. a seat. */
export interface KiloPeer {
  name: string;
  resourceVersion: string;
  labels: Record<string, string>;
  /** base64 of the 32-byte Curve25519 public key. */
  publicKey: string;
  /** CIDRs, e.g. 10.5.0.2/32. */
  allowedIPs: string[];
  /** Seconds; 0 or absent = off. */
  persistentKeepalive?: number;
}

export interface KubeEvent {
  namespace: string;
  type: string;
  reason: string;
  message: string;
  count: number;
  firstAt?: Date;
  lastAt?: Date;
  source?: string;
  involved: { kind: string; name: string; namespace?: string };
}

/** Changes to a Node: `null` removes a label or annotation. */
export interface NodePatch {
  unschedulable?: boolean;
  labels?: Record<string, string | null>;
  annotations?: Record<string, string | null>;
}

/** A Secret with its data decoded to text (bootstrap tokens, k3s node passwords). */
export interface KubeSecret {
  namespace: string;
  name: string;
  type: string;
  labels: Record<string, string>;
  createdAt?: Date;
  data: Record<string, string>;
}

export interface KubePort {
  /** Which cluster this is, for messages ("http://10.0.0.1:6443 from /etc/labd/kubeconfig"). */
  readonly target: string;
  listNodes(opts?: { labelSelector?: string }): Promise<KubeNode[]>;
  /** Throws NotFound. */
  getNode(name: string): Promise<KubeNode>;
  /** A strategic-merge patch of the node's spec.unschedulable, labels and annotations. */
  patchNode(name: string, patch: NodePatch): Promise<KubeNode>;
  deleteNode(name: string): Promise<void>;

  // Kilo peers (seats).
  listPeers(opts?: { labelSelector?: string }): Promise<KiloPeer[]>;
  /** Throws NotFound. */
  getPeer(name: string): Promise<KiloPeer>;
  /** Throws Conflict when the name is taken. */
  createPeer(peer: Omit<KiloPeer, 'resourceVersion'>): Promise<KiloPeer>;
  /** Sets spec.publicKey if the Peer is still at `resourceVersion`; throws Conflict when it changed since. */
  setPeerPublicKey(name: string, publicKey: string, resourceVersion: string): Promise<KiloPeer>;
  /** Throws NotFound. */
  deletePeer(name: string): Promise<void>;

  listPods(opts?: { nodeName?: string; namespace?: string; labelSelector?: string }): Promise<KubePod[]>;
  /** Evicts through the Eviction API; throws EvictionBlocked while a PodDisruptionBudget forbids it, NotFound when gone. */
  evictPod(namespace: string, name: string): Promise<void>;
  /** Events about one object, newest last. */
  listEvents(opts: { kind: string; name: string; namespace?: string }): Promise<KubeEvent[]>;

  // Node provisioning and drain (node provision / deprovision).
  /** Throws NotFound. */
  getPod(namespace: string, name: string): Promise<KubePod>;
  /** Creates a Secret from text values; throws Conflict when the name is taken. */
  createSecret(secret: Omit<KubeSecret, 'createdAt'>): Promise<void>;
  listSecrets(namespace: string, opts?: { labelSelector?: string }): Promise<KubeSecret[]>;
  /** Throws NotFound. */
  deleteSecret(namespace: string, name: string): Promise<void>;

  // Deployments and Flux (deploys, deploy, restart, rollback, rollout, reconcile).
  listDeployments(opts?: { namespace?: string }): Promise<KubeDeployment[]>;
  /** Throws NotFound. */
  getDeployment(namespace: string, name: string): Promise<KubeDeployment>;
  /** A strategic-merge patch; with `resourceVersion` it applies only to that version (Conflict otherwise). */
  patchDeployment(namespace: string, name: string, patch: DeploymentPatch): Promise<KubeDeployment>;
  listReplicaSets(namespace: string, opts?: { labelSelector?: string }): Promise<KubeReplicaSet[]>;
  /** Throws NotFound. */
  getFluxObject(kind: FluxKind, namespace: string, name: string): Promise<FluxObject>;
  /** Merge-patches metadata.annotations under Flux's CLI field manager (so Flux's own apply keeps them). */
  annotateFluxObject(kind: FluxKind, namespace: string, name: string, annotations: Record<string, string>): Promise<FluxObject>;
}

/** A condition in an object's status (Deployments, Flux objects). */
export interface StatusCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastUpdateTime?: Date;
  lastTransitionTime?: Date;
}

/** A pod template as plain JSON, exactly as it would be written back. */
export type PodTemplate = Record<string, unknown>;

export interface KubeDeployment {
  namespace: string;
  name: string;
  uid: string;
  resourceVersion: string;
  generation: number;
  createdAt?: Date;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** spec.replicas (1 when unset). */
  replicas: number;
  paused: boolean;
  progressDeadlineSeconds?: number;
  /** spec.selector.matchLabels. */
  matchLabels: Record<string, string>;
  containers: { name: string; image: string }[];
  template: PodTemplate;
  status: {
    observedGeneration?: number;
    replicas: number;
    updatedReplicas: number;
    readyReplicas: number;
    availableReplicas: number;
    unavailableReplicas: number;
  };
  conditions: StatusCondition[];
}

export interface KubeReplicaSet {
  namespace: string;
  name: string;
  uid: string;
  createdAt?: Date;
  annotations: Record<string, string>;
  /** The controlling owner, e.g. the Deployment. */
  controller?: { kind: string; name: string; uid: string };
  replicas: number;
  template: PodTemplate;
}

/** Changes to a Deployment; `null` removes an annotation. */
export interface DeploymentPatch {
  resourceVersion?: string;
  annotations?: Record<string, string | null>;
  /** Container name → image. */
  images?: Record<string, string>;
  templateAnnotations?: Record<string, string>;
  /** Replaces the whole pod template. */
  template?: PodTemplate;
}

export type FluxKind = 'Kustomization' | 'HelmRelease';

export interface FluxObject {
  kind: FluxKind;
  namespace: string;
  name: string;
  generation: number;
  suspended: boolean;
  annotations: Record<string, string>;
  observedGeneration?: number;
  lastHandledReconcileAt?: string;
  /** Kustomization: lastAppliedRevision; HelmRelease: the last attempted revision or chart version. */
  revision?: string;
  conditions: StatusCondition[];
}
