/**
 * Deploy commands through the real OpenSSH client against labd wired to the Kubernetes API fake, whose
 * deployment controller rolls pods forward and whose Flux stand-in handles reconcile requests.
 * The fake runs in this process, so ssh runs asynchronously here.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { findResource } from './support/fake-kube/resources.ts';
import type { FakeKube } from './support/fake-kube/server.ts';
import type { KubeObject } from './support/fake-kube/store.ts';
import { KeyLab, type SshResult } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';
import { exampleObjects, startKubeLab, type KubeLab } from './support/kube-lab.ts';
import { until } from './support/wait.ts';

const DEPLOYMENTS = findResource('apps', 'v1', 'deployments')!;
const PODS = findResource('', 'v1', 'pods')!;
const HELMRELEASES = findResource('helm.toolkit.fluxcd.io', 'v2', 'helmreleases')!;
const KUSTOMIZATIONS = findResource('kustomize.toolkit.fluxcd.io', 'v1', 'kustomizations')!;

const ssh = (labd: InProcessLabd, key: string, command: string[]): Promise<SshResult> => labd.sshAsync(key, command);

function deployment(
  namespace: string,
  name: string,
  containers: { name: string; image: string }[],
  extra: { replicas?: number; progressDeadlineSeconds?: number; annotations?: Record<string, string> } = {},
): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels: { app: name }, ...(extra.annotations ? { annotations: extra.annotations } : {}) },
    spec: {
      replicas: extra.replicas ?? 1,
      progressDeadlineSeconds: extra.progressDeadlineSeconds ?? 600,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers } },
    },
  } as unknown as KubeObject;
}

type Dep = {
  metadata: { annotations?: Record<string, string>; labels?: Record<string, string>; resourceVersion: string };
  spec: { template: { metadata?: { annotations?: Record<string, string> }; spec: { containers: { name: string; image: string }[] } } };
};

describe('deploy commands against the Kubernetes API fake', () => {
  const lab = new KeyLab();
  let kube: KubeLab;
  let fake: FakeKube;
  let labd: InProcessLabd;
  let admin: string;
  let member: string;
  const dep = (ns: string, name: string) => fake.store.get(DEPLOYMENTS, ns, name) as unknown as Dep;
  const images = (ns: string, name: string) =>
    dep(ns, name)
      .spec.template.spec.containers.map((c) => `${c.name}=${c.image}`)
      .join(',');

  before(async () => {
    kube = await startKubeLab(lab, {
      objects: [
        ...exampleObjects(),
        deployment('shop', 'api', [
          { name: 'api', image: 'ghcr.io/lab/api:1.0' },
          { name: 'sidecar', image: 'envoyproxy/envoy:v1.30.1' },
        ]),
        deployment('shop', 'slow', [{ name: 'app', image: 'busybox:1.36' }], { annotations: { 'fake.labd/stuck': 'true' } }),
      ],
      controllers: { tickMs: 100 },
    });
    ({ fake, labd, admin, member } = kube);
    // The controller has rolled out the first revision of every deployment before the tests start:
    // all replicas available, not just one (the controller brings them up a tick apart).
    await until('first rollouts', () =>
      ['default/web', 'shop/api'].every((k) => {
        const d = fake.store.get(DEPLOYMENTS, ...(k.split('/') as [string, string])) as {
          spec?: { replicas?: number };
          status?: { availableReplicas?: number };
        };
        return (d.status?.availableReplicas ?? 0) >= (d.spec?.replicas ?? 1);
      }),
    );
  });
  after(async () => {
    await kube?.stop();
    lab.cleanup();
  });

  test('deploys lists deployments with ready, up-to-date, available, images and age; -n filters; --json', async () => {
    const r = await ssh(labd, admin, ['deploys']);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0]!, /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+IMAGES\s+AGE$/);
    assert.match(r.stdout, /^default\/web\s+2\/2\s+2\s+2\s+nginx:1\.27\s+\d+s$/m);
    assert.match(r.stdout, /^shop\/api\s+1\/1\s+1\s+1\s+ghcr\.io\/lab\/api:1\.0,envoyproxy\/envoy:v1\.30\.1\s+\d+s$/m);
    const shop = await ssh(labd, admin, ['deploys', '-n', 'shop', '--json']);
    assert.equal(shop.status, 0, shop.stderr);
    const doc = JSON.parse(shop.stdout) as { namespace: string; name: string; revision: string; containers: { name: string; image: string }[] }[];
    assert.deepEqual(
      doc.map((d) => `${d.namespace}/${d.name}`),
      ['shop/api', 'shop/slow'],
    );
    assert.equal(doc[0]!.revision, '1');
    assert.deepEqual(
      doc[0]!.containers.map((c) => c.name),
      ['api', 'sidecar'],
    );
  });

  test('deploy sets a new image with a strategic-merge patch and --wait follows the rollout to completion', async () => {
    const r = await ssh(labd, admin, ['deploy', 'default/web', '--image', 'nginx:1.28', '--wait']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'deployment "default/web" successfully rolled out\n');
    assert.match(r.stderr, /^deployment "default\/web" container web: nginx:1\.27 → nginx:1\.28$/m);
    assert.equal(images('default', 'web'), 'web=nginx:1.28');
    assert.ok(
      fake.requests.some(
        (q) =>
          q.method === 'PATCH' &&
          q.path.startsWith('/apis/apps/v1/namespaces/default/deployments/web') &&
          q.contentType === 'application/strategic-merge-patch+json',
      ),
    );
    // Rolled out: every pod of the deployment runs the new image and none of the old ones is left.
    const pods = fake.store.list(PODS, 'default').filter((p) => p.metadata.labels?.app === 'web' && !p.metadata.deletionTimestamp) as unknown as {
      spec: { containers: { image: string }[] };
    }[];
    assert.equal(pods.length, 2);
    assert.ok(pods.every((p) => p.spec.containers[0]!.image === 'nginx:1.28'));
    assert.equal(dep('default', 'web').metadata.annotations?.['deployment.kubernetes.io/revision'], '2');
    const audit = JSON.parse((await ssh(labd, admin, ['audit', '--json'])).stdout) as { command: string; outcome: string }[];
    assert.ok(audit.some((a) => a.command === 'deploy' && a.outcome === 'ok'));
  });

  test('rollback goes back to the previous revision (destructive: needs --yes), and --to picks a revision', async () => {
    const unconfirmed = await ssh(labd, admin, ['rollback', 'default/web']);
    assert.equal(unconfirmed.status, 2, unconfirmed.stderr);
    assert.match(unconfirmed.stderr, /'rollback' is destructive: add --yes/);
    assert.equal(images('default', 'web'), 'web=nginx:1.28');

    const r = await ssh(labd, admin, ['rollback', 'default/web', '--yes', '--wait']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /^deployment "default\/web" rolled back to revision 1 \(nginx:1\.27\)$/m);
    assert.equal(r.stdout, 'deployment "default/web" successfully rolled out\n');
    assert.equal(images('default', 'web'), 'web=nginx:1.27');
    // The old ReplicaSet comes back under the next revision number, as with the real controller.
    await until('revision 3', () => dep('default', 'web').metadata.annotations?.['deployment.kubernetes.io/revision'] === '3');

    const to = await ssh(labd, admin, ['rollback', 'default/web', '--to', '2', '--yes', '--json']);
    assert.equal(to.status, 0, to.stderr);
    const doc = JSON.parse(to.stdout) as { toRevision: number; changed: boolean; images: { image: string }[] };
    assert.equal(doc.toRevision, 2);
    assert.equal(doc.changed, true);
    assert.equal(images('default', 'web'), 'web=nginx:1.28');

    const missing = await ssh(labd, admin, ['rollback', 'default/web', '--to', '9', '--yes']);
    assert.equal(missing.status, 4, missing.stderr);
    assert.match(missing.stderr, /^error: deployment "default\/web" has no revision 9 \(revisions: \d+(, \d+)+\)\n$/);
  });

  test('restart sets kubectl.kubernetes.io/restartedAt on the pod template', async () => {
    const before = dep('shop', 'api').spec.template.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt'];
    assert.equal(before, undefined);
    const r = await ssh(labd, admin, ['restart', 'shop/api', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { deployment: string; restartedAt: string };
    assert.equal(doc.deployment, 'shop/api');
    assert.match(doc.restartedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(dep('shop', 'api').spec.template.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt'], doc.restartedAt);
    const follow = await ssh(labd, admin, ['rollout', 'shop/api']);
    assert.equal(follow.status, 0, follow.stderr);
    assert.equal(follow.stdout, 'deployment "shop/api" successfully rolled out\n');
  });

  test('deploy into a deployment with several containers needs --container; a 409 conflict is re-read and re-applied', async () => {
    const ambiguous = await ssh(labd, admin, ['deploy', 'shop/api', '--image', 'ghcr.io/lab/api:1.1']);
    assert.equal(ambiguous.status, 2, ambiguous.stderr);
    assert.match(ambiguous.stderr, /^error: deployment "shop\/api" has containers api, sidecar: choose one with --container\n$/);
    const unknown = await ssh(labd, admin, ['deploy', 'shop/api', '--image', 'ghcr.io/lab/api:1.1', '--container', 'web']);
    assert.equal(unknown.status, 2, unknown.stderr);
    assert.match(unknown.stderr, /has no container 'web' \(containers: api, sidecar\)/);

    // Every API answer is delayed; once labd's first PATCH has arrived (so its read is done), someone else
    // changes the deployment: that PATCH carries a stale resourceVersion and gets 409.
    const patchPath = '/apis/apps/v1/namespaces/shop/deployments/api';
    const patches = () => fake.requests.filter((q) => q.method === 'PATCH' && q.path.startsWith(patchPath)).length;
    const before = patches();
    fake.setLatency(700);
    let r: SshResult;
    try {
      const run = ssh(labd, admin, ['deploy', 'shop/api', '--image', 'ghcr.io/lab/api:1.1', '-c', 'api']);
      await until('the first PATCH', () => patches() > before);
      const current = fake.store.get(DEPLOYMENTS, 'shop', 'api')!;
      current.metadata.labels = { ...current.metadata.labels, team: 'checkout' };
      fake.store.update(DEPLOYMENTS, current);
      r = await run;
    } finally {
      fake.setLatency(0);
    }
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /changed while labd updated it; retrying \(1\)/);
    assert.equal(r.stdout, 'deployment "shop/api" container api: ghcr.io/lab/api:1.0 → ghcr.io/lab/api:1.1\n');
    assert.equal(patches() - before, 2);
    // Both changes are there: the concurrent label and labd's image.
    assert.equal(dep('shop', 'api').metadata.labels?.team, 'checkout');
    assert.equal(images('shop', 'api'), 'api=ghcr.io/lab/api:1.1,sidecar=envoyproxy/envoy:v1.30.1');
  });

  test('a rollout that exceeds its progress deadline exits non-zero with a clear message', async () => {
    fake.load([deployment('shop', 'stuck', [{ name: 'app', image: 'busybox:1.36' }], { annotations: { 'fake.labd/stuck': 'true' } })]);
    const status = () => (fake.store.get(DEPLOYMENTS, 'shop', 'stuck') as unknown as { status?: { updatedReplicas?: number } }).status;
    await until('the stuck pod', () => status()?.updatedReplicas === 1);
    const gets = () => fake.requests.filter((q) => q.method === 'GET' && q.path.startsWith('/apis/apps/v1/namespaces/shop/deployments/stuck')).length;
    const run = ssh(labd, admin, ['rollout', 'shop/stuck']);
    await until('labd following the rollout', () => gets() >= 1);
    // Only now does the deadline become short enough to pass while labd follows.
    const d = fake.store.get(DEPLOYMENTS, 'shop', 'stuck')!;
    (d.spec as { progressDeadlineSeconds: number }).progressDeadlineSeconds = 2;
    fake.store.update(DEPLOYMENTS, d);
    const r = await run;
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /^Waiting for deployment "shop\/stuck" rollout to finish: 0 of 1 updated replicas are available\.\.\.$/m);
    assert.match(r.stderr, /^error: deployment "shop\/stuck" exceeded its progress deadline \(ReplicaSet "stuck-\w+" has timed out progressing\.\)\n$/m);
  });

  test('reconcile a kustomization waits for the request to be handled and for Ready', async () => {
    const r = await ssh(labd, admin, ['reconcile', 'kustomization', 'flux-system/apps']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'kustomization flux-system/apps reconciled: Applied revision: main@sha1:5d1c0e3\n');
    assert.match(r.stderr, /^requested a reconcile of kustomization flux-system\/apps/m);
    const ks = fake.store.get(KUSTOMIZATIONS, 'flux-system', 'apps') as unknown as {
      metadata: { annotations: Record<string, string> };
      status: { lastHandledReconcileAt: string };
    };
    const requested = ks.metadata.annotations['reconcile.fluxcd.io/requestedAt']!;
    assert.ok(!Number.isNaN(Date.parse(requested)));
    assert.equal(ks.status.lastHandledReconcileAt, requested);
    assert.ok(
      fake.requests.some(
        (q) =>
          q.method === 'PATCH' &&
          q.path.startsWith('/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/apps') &&
          q.path.includes('fieldManager=flux-client-side-apply') &&
          q.contentType === 'application/merge-patch+json',
      ),
    );
  });

  test('reconcile of a failing helmrelease exits 1 with the Ready message', async () => {
    const hr = fake.store.get(HELMRELEASES, 'flux-system', 'monitoring')!;
    hr.metadata.annotations = { ...hr.metadata.annotations, 'fake.labd/fail': 'true' };
    fake.store.update(HELMRELEASES, hr);
    const r = await ssh(labd, admin, ['reconcile', 'helmrelease', 'flux-system/monitoring', '--timeout', '60s']);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /^error: helmrelease flux-system\/monitoring reconciliation failed: reconciliation failed \(fake\.labd\/fail\)\n$/m);
    const missing = await ssh(labd, admin, ['reconcile', 'kustomization', 'flux-system/nope']);
    assert.equal(missing.status, 4, missing.stderr);
    const badKind = await ssh(labd, admin, ['reconcile', 'gitrepository', 'flux-system/apps']);
    assert.equal(badKind.status, 2, badKind.stderr);
  });

  test('a member may neither list nor change deployments (exit 3)', async () => {
    const read = await ssh(labd, member, ['deploys']);
    assert.equal(read.status, 3, read.stderr);
    assert.match(read.stderr, /permission denied: 'deploys' needs ops\.read/);
    const write = await ssh(labd, member, ['deploy', 'default/web', '--image', 'nginx:1.29']);
    assert.equal(write.status, 3, write.stderr);
    assert.match(write.stderr, /permission denied: 'deploy' needs ops\.deploy/);
    assert.notEqual(images('default', 'web'), 'web=nginx:1.29');
  });

  test('bad NAMESPACE/NAME, images and time-outs exit 2; an unknown deployment exits 4', async () => {
    for (const argv of [
      ['rollout', 'web'],
      ['restart', 'Default/web'],
      ['deploy', 'default/', '--image', 'nginx:1'],
      ['rollback', 'a/b/c', '--yes'],
    ]) {
      const r = await ssh(labd, admin, argv);
      assert.equal(r.status, 2, `${argv.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /expected NAMESPACE\/NAME, e\.g\. default\/web/);
    }
    const image = await ssh(labd, admin, ['deploy', 'default/web', '--image', 'NGINX:latest']);
    assert.equal(image.status, 2, image.stderr);
    assert.match(image.stderr, /--image: expected an image reference/);
    const timeout = await ssh(labd, admin, ['rollout', 'default/web', '--timeout', 'soon']);
    assert.equal(timeout.status, 2, timeout.stderr);
    const unknown = await ssh(labd, admin, ['rollout', 'default/nope']);
    assert.equal(unknown.status, 4, unknown.stderr);
    assert.match(unknown.stderr, /^error: deployment default\/nope: not found\n$/);
  });

  test('the API server stopped while a rollout is followed gives one clear error', async () => {
    const gets = () => fake.requests.filter((q) => q.method === 'GET' && q.path.startsWith('/apis/apps/v1/namespaces/shop/deployments/slow')).length;
    const run = ssh(labd, admin, ['rollout', 'shop/slow', '--timeout', '5m']);
    await until('labd following the rollout', () => gets() >= 2);
    await fake.stop();
    const r = await run;
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /^Waiting for deployment "shop\/slow" rollout to finish: 0 of 1 updated replicas are available\.\.\.$/m);
    assert.match(r.stderr, /^error: cannot reach the Kubernetes API at http:\/\/127\.0\.0\.1:\d+: connection (refused|reset)\n$/m);
  });
});
