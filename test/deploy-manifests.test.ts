/**
 * deploy/: renders the kustomize base and the Flux example with the real kubectl, checks every object
 * against the Kubernetes schema, and holds the house properties (Recreate, read-only root, non-root,
 * client IPs kept, probes, RBAC equal to what the Kubernetes adapter calls).
 *
 * Schema source: the `kubernetes-models` and `@kubernetes-models/flux-cd` packages ship validators compiled
 * from the Kubernetes OpenAPI spec and Flux's CRD schemas, so the check runs offline with no cluster. The
 * OpenAPI spec allows unknown fields (the API server prunes them silently), so a misspelt field such as
 * `readOnlyRootFileSystem` would pass it; unknown fields of built-in kinds are found by walking the attribute
 * maps of @kubernetes/client-node's generated models, as `kubectl --validate=strict` would.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { describe, test } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import { GitRepository } from '@kubernetes-models/flux-cd/source.toolkit.fluxcd.io/v1/GitRepository';
import { Kustomization } from '@kubernetes-models/flux-cd/kustomize.toolkit.fluxcd.io/v1/Kustomization';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { parseAllDocuments } from 'yaml';
import { CONFIG_ENV_NAMES, loadConfig } from '../src/config/load.ts';
import { ROOT } from './support/labd.ts';

// Loose on purpose: these are rendered manifests read back from YAML, checked field by field below.
type Obj = Record<string, any>;

/** apiVersion/kind → the validating model. A kind missing here fails the test: add its schema. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ServiceAccount': ServiceAccount,
  'v1/ConfigMap': ConfigMap,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding,
  'rbac.authorization.k8s.io/v1/Role': Role,
  'rbac.authorization.k8s.io/v1/RoleBinding': RoleBinding,
  'source.toolkit.fluxcd.io/v1/GitRepository': GitRepository,
  'kustomize.toolkit.fluxcd.io/v1/Kustomization': Kustomization,
};

function kubectl(): string {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
  } catch {
    throw new Error("kubectl not found: install Debian's kubernetes-client (apt-get install kubernetes-client), as .ci/run does");
  }
  return 'kubectl';
}

/** `kubectl kustomize DIR` (relative to the repository, or absolute) as objects. */
function render(dir: string): Obj[] {
  const out = execFileSync(kubectl(), ['kustomize', isAbsolute(dir) ? dir : join(ROOT, dir)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return parseAllDocuments(out)
    .map((d) => {
      assert.deepEqual(d.errors, [], `${dir}: kubectl kustomize printed YAML that does not parse`);
      return d.toJS() as Obj | null;
    })
    .filter((o): o is Obj => o !== null);
}

const ref = (o: Obj) => `${o.kind} ${o.metadata?.namespace ? o.metadata.namespace + '/' : ''}${o.metadata?.name}`;
const find = (objs: Obj[], kind: string, name?: string): Obj => {
  const hit = objs.find((o) => o.kind === kind && (name === undefined || o.metadata?.name === name));
  assert.ok(hit, `no ${kind}${name ? ' ' + name : ''} in the rendered manifests`);
  return hit;
};

/** Field paths the generated client-node model for `type` does not know (built-in kinds only). */
function unknownFields(value: unknown, type: string, path: string, out: string[]): void {
  const array = /^Array<(.+)>$/.exec(type);
  if (array) {
    if (Array.isArray(value)) value.forEach((v, i) => unknownFields(v, array[1]!, `${path}[${i}]`, out));
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) unknownFields(v, map[1]!, `${path}.${k}`, out);
    return;
  }
  const model = (k8s as unknown as Record<string, { getAttributeTypeMap?: () => { baseName: string; type: string }[] } | undefined>)[type];
  if (!model?.getAttributeTypeMap || !value || typeof value !== 'object') return; // scalars: the schema checks their types
  const attributes = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  for (const [k, v] of Object.entries(value)) {
    const t = attributes.get(k);
    if (t === undefined) out.push(`${path}.${k}`);
    else unknownFields(v, t, `${path}.${k}`, out);
  }
}

function checkSchema(o: Obj): void {
  const key = `${o.apiVersion}/${o.kind}`;
  const Model = MODELS[key];
  assert.ok(Model, `${ref(o)}: no schema for ${key} here; add its model to MODELS`);
  assert.doesNotThrow(() => new Model(o as never).validate(), `${ref(o)} does not match the ${key} schema`);
  const [group, version] = String(o.apiVersion).includes('/') ? String(o.apiVersion).split('/') : ['', String(o.apiVersion)];
  if (group === '' || group!.endsWith('.k8s.io') || !group!.includes('.')) {
    // client-node names its models after version and kind: apps/v1 Deployment is V1Deployment.
    const type = version![0]!.toUpperCase() + version!.slice(1) + o.kind;
    assert.ok(type in k8s, `${ref(o)}: @kubernetes/client-node has no model ${type} to check field names against`);
    const unknown: string[] = [];
    unknownFields(o, type, o.kind, unknown);
    assert.deepEqual(unknown, [], `${ref(o)}: fields unknown to Kubernetes (misspelt?)`);
  }
}

// ---- RBAC: what the Kubernetes adapter calls, read from its source ----

const ADAPTER_DIR = 'src/ops/kube';
/** The adapter's files: every .ts file in ADAPTER_DIR that makes API clients. */
const adapterFiles = () =>
  readdirSync(join(ROOT, ADAPTER_DIR))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => `${ADAPTER_DIR}/${f}`)
    .filter((f) => readFileSync(join(ROOT, f), 'utf8').includes('makeApiClient('));

/** API group of each typed client-node API class the adapter may construct. */
const API_GROUPS: Record<string, string> = {
  CoreV1Api: '',
  AppsV1Api: 'apps',
  PolicyV1Api: 'policy',
  BatchV1Api: 'batch',
  EventsV1Api: 'events.k8s.io',
  CoordinationV1Api: 'coordination.k8s.io',
};
/** Resources labd may touch only in one namespace (granted by a Role there, not the ClusterRole). */
const NAMESPACE_ONLY: Record<string, string> = { secrets: 'kube-system', leases: 'labd' };
/** The leader election's Lease (issue #21): used by several replicas only, so granted by deploy/ha, not by the single-replica base. */
const REPLICAS_ONLY = /^labd coordination\.k8s\.io leases /;
const TYPED_VERB: Record<string, string> = {
  list: 'list',
  read: 'get',
  create: 'create',
  patch: 'patch',
  delete: 'delete',
  deleteCollection: 'deletecollection',
  replace: 'update',
};
const SUBRESOURCES = ['Eviction', 'Status', 'Scale', 'Log'];

const plural = (kind: string) => {
  const lower = kind.toLowerCase();
  return lower.endsWith('y') ? lower.slice(0, -1) + 'ies' : lower.endsWith('ss') ? lower + 'es' : lower + 's';
};

/** Custom resources named by a constant: `const PEERS = { group, version, plural }` or a record of such sets. */
function customResourceSets(source: string): Map<string, { group: string; plural: string }[]> {
  const sets = new Map<string, { group: string; plural: string }[]>();
  for (const m of source.matchAll(/const (\w+)(?::[^=]+)? = (\{[\s\S]*?\}(?: as const)?;)/g)) {
    const found = [...m[2]!.matchAll(/\{ group: '([^']+)', version: '[^']+', plural: '([^']+)' \}/g)].map((g) => ({ group: g[1]!, plural: g[2]! }));
    if (found.length) sets.set(m[1]!, found);
  }
  return sets;
}

/** "scope group resource verb" for every API call in the adapter; scope is "cluster" or a namespace. */
function permissionsUsed(): string[] {
  const used = new Set<string>();
  const grant = (group: string, resource: string, verb: string) => {
    const top = resource.split('/')[0]!;
    used.add(`${NAMESPACE_ONLY[top] ?? 'cluster'} ${group} ${resource} ${verb}`);
  };
  const files = adapterFiles();
  assert.ok(files.length > 0, `${ADAPTER_DIR}: no file makes an API client (makeApiClient); this test reads the calls from them`);
  for (const file of files) {
    const source = readFileSync(join(ROOT, file), 'utf8');
    const clients = new Map<string, string>();
    for (const m of source.matchAll(/this\.(\w+)\s*=\s*kc\.makeApiClient\((\w+)\)/g)) clients.set(m[1]!, m[2]!);
    assert.ok(clients.size > 0, `${file}: found no this.FIELD = kc.makeApiClient(...); this test reads the adapter's calls from them`);
    const customSets = customResourceSets(source);
    for (const m of source.matchAll(/this\.(\w+)\.(\w+)\(\s*(\{\s*\.\.\.(\w+))?/g)) {
      const [, field, method, , spread] = m as unknown as [string, string, string, string | undefined, string | undefined];
      const api = clients.get(field);
      if (!api) continue;
      const where = `${file}: this.${field}.${method}`;
      if (api === 'CustomObjectsApi') {
        const call = /^(list|get|create|patch|delete|replace)(Cluster|Namespaced)CustomObject(Status|Scale)?$/.exec(method);
        assert.ok(call, `${where}: a CustomObjectsApi call this test cannot map to an RBAC verb; teach it`);
        const sets = spread ? customSets.get(spread) : undefined;
        assert.ok(sets, `${where}: pass a { group, version, plural } constant first ({ ...NAME } or { ...NAME[kind] }) so the resource is known`);
        for (const set of sets) grant(set.group, set.plural + (call[3] ? '/' + call[3].toLowerCase() : ''), call[1] === 'replace' ? 'update' : call[1]!);
        continue;
      }
      const group = API_GROUPS[api];
      assert.ok(group !== undefined, `${where}: API class ${api} has no group in API_GROUPS`);
      const call = /^(list|read|create|patch|deleteCollection|delete|replace)(Namespaced)?([A-Z][A-Za-z]*?)(ForAllNamespaces)?$/.exec(method);
      assert.ok(call, `${where}: a method name this test cannot map to an RBAC verb; teach it`);
      let kind = call[3]!;
      let sub = '';
      const suffix = SUBRESOURCES.find((s) => kind.endsWith(s) && kind.length > s.length);
      if (suffix) {
        kind = kind.slice(0, -suffix.length);
        sub = '/' + suffix.toLowerCase();
      }
      grant(group, plural(kind) + sub, TYPED_VERB[call[1]!]!);
    }
    for (const m of source.matchAll(/\.watch\(\s*[`'"]\/apis?\/(?:([a-z0-9.-]+)\/)?v\w+\/(?:namespaces\/[^/]+\/)?([a-z]+)/g)) grant(m[1] ?? '', m[2]!, 'watch');
  }
  assert.ok(used.size > 0, `${ADAPTER_DIR}: no API calls found`);
  return [...used].sort();
}

function permissionsGranted(rules: Obj[], scope: string): string[] {
  const out: string[] = [];
  for (const r of rules) {
    for (const field of ['apiGroups', 'resources', 'verbs']) assert.ok(!r[field]?.includes('*'), `no wildcards in RBAC rules (${JSON.stringify(r)})`);
    for (const g of r.apiGroups ?? []) for (const res of r.resources ?? []) for (const v of r.verbs ?? []) out.push(`${scope} ${g} ${res} ${v}`);
  }
  return out;
}

// ---- the tests ----

describe('deploy/base', () => {
  const objs = render('deploy/base');
  const deployment = find(objs, 'Deployment', 'labd');
  const pod = deployment.spec.template.spec as Obj;
  const container = (pod.containers as Obj[]).find((c) => c.name === 'labd')!;
  const portNamed = (name: string) => (container.ports as Obj[]).find((p) => p.name === name)?.containerPort as number | undefined;

  test('renders the expected objects, each valid against the Kubernetes schema', () => {
    assert.deepEqual(
      objs.map(ref).sort(),
      [
        'ClusterRole labd',
        'ClusterRoleBinding labd',
        `ConfigMap labd/${find(objs, 'ConfigMap').metadata.name}`,
        'Deployment labd/labd',
        'Namespace labd',
        'PersistentVolumeClaim labd/labd-data',
        'Role kube-system/labd',
        'RoleBinding kube-system/labd',
        'Service labd/labd-http',
        'Service labd/labd-ssh',
        'ServiceAccount labd/labd',
      ].sort(),
    );
    for (const o of objs) checkSchema(o);
  });

  test('the schema check catches a misspelt field and a wrong type', () => {
    const typo = structuredClone(deployment);
    typo.spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem = true;
    assert.throws(() => checkSchema(typo), /readOnlyRootFileSystem/);
    const wrongType = structuredClone(deployment);
    wrongType.spec.template.spec.containers[0].ports[0].containerPort = 'ssh';
    assert.throws(() => checkSchema(wrongType), /does not match/);
  });

  test('one replica, replaced with Recreate (SQLite on a ReadWriteOnce volume)', () => {
    assert.equal(deployment.spec.replicas, 1);
    assert.equal(deployment.spec.strategy?.type, 'Recreate');
    const data = (pod.volumes as Obj[]).find((v) => v.name === (container.volumeMounts as Obj[]).find((m) => m.mountPath === '/data')?.name);
    assert.ok(data?.persistentVolumeClaim, '/data is on a PersistentVolumeClaim');
    const pvc = find(objs, 'PersistentVolumeClaim', data.persistentVolumeClaim.claimName);
    assert.deepEqual(pvc.spec.accessModes, ['ReadWriteOnce']);
  });

  test('non-root, read-only root filesystem, no privilege escalation, no capabilities, RuntimeDefault seccomp', () => {
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.ok(Number(pod.securityContext.runAsUser) > 0, 'runAsUser is not root');
    assert.ok(Number(pod.securityContext.fsGroup) > 0, 'fsGroup makes the volume writable for that user');
    assert.equal(pod.securityContext.seccompProfile?.type, 'RuntimeDefault');
    const sc = container.securityContext as Obj;
    assert.equal(sc.readOnlyRootFilesystem, true);
    assert.equal(sc.allowPrivilegeEscalation, false);
    assert.deepEqual(sc.capabilities?.drop, ['ALL']);
    assert.equal(sc.capabilities?.add, undefined);
    assert.equal(sc.privileged, undefined);
    // With the root filesystem read-only, every place labd writes is a volume.
    const mounts = new Map((container.volumeMounts as Obj[]).map((m) => [m.mountPath as string, (pod.volumes as Obj[]).find((v) => v.name === m.name)]));
    assert.ok(mounts.get('/tmp')?.emptyDir, '/tmp is an emptyDir');
  });

  test('settings: every LABD_* key is one labd knows, and they load into a valid config', () => {
    const envFrom = container.envFrom as Obj[];
    const cmName = envFrom.find((e) => e.configMapRef)?.configMapRef.name;
    const cm = find(objs, 'ConfigMap', cmName);
    for (const key of Object.keys(cm.data)) assert.ok(CONFIG_ENV_NAMES.includes(key), `ConfigMap ${cmName}: ${key} is not a labd setting`);
    for (const e of container.env as Obj[]) assert.ok(CONFIG_ENV_NAMES.includes(e.name), `env ${e.name} is not a labd setting`);
    const cfg = loadConfig(cm.data);
    const dataMount = (container.volumeMounts as Obj[]).find((m) => m.mountPath === cfg.dataDir);
    assert.ok(dataMount, `the data dir ${cfg.dataDir} is a mounted volume`);
    assert.equal(Number(cfg.ssh.listen.split(':').pop()), portNamed('ssh'), 'LABD_SSH_LISTEN matches the ssh container port');
    assert.equal(Number(cfg.http.listen.split(':').pop()), portNamed('http'), 'LABD_HTTP_LISTEN matches the http container port');
    assert.ok(cfg.ssh.listen.startsWith('0.0.0.0:') && cfg.http.listen.startsWith('0.0.0.0:'), 'listens on the pod address, not loopback');
    // Tokens come from a Secret the operator creates; optional so the base applies before it exists.
    const secretRef = envFrom.find((e) => e.secretRef)?.secretRef;
    assert.deepEqual(secretRef, { name: 'labd-secrets', optional: true });
    assert.ok(!Object.keys(cm.data).some((k) => /TOKEN/.test(k)), 'no token in the ConfigMap');
  });

  test('probes: liveness on /healthz, readiness on /readyz, on the HTTP port', () => {
    for (const [probe, path] of [
      ['livenessProbe', '/healthz'],
      ['readinessProbe', '/readyz'],
    ] as const) {
      assert.equal(container[probe]?.httpGet?.path, path, probe);
      assert.equal(container[probe].httpGet.port, 'http', probe);
    }
    assert.ok(portNamed('http'));
    assert.ok(container.resources?.requests?.memory && container.resources?.limits?.memory, 'memory request and limit');
  });

  test('SSH: LoadBalancer on 22 keeping client addresses; HTTP: ClusterIP', () => {
    const labels = deployment.spec.template.metadata.labels as Record<string, string>;
    const ssh = find(objs, 'Service', 'labd-ssh');
    assert.equal(ssh.spec.type, 'LoadBalancer');
    assert.equal(ssh.spec.externalTrafficPolicy, 'Local', 'client IPs preserved for source-address');
    assert.deepEqual(
      (ssh.spec.ports as Obj[]).map((p) => [p.port, p.targetPort]),
      [[22, 'ssh']],
    );
    const http = find(objs, 'Service', 'labd-http');
    assert.equal(http.spec.type, 'ClusterIP');
    assert.deepEqual(
      (http.spec.ports as Obj[]).map((p) => p.targetPort),
      ['http'],
    );
    for (const svc of [ssh, http])
      for (const [k, v] of Object.entries(svc.spec.selector as Record<string, string>)) assert.equal(labels[k], v, `${ref(svc)} selects the pod`);
    assert.deepEqual(deployment.spec.selector.matchLabels, Object.fromEntries(Object.keys(deployment.spec.selector.matchLabels).map((k) => [k, labels[k]])));
  });

  test('RBAC: the ClusterRole and the kube-system Role grant exactly what the Kubernetes adapter calls', () => {
    const sa = find(objs, 'ServiceAccount');
    assert.equal(pod.serviceAccountName, sa.metadata.name);
    const subject = { kind: 'ServiceAccount', name: sa.metadata.name, namespace: sa.metadata.namespace };
    const clusterBinding = find(objs, 'ClusterRoleBinding');
    assert.deepEqual(clusterBinding.subjects, [subject]);
    const clusterRole = find(objs, 'ClusterRole', clusterBinding.roleRef.name);
    const binding = find(objs, 'RoleBinding');
    assert.deepEqual(binding.subjects, [subject]);
    assert.equal(binding.roleRef.kind, 'Role');
    const role = objs.find((o) => o.kind === 'Role' && o.metadata.name === binding.roleRef.name && o.metadata.namespace === binding.metadata.namespace);
    assert.ok(role, 'the RoleBinding names a Role in its own namespace');
    const granted = [...permissionsGranted(clusterRole.rules, 'cluster'), ...permissionsGranted(role.rules, role.metadata.namespace)].sort();
    const used = permissionsUsed();
    // What a deploy with several replicas must grant in labd's namespace for the Lease, and only that.
    assert.deepEqual(
      used.filter((p) => REPLICAS_ONLY.test(p)),
      ['labd coordination.k8s.io leases create', 'labd coordination.k8s.io leases get', 'labd coordination.k8s.io leases update'],
    );
    assert.deepEqual(
      granted,
      used.filter((p) => !REPLICAS_ONLY.test(p)),
      `deploy/base RBAC differs from the calls in ${ADAPTER_DIR}: update deploy/base/clusterrole.yaml or role-kube-system.yaml`,
    );
  });

  test('image: the Dockerfile runs the compiled service as a non-root user on the same ports', () => {
    const dockerfile = readFileSync(join(ROOT, 'deploy/Dockerfile'), 'utf8');
    const finalStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    const user = /^USER (\S+)/m.exec(finalStage)?.[1];
    assert.ok(user && user !== 'root' && user !== '0', 'final stage has a non-root USER');
    assert.match(finalStage, /ENTRYPOINT \["node", "--disable-warning=DEP0060", "dist\/main\.js"\]/);
    const exposed = (/^EXPOSE (.+)$/m.exec(finalStage)?.[1] ?? '').split(/\s+/).map(Number).sort();
    assert.deepEqual(exposed, [portNamed('http'), portNamed('ssh')].sort());
    assert.deepEqual(container.args, ['serve']);
    assert.ok(existsSync(join(ROOT, '.dockerignore')));
  });
});

describe('deploy/README.md', () => {
  test('the overlay example renders: image replaced, settings merged, the CA file inside the keys mount', () => {
    const readme = readFileSync(join(ROOT, 'deploy/README.md'), 'utf8');
    const block = /```yaml\n(# overlays\/home\/kustomization\.yaml\n[\s\S]*?)```/.exec(readme)?.[1];
    assert.ok(block, 'deploy/README.md has the overlays/home example');
    const dir = mkdtempSync(join(tmpdir(), 'labd-overlay-'));
    try {
      mkdirSync(join(dir, 'overlays/home'), { recursive: true });
      symlinkSync(join(ROOT, 'deploy'), join(dir, 'deploy'));
      writeFileSync(join(dir, 'overlays/home/kustomization.yaml'), block);
      let objs: Obj[];
      try {
        objs = render(join(dir, 'overlays/home'));
      } catch (err) {
        // kustomize before kubectl 1.21 (Debian bookworm's kubernetes-client) takes directories only as
        // `bases:`, as the README says; render that variant there.
        if (!/must be a file/.test(String((err as { stderr?: string }).stderr))) throw err;
        writeFileSync(join(dir, 'overlays/home/kustomization.yaml'), block.replace(/^resources:/m, 'bases:'));
        objs = render(join(dir, 'overlays/home'));
      }
      for (const o of objs) checkSchema(o);
      const container = find(objs, 'Deployment', 'labd').spec.template.spec.containers[0] as Obj;
      assert.equal(container.image, 'registry.example.org/labd:0.1.0');
      const cm = find(objs, 'ConfigMap', container.envFrom.find((e: Obj) => e.configMapRef).configMapRef.name);
      assert.equal(cm.data.LABD_DATA_DIR, '/data', 'the base settings are kept');
      // The tokens the README puts in the labd-secrets Secret complete the settings.
      const secretKeys = [...readme.matchAll(/--from-literal=(LABD_\w+)=/g)].map((m) => m[1]!);
      assert.ok(secretKeys.length > 0, 'the README creates labd-secrets');
      for (const k of secretKeys) assert.ok(CONFIG_ENV_NAMES.includes(k), `labd-secrets: ${k} is not a labd setting`);
      const cfg = loadConfig({ ...cm.data, ...Object.fromEntries(secretKeys.map((k) => [k, 'x'.repeat(32)])) });
      assert.equal(cfg.alertmanager.enabled, true);
      assert.equal(cfg.matrix.enabled, true);
      assert.equal(cfg.publicUrl, 'https://lab.example.org');
      const keysMount = (container.volumeMounts as Obj[]).find((m) => m.name === 'keys');
      assert.ok(keysMount && cfg.auth.userCaKeys?.startsWith(keysMount.mountPath + '/'), 'LABD_USER_CA_KEYS names a file in the labd-keys mount');
      assert.ok(readme.includes(`--from-file=${cfg.auth.userCaKeys!.slice(keysMount.mountPath.length + 1)}=`), 'the README creates that key in labd-keys');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('deploy/flux', () => {
  test('the Flux example renders, is valid, and points at a path that renders', () => {
    const objs = render('deploy/flux');
    for (const o of objs) checkSchema(o);
    const source = find(objs, 'GitRepository');
    const ks = find(objs, 'Kustomization');
    assert.deepEqual(ks.spec.sourceRef, { kind: 'GitRepository', name: source.metadata.name });
    assert.equal(ks.metadata.namespace, source.metadata.namespace);
    assert.ok(
      render(ks.spec.path).some((o) => o.kind === 'Deployment'),
      `${ks.spec.path} renders labd`,
    );
  });
});
