/** Discovery documents (/api, /apis, /api/v1, /apis/GROUP/VERSION) enough for clients and kubectl. */
import { RESOURCES, apiVersionOf, type ResourceType } from './resources.ts';

const SUBRESOURCES: Record<string, { name: string; kind: string; group?: string; version?: string; verbs: string[] }[]> = {
  pods: [
    { name: 'eviction', kind: 'Eviction', group: 'policy', version: 'v1', verbs: ['create'] },
    { name: 'status', kind: 'Pod', verbs: ['get', 'patch', 'update'] },
  ],
};

function resourceEntries(rs: ResourceType[]) {
  const out: Record<string, unknown>[] = [];
  for (const r of rs) {
    out.push({
      name: r.plural,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: r.verbs,
      ...(r.shortNames ? { shortNames: r.shortNames } : {}),
    });
    for (const s of SUBRESOURCES[r.plural] ?? []) {
      if (s.name === 'status') continue;
      out.push({
        name: `${r.plural}/${s.name}`,
        singularName: '',
        namespaced: r.namespaced,
        ...(s.group ? { group: s.group, version: s.version } : {}),
        kind: s.kind,
        verbs: s.verbs,
      });
    }
    if (r.statusSubresource)
      out.push({ name: `${r.plural}/status`, singularName: '', namespaced: r.namespaced, kind: r.kind, verbs: ['get', 'patch', 'update'] });
  }
  return out;
}

export function apiVersions(serverAddress: string) {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

function groups(): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const r of RESOURCES) {
    if (!r.group) continue;
    const versions = m.get(r.group) ?? [];
    if (!versions.includes(r.version)) versions.push(r.version);
    m.set(r.group, versions);
  }
  return m;
}

function groupDoc(name: string, versions: string[]) {
  const vs = versions.map((version) => ({ groupVersion: `${name}/${version}`, version }));
  return { name, versions: vs, preferredVersion: vs[0] };
}

export function apiGroupList() {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: [...groups()].map(([name, versions]) => groupDoc(name, versions)) };
}

export function apiGroup(group: string) {
  const versions = groups().get(group);
  return versions ? { kind: 'APIGroup', apiVersion: 'v1', ...groupDoc(group, versions) } : undefined;
}

export function apiResourceList(group: string, version: string) {
  const rs = RESOURCES.filter((r) => r.group === group && r.version === version);
  if (!rs.length) return undefined;
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: apiVersionOf(rs[0]!), resources: resourceEntries(rs) };
}

export const VERSION_INFO = { major: '1', minor: '31', gitVersion: 'v1.31.0-fake', platform: 'linux/amd64' };
