/** The Kubernetes API fake, driven by the real @kubernetes/client-node 1.x, and labd's kube adapter against it. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { AppsV1Api, CoreV1Api, KubeConfig, PatchStrategy, PolicyV1Api, setHeaderOptions, Watch, type V1Deployment } from '@kubernetes/client-node';
import { NotFound, Unavailable } from '../src/core/errors.ts';
import { ClientNodeKube } from '../src/ops/kube/client-node.ts';
import { EvictionBlocked } from '../src/ops/kube/errors.ts';
import { readFixture } from './support/fake-kube/fixture.ts';
import { FakeKube } from './support/fake-kube/server.ts';
import { ROOT } from './support/labd.ts';
import { until } from './support/wait.ts';

const FIXTURE = join(ROOT, 'test/support/fake-kube/fixture.example.yaml');

function apiError(err: unknown): {
  code: number;
  status: { kind: string; reason: string; message: string; code: number; details?: { name?: string; kind?: string } };
} {
  const e = err as { code: number; body: unknown };
  assert.equal(typeof e.body, 'string', 'client-node keeps the Status body as a string');
  return { code: e.code, status: JSON.parse(e.body as string) };
}

describe('fake-kube with the real client', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fake-kube-'));
  let fake: FakeKube;
  let kc: KubeConfig;
  let core: CoreV1Api;
  let apps: AppsV1Api;

  before(async () => {
    fake = await FakeKube.start({ objects: readFixture(FIXTURE), controllers: { tickMs: 50 } });
    kc = new KubeConfig();
    kc.loadFromFile(fake.writeKubeconfig(join(dir, 'kubeconfig')));
    core = kc.makeApiClient(CoreV1Api);
    apps = kc.makeApiClient(AppsV1Api);
  });
  after(async () => {
    await fake.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('list with label and field selectors; unsupported field labels are refused', async () => {
    const workers = await core.listNode({ labelSelector: 'node-role.kubernetes.io/worker,kubernetes.io/hostname notin (desk2)' });
    assert.deepEqual(
      workers.items.map((n) => n.metadata!.name),
      ['laptop1'],
    );
    const onCp1 = await core.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName=cp1' });
    assert.deepEqual(onCp1.items.map((p) => p.metadata!.name).sort(), ['kilo-cp1', 'kube-vip-cp1']);
    const web = await until('web pods', async () => {
      const l = await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=web', fieldSelector: 'status.phase=Running' });
      return l.items.length === 2 && l;
    });
    assert.ok(web.items.every((p) => p.spec!.nodeName && p.metadata!.ownerReferences![0]!.kind === 'ReplicaSet'));
    await assert.rejects(core.listPodForAllNamespaces({ fieldSelector: 'spec.image=x' }), (err) => {
      const { code, status } = apiError(err);
      return code === 400 && status.message === 'field label not supported: spec.image';
    });
  });

  test('404 comes back in the Status shape', async () => {
    await assert.rejects(core.readNamespacedPod({ namespace: 'default', name: 'nope' }), (err) => {
      const { code, status } = apiError(err);
      assert.deepEqual(status, {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'pods "nope" not found',
        reason: 'NotFound',
        details: { name: 'nope', kind: 'pods' },
        code: 404,
      });
      return code === 404;
    });
  });

  test('a replace with a stale resourceVersion is a 409 Conflict; merge and strategic patches differ on lists', async () => {
    const node = await core.readNode({ name: 'laptop1' });
    await core.patchNode({ name: 'laptop1', body: { metadata: { labels: { tier: 'cheap' } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    await assert.rejects(core.replaceNode({ name: 'laptop1', body: node }), (err) => {
      const { code, status } = apiError(err);
      return code === 409 && status.reason === 'Conflict' && /the object has been modified/.test(status.message);
    });
    const fresh = await core.readNode({ name: 'laptop1' });
    assert.equal(fresh.metadata!.labels!.tier, 'cheap');
    const replaced = await core.replaceNode({
      name: 'laptop1',
      body: { ...fresh, metadata: { ...fresh.metadata, labels: { ...fresh.metadata!.labels, tier: 'spare' } } },
    });
    assert.notEqual(replaced.metadata!.resourceVersion, fresh.metadata!.resourceVersion);

    const d = await apps.createNamespacedDeployment({
      namespace: 'default',
      body: deployment('patchy', [
        { name: 'a', image: 'a:1' },
        { name: 'b', image: 'b:1' },
      ]),
    });
    const smp = await apps.patchNamespacedDeployment(
      { namespace: 'default', name: 'patchy', body: { spec: { template: { spec: { containers: [{ name: 'b', image: 'b:2' }] } } } } },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    assert.deepEqual(
      smp.spec!.template.spec!.containers.map((c) => `${c.name}=${c.image}`),
      ['a=a:1', 'b=b:2'],
    );
    assert.equal(smp.metadata!.generation, d.metadata!.generation! + 1);
    const merge = await apps.patchNamespacedDeployment(
      { namespace: 'default', name: 'patchy', body: { spec: { template: { spec: { containers: [{ name: 'b', image: 'b:3' }] } } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    assert.deepEqual(
      merge.spec!.template.spec!.containers.map((c) => `${c.name}=${c.image}`),
      ['b=b:3'],
    );
    const json = await apps.patchNamespacedDeployment(
      { namespace: 'default', name: 'patchy', body: [{ op: 'replace', path: '/spec/replicas', value: 3 }] },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
    assert.equal(json.spec!.replicas, 3);
  });

  test('watch streams ADDED/MODIFIED/DELETED and resumes from a resourceVersion', async () => {
    const seen: string[] = [];
    const watch = new Watch(kc);
    const list = await core.listNamespacedConfigMap({ namespace: 'default' });
    const ctl = await watch.watch(
      '/api/v1/namespaces/default/configmaps',
      { labelSelector: 'watched=yes', resourceVersion: list.metadata!.resourceVersion },
      (type, obj) => seen.push(`${type} ${obj.metadata.name} ${obj.data?.k ?? ''}`),
      () => {},
    );
    try {
      await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'cm1', labels: { watched: 'yes' } }, data: { k: '1' } } });
      await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'other' }, data: { k: 'x' } } });
      await core.patchNamespacedConfigMap(
        { namespace: 'default', name: 'cm1', body: { data: { k: '2' } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      await core.deleteNamespacedConfigMap({ namespace: 'default', name: 'cm1' });
      await until('three watch events', async () => seen.length >= 3);
      assert.deepEqual(seen, ['ADDED cm1 1', 'MODIFIED cm1 2', 'DELETED cm1 2']);
    } finally {
      ctl.abort();
    }
    // A watch from the list's resourceVersion replays what happened since.
    const replay: string[] = [];
    const ctl2 = await watch.watch(
      '/api/v1/namespaces/default/configmaps',
      { resourceVersion: list.metadata!.resourceVersion },
      (type, obj) => replay.push(`${type} ${obj.metadata.name}`),
      () => {},
    );
    try {
      await until('replayed events', async () => replay.length >= 4);
      assert.deepEqual(replay, ['ADDED cm1', 'ADDED other', 'MODIFIED cm1', 'DELETED cm1']);
    } finally {
      ctl2.abort();
    }
  });

  test('eviction answers 429 while a PodDisruptionBudget allows no disruption, then succeeds', async () => {
    await core.createNamespacedPod({
      namespace: 'default',
      body: { metadata: { name: 'solo', labels: { app: 'solo' } }, spec: { nodeName: 'desk2', containers: [{ name: 'c', image: 'busybox' }] } },
    });
    const policy = kc.makeApiClient(PolicyV1Api);
    await policy.createNamespacedPodDisruptionBudget({
      namespace: 'default',
      body: { metadata: { name: 'solo' }, spec: { selector: { matchLabels: { app: 'solo' } } } },
    });
    await policy.patchNamespacedPodDisruptionBudgetStatus(
      {
        namespace: 'default',
        name: 'solo',
        body: { status: { disruptionsAllowed: 0, currentHealthy: 1, desiredHealthy: 1, expectedPods: 1, observedGeneration: 1 } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const eviction = { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'solo', namespace: 'default' } };
    await assert.rejects(core.createNamespacedPodEviction({ namespace: 'default', name: 'solo', body: eviction }), (err) => {
      const { code, status } = apiError(err);
      return code === 429 && status.reason === 'TooManyRequests' && /disruption budget/.test(status.message);
    });
    const adapter = ClientNodeKube.connect({ kind: 'kubeconfig', path: join(dir, 'kubeconfig') }, 5000);
    await assert.rejects(adapter.evictPod('default', 'solo'), EvictionBlocked);
    await policy.patchNamespacedPodDisruptionBudgetStatus(
      { namespace: 'default', name: 'solo', body: { status: { disruptionsAllowed: 1 } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await adapter.evictPod('default', 'solo');
    await assert.rejects(core.readNamespacedPod({ namespace: 'default', name: 'solo' }), (err) => apiError(err).code === 404);
    await assert.rejects(adapter.evictPod('default', 'solo'), NotFound);
  });

  test('the deployment controller rolls forward with revisions, and a stuck rollout exceeds its deadline', async () => {
    await apps.patchNamespacedDeployment(
      { namespace: 'default', name: 'web', body: { spec: { template: { spec: { containers: [{ name: 'web', image: 'nginx:1.28' }] } } } } },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    const done = await until('web rolled out', async () => {
      const d = await apps.readNamespacedDeployment({ namespace: 'default', name: 'web' });
      const s = d.status ?? {};
      return d.metadata!.generation! <= (s.observedGeneration ?? 0) && s.updatedReplicas === 2 && s.replicas === 2 && s.availableReplicas === 2 && d;
    });
    assert.equal(done.metadata!.annotations!['deployment.kubernetes.io/revision'], '2');
    const rss = await apps.listNamespacedReplicaSet({ namespace: 'default', labelSelector: 'app=web' });
    assert.deepEqual(rss.items.map((rs) => rs.metadata!.annotations!['deployment.kubernetes.io/revision']).sort(), ['1', '2']);

    await apps.createNamespacedDeployment({
      namespace: 'default',
      body: { ...deployment('stuck', [{ name: 'c', image: 'c:1' }]), metadata: { name: 'stuck', annotations: { 'fake.labd/stuck': 'true' } } },
    });
    await apps.patchNamespacedDeployment(
      { namespace: 'default', name: 'stuck', body: { spec: { progressDeadlineSeconds: 1 } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const failed = await until('ProgressDeadlineExceeded', async () => {
      const d = await apps.readNamespacedDeployment({ namespace: 'default', name: 'stuck' });
      return d.status?.conditions?.find((c) => c.type === 'Progressing' && c.reason === 'ProgressDeadlineExceeded');
    });
    assert.equal(failed.status, 'False');
  });

  test('discovery lists the groups and the eviction subresource', async () => {
    const res = await fetch(`${fake.url}/api/v1`);
    const doc = (await res.json()) as { resources: { name: string; kind: string; group?: string }[] };
    assert.ok(doc.resources.some((r) => r.name === 'pods/eviction' && r.kind === 'Eviction' && r.group === 'policy'));
    const groups = (await (await fetch(`${fake.url}/apis`)).json()) as { groups: { name: string }[] };
    for (const g of ['apps', 'policy', 'kilo.squat.ai', 'kustomize.toolkit.fluxcd.io', 'helm.toolkit.fluxcd.io'])
      assert.ok(
        groups.groups.some((x) => x.name === g),
        g,
      );
  });

  test('the adapter maps a stopped server to Unavailable', async () => {
    const other = await FakeKube.start({ controllers: false });
    const adapter = ClientNodeKube.connect({ kind: 'kubeconfig', path: other.writeKubeconfig(join(dir, 'other')) }, 5000);
    await assert.rejects(adapter.getNode('nope'), NotFound);
    await other.stop();
    await assert.rejects(adapter.listNodes(), (err) => err instanceof Unavailable && /connection refused/.test(err.message));
  });
});

describe('fake-kube standalone', () => {
  test('npm run fake-kube serves the example fixture and writes a kubeconfig', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fake-kube-cli-'));
    const kubeconfig = join(dir, 'kubeconfig');
    const child = spawn('npm', ['run', '-s', 'fake-kube', '--', '--port', '0', '--fixture', FIXTURE, '--kubeconfig', kubeconfig], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    try {
      await until('the kubeconfig line', async () => out.includes('kubeconfig written to'));
      const kc = new KubeConfig();
      kc.loadFromString(readFileSync(kubeconfig, 'utf8'));
      const nodes = await kc.makeApiClient(CoreV1Api).listNode({});
      assert.deepEqual(
        nodes.items.map((n) => n.metadata!.name),
        ['cp1', 'desk2', 'laptop1'],
      );
    } finally {
      process.kill(-child.pid!, 'SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function deployment(name: string, containers: { name: string; image: string }[]): V1Deployment {
  return {
    metadata: { name },
    spec: { replicas: 1, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers } } },
  };
}
