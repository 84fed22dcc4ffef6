/**
 * Node commands through the real OpenSSH client against labd wired to the Kubernetes API fake
 * (LABD_KUBECONFIG). The fake runs in this process, so ssh runs asynchronously here.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { findResource } from './support/fake-kube/resources.ts';
import type { FakeKube } from './support/fake-kube/server.ts';
import { KeyLab, LabdProcess, type SshResult } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';
import { startKubeLab, type KubeLab } from './support/kube-lab.ts';

const NODES = findResource('', 'v1', 'nodes')!;

const ssh = (labd: InProcessLabd, key: string, command: string[]): Promise<SshResult> => labd.sshAsync(key, command);

describe('node commands against the Kubernetes API fake', () => {
  const lab = new KeyLab();
  let kube: KubeLab;
  let fake: FakeKube;
  let labd: InProcessLabd;
  let admin: string;
  let member: string;

  before(async () => {
    kube = await startKubeLab(lab, { controllers: { tickMs: 100 } });
    ({ fake, labd, admin, member } = kube);
  });
  after(async () => {
    await kube?.stop();
    lab.cleanup();
  });

  test('nodes prints a table with status, roles, version, address, Kilo location and cordoned', async () => {
    const r = await ssh(labd, admin, ['nodes']);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0]!, /^NAME\s+STATUS\s+ROLES\s+VERSION\s+INTERNAL-IP\s+LOCATION\s+CORDONED\s+CPU\s+MEMORY\s+AGE$/);
    assert.equal(lines.length, 4);
    assert.match(r.stdout, /^cp1\s+Ready\s+control-plane\s+v1\.31\.4\+k3s1\s+192\.168\.1\.10\s+home\s+no\s+4\s+15\.6Gi\s+\d+y\d+d$/m);
    assert.match(r.stdout, /^desk2\s+Ready\s+worker\s+\S+\s+192\.168\.7\.5\s+garage\s+no\s/m);
  });

  test('nodes --json is one JSON document; --selector filters by label', async () => {
    const r = await ssh(labd, admin, ['nodes', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as {
      name: string;
      location: string;
      cordoned: boolean;
      roles: string[];
      allocatable: Record<string, string>;
      createdAt: string;
    }[];
    assert.deepEqual(
      doc.map((n) => n.name),
      ['cp1', 'desk2', 'laptop1'],
    );
    const laptop = doc.find((n) => n.name === 'laptop1')!;
    assert.equal(laptop.location, 'home');
    assert.equal(laptop.cordoned, false);
    assert.deepEqual(laptop.roles, ['worker']);
    assert.equal(laptop.allocatable.cpu, '2');
    assert.equal(laptop.createdAt, '2024-05-12T18:30:00.000Z');
    const workers = await ssh(labd, admin, ['nodes', '--selector', 'node-role.kubernetes.io/worker', '--json']);
    assert.equal(workers.status, 0, workers.stderr);
    assert.deepEqual(
      (JSON.parse(workers.stdout) as { name: string }[]).map((n) => n.name),
      ['desk2', 'laptop1'],
    );
  });

  test('node describe adds conditions, capacity, the pods on the node and its events', async () => {
    const r = await ssh(labd, admin, ['node', 'describe', 'laptop1']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Conditions:\s+.*Ready=True \(KubeletReady\)/m);
    assert.match(r.stdout, /^Capacity:\s+cpu 2, memory 7\.7Gi, pods 110$/m);
    assert.match(r.stdout, /^Pods:\s+.*kube-system\/kilo-laptop1 \(Running 1\/1\)/m);
    assert.match(r.stdout, /^Events:\s+.*Warning Rebooted: Node laptop1 has been rebooted/m);
    const j = await ssh(labd, admin, ['node', 'describe', 'cp1', '--json']);
    assert.equal(j.status, 0, j.stderr);
    const doc = JSON.parse(j.stdout) as {
      name: string;
      pods: { namespace: string; name: string; controller: { kind: string } | null }[];
      conditions: { type: string }[];
    };
    assert.equal(doc.name, 'cp1');
    assert.deepEqual(doc.pods.map((p) => `${p.namespace}/${p.name}`).sort(), ['kube-system/kilo-cp1', 'kube-system/kube-vip-cp1']);
    assert.equal(doc.pods.find((p) => p.name === 'kilo-cp1')!.controller!.kind, 'DaemonSet');
    assert.ok(doc.conditions.some((c) => c.type === 'MemoryPressure'));
  });

  test('an unknown node exits 4; a malformed name exits 2', async () => {
    const r = await ssh(labd, admin, ['node', 'describe', 'nope']);
    assert.equal(r.status, 4, r.stderr);
    assert.match(r.stderr, /^error: node nope: not found\n$/);
    const bad = await ssh(labd, admin, ['node', 'cordon', 'Bad_Name']);
    assert.equal(bad.status, 2, bad.stderr);
  });

  test('node cordon / uncordon patch spec.unschedulable, are idempotent, and are audited', async () => {
    const r = await ssh(labd, admin, ['node', 'cordon', 'desk2']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'node desk2 cordoned\n');
    assert.equal((fake.store.get(NODES, undefined, 'desk2')!.spec as { unschedulable?: boolean }).unschedulable, true);
    assert.ok(
      fake.requests.some((q) => q.method === 'PATCH' && q.path === '/api/v1/nodes/desk2' && q.contentType === 'application/strategic-merge-patch+json'),
    );
    const table = await ssh(labd, admin, ['nodes']);
    assert.match(table.stdout, /^desk2\s+Ready,SchedulingDisabled\s+worker\s+\S+\s+\S+\s+garage\s+yes\s/m);
    const again = await ssh(labd, admin, ['node', 'cordon', 'desk2', '--json']);
    assert.equal(again.status, 0, again.stderr);
    assert.deepEqual(JSON.parse(again.stdout), { node: 'desk2', cordoned: true, changed: false });
    const un = await ssh(labd, admin, ['node', 'uncordon', 'desk2']);
    assert.equal(un.status, 0, un.stderr);
    assert.equal(un.stdout, 'node desk2 uncordoned\n');
    assert.notEqual((fake.store.get(NODES, undefined, 'desk2')!.spec as { unschedulable?: boolean }).unschedulable, true);
    const audit = await ssh(labd, admin, ['audit', '--json']);
    const rows = JSON.parse(audit.stdout) as { command: string; outcome: string; actor?: string }[];
    assert.equal(rows.filter((a) => a.command === 'node cordon' && a.outcome === 'ok').length, 2);
    assert.equal(rows.filter((a) => a.command === 'node uncordon' && a.outcome === 'ok').length, 1);
  });

  test('a member may not read or change nodes (exit 3)', async () => {
    const read = await ssh(labd, member, ['nodes']);
    assert.equal(read.status, 3, read.stderr);
    assert.match(read.stderr, /permission denied: 'nodes' needs ops\.read/);
    const write = await ssh(labd, member, ['node', 'cordon', 'laptop1']);
    assert.equal(write.status, 3, write.stderr);
    assert.notEqual((fake.store.get(NODES, undefined, 'laptop1')!.spec as { unschedulable?: boolean }).unschedulable, true);
  });

  test('RBAC refusal from the API server is a permission error', async () => {
    fake.deny([{ verb: 'patch', resource: 'nodes' }]);
    try {
      const r = await ssh(labd, admin, ['node', 'cordon', 'laptop1']);
      assert.equal(r.status, 3, r.stderr);
      assert.match(r.stderr, /^error: labd's Kubernetes account may not do this: nodes "laptop1" is forbidden/);
    } finally {
      fake.deny([]);
    }
  });

  test('a slow API server gives a clear time-out error instead of a hang', async () => {
    fake.setLatency(60_000);
    try {
      const r = await ssh(labd, admin, ['nodes']);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /^error: the Kubernetes API at http:\/\/127\.0\.0\.1:\d+ did not answer within 3s \(list nodes\)\n$/);
    } finally {
      fake.setLatency(0);
    }
  });

  test('a stopped API server gives one clear line', async () => {
    await fake.stop();
    const r = await ssh(labd, admin, ['node', 'describe', 'cp1']);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /^error: cannot reach the Kubernetes API at http:\/\/127\.0\.0\.1:\d+: connection refused\n$/);
  });
});

describe('node commands without a cluster', () => {
  const lab = new KeyLab();
  let labd: InProcessLabd;
  let admin: string;

  before(async () => {
    admin = lab.key('admin');
    labd = await InProcessLabd.start({ adminKeys: [lab.publicKey(admin)] });
  });
  after(async () => {
    await labd?.stop();
    lab.cleanup();
  });

  test('say how to configure one', async () => {
    const r = await ssh(labd, admin, ['nodes']);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /^error: no Kubernetes cluster configured: set LABD_KUBECONFIG \(or kube\.kubeconfig in the config file\)/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  });

  test('a kubeconfig that does not exist stops labd at start with one line', async () => {
    // The process itself (its exit at start and the line it leaves): a real labd process.
    await assert.rejects(
      LabdProcess.start({ adminKeys: [lab.publicKey(admin)], env: { LABD_KUBECONFIG: join(lab.dir, 'missing') } }),
      /LABD_KUBECONFIG\) \S+missing: no such file/,
    );
  });
});
