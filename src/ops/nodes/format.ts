/** How nodes are summarized for people: kubectl's status words, roles from labels, ages, quantities. */
import type { KubeNode, KubePod } from '../kube/index.ts';

export const KILO_LOCATION = 'kilo.squat.ai/location';
/** Kilo falls back to this label when a node has no location annotation. */
export const REGION_LABEL = 'topology.kubernetes.io/region';

export function nodeReady(n: KubeNode): 'Ready' | 'NotReady' | 'Unknown' {
  const c = n.conditions.find((x) => x.type === 'Ready');
  return c?.status === 'True' ? 'Ready' : c?.status === 'False' ? 'NotReady' : 'Unknown';
}

/** As `kubectl get nodes`: "Ready", "Ready,SchedulingDisabled", "NotReady". */
export function nodeStatus(n: KubeNode): string {
  return nodeReady(n) + (n.unschedulable ? ',SchedulingDisabled' : '');
}

export function nodeRoles(n: KubeNode): string[] {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(n.labels)) {
    if (k.startsWith('node-role.kubernetes.io/') && k.length > 'node-role.kubernetes.io/'.length) roles.add(k.slice('node-role.kubernetes.io/'.length));
    if (k === 'kubernetes.io/role' && v) roles.add(v);
  }
  return [...roles].sort();
}

export function nodeAddress(n: KubeNode, type = 'InternalIP'): string | undefined {
  return n.addresses.find((a) => a.type === type)?.address;
}

export function nodeLocation(n: KubeNode): string | undefined {
  return n.annotations[KILO_LOCATION] || n.labels[REGION_LABEL] || undefined;
}

/** kubectl-style age: 45s, 12m, 5h, 3d, 2y41d. */
export function age(from: Date | undefined, now: Date): string {
  if (!from) return '-';
  const s = Math.max(0, Math.floor((now.getTime() - from.getTime()) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 3 * 3600) return `${Math.floor(s / 60)}m`;
  if (s < 2 * 86400) return `${Math.floor(s / 3600)}h`;
  const days = Math.floor(s / 86400);
  if (days < 365) return `${days}d`;
  return `${Math.floor(days / 365)}y${days % 365}d`;
}

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50 };
const DECIMAL: Record<string, number> = { k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15 };

/** A memory or storage quantity ("16310792Ki", "8G", "1073741824") in GiB/MiB for reading. */
export function formatBytes(quantity: string | undefined): string {
  if (!quantity) return '-';
  const m = /^(\d+(?:\.\d+)?)([KMGTP]i|[kMGTP])?$/.exec(quantity.trim());
  if (!m) return quantity;
  const bytes = Number(m[1]) * (m[2] ? (BINARY[m[2]] ?? DECIMAL[m[2]] ?? 1) : 1);
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(1)}Gi`;
  return `${Math.round(bytes / 2 ** 20)}Mi`;
}

/** "cpu 4, memory 15.6Gi, pods 110" */
export function resources(r: Record<string, string>): string {
  const parts: string[] = [];
  if (r.cpu) parts.push(`cpu ${r.cpu}`);
  if (r.memory) parts.push(`memory ${formatBytes(r.memory)}`);
  if (r['ephemeral-storage']) parts.push(`storage ${formatBytes(r['ephemeral-storage'])}`);
  if (r.pods) parts.push(`pods ${r.pods}`);
  return parts.join(', ') || '-';
}

export function podSummary(p: KubePod): string {
  return `${p.namespace}/${p.name} (${p.deleting ? 'Terminating' : p.phase} ${p.readyContainers}/${p.containers})`;
}
