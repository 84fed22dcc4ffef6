/** The cluster port for the ops modules, built once at start from kube.* config. */
import type { Config } from '../../config/schema.ts';
import type { Logger } from '../../core/logger.ts';
import { kubeSource, NOT_CONFIGURED } from './connect.ts';
import type { KubePort } from './port.ts';
import { unconfiguredKube } from './unconfigured.ts';
import type { Backends } from '../backends.ts';
import type { LeaseApi } from '../leader/lease.ts';

export { kubeSource } from './connect.ts';
export type { KubeEvent, KubeNode, KubePod, KubePort, KubeSecret, NodePatch } from './port.ts';
export type { KiloPeer } from './port.ts';
export type { DeploymentPatch, FluxKind, FluxObject, KubeDeployment, KubeReplicaSet, PodTemplate, StatusCondition } from './port.ts';
export { EvictionBlocked } from './errors.ts';

/**
 * Builds the cluster port once, at start (the composition root calls this; a bad kubeconfig fails
 * start). The SDK (@kubernetes/client-node, tens of MB resident) is loaded only when a cluster is configured.
 */
export async function connectKube(kube: Config['kube'], log: Logger, backends: Backends): Promise<KubePort> {
  const source = kubeSource(kube);
  if (source.kind === 'none') {
    log.warn(NOT_CONFIGURED);
    backends.declare('kubernetes', { configured: false, notConfigured: NOT_CONFIGURED });
    return unconfiguredKube;
  }
  const { ClientNodeKube } = await import('./client-node.ts');
  const port = ClientNodeKube.connect(source, kube.requestTimeout.ms);
  log.info({ kube: port.target, via: source.kind === 'in-cluster' ? 'in-cluster' : source.path }, 'Kubernetes API configured');
  // A node list is the cheapest call every role of labd's service account may make.
  backends.declare('kubernetes', { configured: true, notConfigured: NOT_CONFIGURED, probe: () => port.listNodes() });
  return port;
}

/**
 * The Lease the replicas elect their leader on (src/ops/leader/lease.ts), or undefined when no cluster
 * is configured. Loads the SDK on first use, as connectKube does.
 */
export async function connectLeases(kube: Config['kube'], lease: { name: string; namespace?: string }): Promise<LeaseApi | undefined> {
  const source = kubeSource(kube);
  if (source.kind === 'none') return undefined;
  const { ClientNodeLeases } = await import('./client-node-lease.ts');
  return ClientNodeLeases.connect(source, { ...lease, timeoutMs: kube.requestTimeout.ms });
}
