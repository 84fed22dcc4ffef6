/** Where labd finds its cluster: a kubeconfig file from config, else in-cluster credentials, else none. */
import { existsSync } from 'node:fs';
import type { Config } from '../../config/schema.ts';

export const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export type KubeSource = { kind: 'kubeconfig'; path: string; context?: string } | { kind: 'in-cluster' } | { kind: 'none' };

export const NOT_CONFIGURED =
  'no Kubernetes cluster configured: set LABD_KUBECONFIG (or kube.kubeconfig in the config file) to a kubeconfig file, or run labd in a pod with a service account';

/** `kube.inCluster` comes from the config loader (KUBERNETES_SERVICE_HOST is set in a pod): only src/config reads the environment. */
export function kubeSource(kube: Config['kube'], exists: (path: string) => boolean = existsSync): KubeSource {
  if (kube.kubeconfig) return { kind: 'kubeconfig', path: kube.kubeconfig, context: kube.context };
  if (kube.inCluster && exists(SERVICE_ACCOUNT_TOKEN)) return { kind: 'in-cluster' };
  return { kind: 'none' };
}
