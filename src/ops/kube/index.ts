/** The cluster port for the ops modules: one per configuration, built at start from kube.* config. */
import { parseDuration } from '../../core/duration.ts';
import type { Config } from '../../config/schema.ts';
import type { Logger } from '../../core/logger.ts';
import { kubeSource, NOT_CONFIGURED } from './connect.ts';
import type { KubePort } from './port.ts';
import { unconfiguredKube } from './unconfigured.ts';
import { backendsFor } from '../backends.ts';

export type { KubeEvent, KubeNode, KubePod, KubePort, KubeSecret, NodePatch } from './port.ts';
export type { KiloPeer } from './port.ts';
export type { DeploymentPatch, FluxKind, FluxObject, KubeDeployment, KubeReplicaSet, PodTemplate, StatusCondition } from './port.ts';
export { EvictionBlocked } from './errors.ts';

const ports = new WeakMap<Config, KubePort>();

/**
 * Builds the KubePort for this config, once, at start (a bad kubeconfig fails start). The SDK
 * (@kubernetes/client-node, tens of MB resident) is loaded only when a cluster is configured.
 */
export async function connectKube(services: { config: Config; log: Logger }, env: NodeJS.ProcessEnv = process.env): Promise<KubePort> {
  const cached = ports.get(services.config);
  if (cached) return cached;
  const source = kubeSource(services.config.kube, env);
  let port: KubePort;
  if (source.kind === 'none') {
    services.log.warn(NOT_CONFIGURED);
    port = unconfiguredKube;
  } else {
    const { ClientNodeKube } = await import('./client-node.ts');
    port = ClientNodeKube.connect(source, parseDuration(services.config.kube.requestTimeout) * 1000);
    services.log.info({ kube: port.target, via: source.kind === 'in-cluster' ? 'in-cluster' : source.path }, 'Kubernetes API configured');
  }
  ports.set(services.config, port);
  // A node list is the cheapest call every role of labd's service account may make.
  backendsFor(services.config).declare('kubernetes', { configured: source.kind !== 'none', notConfigured: NOT_CONFIGURED, probe: () => port.listNodes() });
  return port;
}

/** The KubePort connectKube built for this config (ops modules call this from their install). */
export function kubeFor(services: { config: Config }): KubePort {
  const port = ports.get(services.config);
  if (!port) throw new Error('kubeFor: connectKube was not awaited at start');
  return port;
}
