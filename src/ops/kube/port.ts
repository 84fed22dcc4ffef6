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
}
