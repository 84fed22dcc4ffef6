/**
 * node provision / deprovision, pixiecore's boot API and the join watcher, through the real OpenSSH client
 * against labd wired to the Kubernetes API fake (which runs in this process, so ssh runs asynchronously).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { findResource } from './support/fake-kube/resources.ts';
import type { FakeKube } from './support/fake-kube/server.ts';
import type { KubeObject } from './support/fake-kube/store.ts';
import { freePort, KeyLab, runAsync, type RunningSsh, type SshResult } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';
import { startKubeLab, type KubeLab } from './support/kube-lab.ts';
import { until as waitFor } from './support/wait.ts';

const NODES = findResource('', 'v1', 'nodes')!;
const PODS = findResource('', 'v1', 'pods')!;
const SECRETS = findResource('', 'v1', 'secrets')!;
const PDBS = findResource('policy', 'v1', 'poddisruptionbudgets')!;

const sshStart = (labd: InProcessLabd, key: string, command: string[]): RunningSsh => labd.sshStart(key, command);

const ssh = (labd: InProcessLabd, key: string, command: string[]): Promise<SshResult> => sshStart(labd, key, command).done;

const decode = (data: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));

function readyNode(name: string): KubeObject {
  return {
    metadata: { name, labels: { 'kubernetes.io/hostname': name } },
    spec: {},
    status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady' }], nodeInfo: { kubeletVersion: 'v1.31.4+k3s1' } },
  } as KubeObject;
}

function pod(
  namespace: string,
  name: string,
  node: string,
  o: { owner?: string; labels?: Record<string, string>; annotations?: Record<string, string> } = {},
): KubeObject {
  const [kind, ownerName] = (o.owner ?? '/').split('/');
  return {
    metadata: {
      name,
      namespace,
      labels: o.labels ?? {},
      annotations: o.annotations ?? {},
      ...(o.owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind, name: ownerName, uid: `uid-${ownerName}`, controller: true }] } : {}),
    },
    spec: { nodeName: node, containers: [{ name: 'c', image: 'busybox' }] },
    status: { phase: 'Running' },
  } as KubeObject;
}

/** A budget with no minAvailable/maxUnavailable keeps the status it is given (the fake's disruption controller leaves it alone). */
function budget(name: string, app: string, allowed: number): KubeObject {
  return {
    metadata: { name, namespace: 'default' },
    spec: { selector: { matchLabels: { app } } },
    status: { disruptionsAllowed: allowed, currentHealthy: 1, desiredHealthy: 1 },
  } as KubeObject;
}

describe('node provisioning and deprovisioning against the Kubernetes API fake', () => {
  const lab = new KeyLab();
  let kube: KubeLab;
  let fake: FakeKube;
  let labd: InProcessLabd;
  let admin: string;
  let member: string;
  let bootUrl: (mac: string) => string;
  let bootPort: number;
  /** curl from a chosen loopback source address, as a machine on the lab network (or an attacker) would ask. */
  const curl = async (url: string, source = '127.0.0.1'): Promise<{ status: number; body: string }> => {
    const r = await runAsync('curl', ['-s', '--interface', source, '-w', '\n%{http_code}', url]);
    const i = r.stdout.lastIndexOf('\n');
    return { status: Number(r.stdout.slice(i + 1)), body: r.stdout.slice(0, i) };
  };

  before(async () => {
    const config = join(lab.dir, 'labd.yaml');
    writeFileSync(
      config,
      [
        'nodes:',
        '  server: https://10.0.0.1:6443',
        '  defaultProfile: k3s',
        '  profiles:',
        '    k3s:',
        '      kernel: http://boot.lab/vmlinuz',
        '      initrd: [http://boot.lab/initrd.img, http://boot.lab/k3s.cpio]',
        '      cmdline: "console=ttyS0 hostname={hostname} k3s.url={server} k3s.token={token} mac={mac}"',
        '',
      ].join('\n'),
    );
    bootPort = await freePort();
    kube = await startKubeLab(lab, {
      objects: [],
      // The boot API on its own listener, for 127.0.0.0/30 only (127.0.0.5 plays a host outside it).
      env: {
        LABD_CONFIG: config,
        LABD_NODES_JOIN_POLL: '1s',
        LABD_NODES_EVICT_RETRY: '1s',
        LABD_BOOT_LISTEN: `127.0.0.1:${bootPort}`,
        LABD_BOOT_ALLOW: '127.0.0.0/30',
        LABD_BOOT_UNKNOWN_PER_MINUTE: '20',
      },
    });
    ({ fake, labd, admin, member } = kube);
    bootUrl = (mac) => `http://127.0.0.1:${bootPort}/v1/boot/${mac}`;
  });
  after(async () => {
    await kube?.stop();
    lab.cleanup();
  });

  test('a bad name or MAC exits 2 and creates nothing', async () => {
    const name = await ssh(labd, admin, ['node', 'provision', 'Bad_Name', '--mac', 'aa:bb:cc:dd:ee:ff']);
    assert.equal(name.status, 2, name.stderr);
    assert.match(name.stderr, /host name/);
    const mac = await ssh(labd, admin, ['node', 'provision', 'good', '--mac', 'aa:bb:cc:dd:ee']);
    assert.equal(mac.status, 2, mac.stderr);
    assert.match(mac.stderr, /expected a MAC address like aa:bb:cc:dd:ee:ff, got 'aa:bb:cc:dd:ee'/);
    const profile = await ssh(labd, admin, ['node', 'provision', 'good', '--mac', 'aa:bb:cc:dd:ee:ff', '--profile', 'talos']);
    assert.equal(profile.status, 2, profile.stderr);
    assert.match(profile.stderr, /no boot profile 'talos' in nodes\.profiles \(configured: k3s\)/);
    // A profile name that is a property of every object is still an unknown profile.
    for (const name of ['constructor', 'toString', '__proto__']) {
      const proto = await ssh(labd, admin, ['node', 'provision', 'good', '--mac', 'aa:bb:cc:dd:ee:ff', '--profile', name]);
      assert.equal(proto.status, 2, proto.stderr);
      assert.match(proto.stderr, new RegExp(`no boot profile '${name}' in nodes\\.profiles`));
    }
    assert.equal(fake.store.list(SECRETS, 'kube-system').length, 0);
    const inv = await ssh(labd, admin, ['node', 'inventory', '--json']);
    assert.deepEqual(JSON.parse(inv.stdout), []);
  });

  test('a member may not provision or deprovision (exit 3)', async () => {
    const p = await ssh(labd, member, ['node', 'provision', 'm1', '--mac', 'aa:bb:cc:dd:ee:09']);
    assert.equal(p.status, 3, p.stderr);
    const d = await ssh(labd, member, ['node', 'deprovision', 'm1', '--yes']);
    assert.equal(d.status, 3, d.stderr);
    assert.equal(fake.store.list(SECRETS, 'kube-system').length, 0);
  });

  test('provision → pixiecore boot answer → join (label, annotation) → drain past a PDB → deprovision', async () => {
    const r = await ssh(labd, admin, ['node', 'provision', 'pxe1', '--mac', 'AA-BB-CC-00-11-22', '--role', 'worker', '--location', 'garage', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { name: string; mac: string; profile: string; tokenId: string; secretName: string; expiresAt: string };
    assert.equal(doc.mac, 'aa:bb:cc:00:11:22');
    assert.equal(doc.profile, 'k3s');
    assert.match(doc.tokenId, /^[a-z0-9]{6}$/);

    // The bootstrap token Secret, as kubeadm and k3s read it.
    assert.equal(doc.secretName, `bootstrap-token-${doc.tokenId}`);
    const secret = fake.store.get(SECRETS, 'kube-system', doc.secretName)!;
    assert.ok(secret, 'token secret created');
    assert.equal(secret.type, 'bootstrap.kubernetes.io/token');
    assert.equal(secret.metadata.labels!['app.kubernetes.io/managed-by'], 'labd');
    const data = decode(secret.data as Record<string, string>);
    assert.equal(data['token-id'], doc.tokenId);
    assert.match(data['token-secret']!, /^[a-z0-9]{16}$/);
    assert.equal(data['usage-bootstrap-authentication'], 'true');
    assert.equal(data['usage-bootstrap-signing'], 'true');
    assert.equal(data['auth-extra-groups'], 'system:bootstrappers:kubeadm:default-node-token');
    assert.match(data.expiration!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const ttlHours = (Date.parse(data.expiration!) - Date.now()) / 3_600_000;
    assert.ok(ttlHours > 23 && ttlHours <= 24, `expiration about 24h ahead, got ${ttlHours}h`);
    const token = `${doc.tokenId}.${data['token-secret']}`;

    // pixiecore asks with lower-case colons; upper-case is accepted too; unknown MACs are 404.
    for (const mac of ['aa:bb:cc:00:11:22', 'AA:BB:CC:00:11:22']) {
      const res = await fetch(bootUrl(mac));
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), {
        kernel: 'http://boot.lab/vmlinuz',
        initrd: ['http://boot.lab/initrd.img', 'http://boot.lab/k3s.cpio'],
        cmdline: `console=ttyS0 hostname=pxe1 k3s.url=https://10.0.0.1:6443 k3s.token=${token} mac=aa:bb:cc:00:11:22`,
      });
    }
    assert.equal((await fetch(bootUrl('aa:bb:cc:00:11:23'))).status, 404);
    assert.equal((await fetch(bootUrl('not-a-mac'))).status, 400);

    // The secret half of the token reaches neither the audit log nor labd's log.
    const audit = await ssh(labd, admin, ['audit', '--json']);
    assert.ok(audit.stdout.includes('node provision'));
    assert.ok(!audit.stdout.includes(data['token-secret']!));
    assert.ok(!labd.logs().includes(data['token-secret']!));
    const again = await ssh(labd, admin, ['node', 'provision', 'pxe2', '--mac', 'aa:bb:cc:00:11:22']);
    assert.equal(again.status, 1, again.stderr);
    assert.match(again.stderr, /MAC aa:bb:cc:00:11:22 already belongs to node pxe1/);

    // The Node object appears: labd labels and annotates it and marks it joined; the boot answer stops.
    fake.store.create(NODES, readyNode('pxe1'));
    const joined = await waitFor('role label and Kilo location on pxe1', () => {
      const n = fake.store.get(NODES, undefined, 'pxe1');
      return n?.metadata.labels?.['node-role.kubernetes.io/worker'] !== undefined && n.metadata.annotations?.['kilo.squat.ai/location'] === 'garage' && n;
    });
    assert.equal(joined.metadata.labels!['node-role.kubernetes.io/worker'], '');
    const inv = await waitFor('inventory says joined', async () => {
      const rows = JSON.parse((await ssh(labd, admin, ['node', 'inventory', '--json'])).stdout) as { name: string; state: string; joinedAt: string | null }[];
      return rows.find((x) => x.name === 'pxe1' && x.state === 'joined');
    });
    assert.ok(inv.joinedAt);
    assert.equal((await fetch(bootUrl('aa:bb:cc:00:11:22'))).status, 404);

    // Pods on it: a DaemonSet pod and a mirror pod stay; two ReplicaSet pods go, one guarded by a budget at 0.
    fake.store.create(PODS, pod('kube-system', 'kilo-pxe1', 'pxe1', { owner: 'DaemonSet/kilo' }));
    fake.store.create(PODS, pod('kube-system', 'static-pxe1', 'pxe1', { annotations: { 'kubernetes.io/config.mirror': 'abc' } }));
    fake.store.create(PODS, pod('default', 'web-1', 'pxe1', { owner: 'ReplicaSet/web-5d9', labels: { app: 'web' } }));
    fake.store.create(PODS, pod('default', 'db-1', 'pxe1', { owner: 'ReplicaSet/db-7f2', labels: { app: 'db' } }));
    fake.store.create(PDBS, budget('db', 'db', 0));
    fake.store.create(SECRETS, {
      metadata: { name: 'pxe1.node-password.k3s', namespace: 'kube-system' },
      type: 'Opaque',
      data: { hash: Buffer.from('x').toString('base64') },
    } as KubeObject);

    const run = sshStart(labd, admin, ['node', 'deprovision', 'pxe1', '--yes', '--timeout', '2m']);
    await waitFor('a PDB 429 reported', () => /waiting on PDB: .*disruption budget db /.test(run.stderr()));
    assert.ok(fake.store.get(PODS, 'default', 'db-1'), 'guarded pod still there while the budget says no');
    assert.equal((fake.store.get(NODES, undefined, 'pxe1')!.spec as { unschedulable?: boolean }).unschedulable, true);
    const pdb = fake.store.get(PDBS, 'default', 'db')!;
    fake.store.update(PDBS, { ...pdb, status: { ...(pdb.status as object), disruptionsAllowed: 1 } } as KubeObject);
    const done = await run.done;
    assert.equal(done.status, 0, done.stderr);
    assert.equal(done.stdout, 'node pxe1 deprovisioned\n');
    assert.match(done.stderr, /^node pxe1 cordoned$/m);
    assert.match(done.stderr, /^ignoring DaemonSet-managed pods: kube-system\/kilo-pxe1$/m);
    assert.match(done.stderr, /^evicting pod default\/db-1$/m);
    assert.match(done.stderr, /^pod default\/web-1 evicted$/m);
    assert.match(done.stderr, /^deleted node pxe1$/m);
    assert.match(done.stderr, new RegExp(`^deleted join token bootstrap-token-${doc.tokenId}$`, 'm'));
    assert.match(done.stderr, /^deleted k3s node password pxe1\.node-password\.k3s$/m);
    assert.equal(fake.store.get(NODES, undefined, 'pxe1'), undefined);
    assert.equal(fake.store.get(PODS, 'default', 'db-1'), undefined);
    assert.equal(fake.store.get(PODS, 'default', 'web-1'), undefined);
    assert.ok(fake.store.get(PODS, 'kube-system', 'kilo-pxe1'), 'DaemonSet pod not evicted');
    assert.ok(fake.store.get(PODS, 'kube-system', 'static-pxe1'), 'mirror pod not evicted');
    assert.equal(fake.store.get(SECRETS, 'kube-system', `bootstrap-token-${doc.tokenId}`), undefined);
    assert.equal(fake.store.get(SECRETS, 'kube-system', 'pxe1.node-password.k3s'), undefined);
    assert.ok(fake.requests.some((q) => q.method === 'POST' && q.path === '/api/v1/namespaces/default/pods/db-1/eviction'));

    const all = JSON.parse((await ssh(labd, admin, ['node', 'inventory', '--all', '--json'])).stdout) as { name: string; state: string }[];
    assert.deepEqual(
      all.map((x) => `${x.name}:${x.state}`),
      ['pxe1:retired'],
    );
    assert.equal((await fetch(bootUrl('aa:bb:cc:00:11:22'))).status, 404);
    // The MAC is free again once retired.
    const reuse = await ssh(labd, admin, ['node', 'provision', 'pxe1', '--mac', 'aa:bb:cc:00:11:22', '--json']);
    assert.equal(reuse.status, 0, reuse.stderr);
    assert.equal((await fetch(bootUrl('aa:bb:cc:00:11:22'))).status, 200);
  });

  test('the join token is served only on the boot listener, to allowed sources, and guessing MACs is cut off', async () => {
    const r = await ssh(labd, admin, ['node', 'provision', 'pxe9', '--mac', 'aa:bb:cc:00:11:99', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const { tokenId } = JSON.parse(r.stdout) as { tokenId: string };
    // The attack: the public listener (paste pages) asked for a provisioned MAC.
    const pub = await curl(`http://127.0.0.1:${labd.httpPort}/v1/boot/aa:bb:cc:00:11:99`);
    assert.equal(pub.status, 404);
    assert.ok(!pub.body.includes(tokenId), 'no token on the public listener');
    assert.equal((await curl(`http://127.0.0.1:${labd.httpPort}/v1/boot/x`)).status, 404);
    const ok = await curl(bootUrl('aa:bb:cc:00:11:99'));
    assert.equal(ok.status, 200);
    assert.match(ok.body, new RegExp(`k3s\\.token=${tokenId}\\.`));
    // A source outside nodes.bootAllow gets nothing.
    const outside = await curl(bootUrl('aa:bb:cc:00:11:99'), '127.0.0.5');
    assert.equal(outside.status, 403);
    assert.ok(!outside.body.includes(tokenId));
    // Guessing MACs from 127.0.0.2: 20 unknown answers a minute, then 429 for every MAC, the right one too.
    for (let i = 0; i < 20; i++) assert.equal((await curl(bootUrl(`aa:bb:cc:00:22:${i.toString(16).padStart(2, '0')}`), '127.0.0.2')).status, 404);
    assert.equal((await curl(bootUrl('aa:bb:cc:00:22:ff'), '127.0.0.2')).status, 429);
    const hit = await curl(bootUrl('aa:bb:cc:00:11:99'), '127.0.0.2');
    assert.equal(hit.status, 429);
    assert.ok(!hit.body.includes(tokenId));
    // pixiecore's own address is not held back by the guesser.
    assert.equal((await curl(bootUrl('aa:bb:cc:00:11:99'))).status, 200);
    // Each answer is logged with its source.
    for (const line of [
      /"remote":"(::ffff:)?127\.0\.0\.2","mac":"aa:bb:cc:00:22:00","status":404/,
      /"remote":"(::ffff:)?127\.0\.0\.5","status":403/,
      /"node":"pxe9","mac":"aa:bb:cc:00:11:99","remote":"(::ffff:)?127\.0\.0\.1","tokenId":"[a-z0-9]{6}","status":200/,
    ]) {
      await waitFor(`log line ${line}`, () => line.test(labd.logs()));
    }
    const d = await ssh(labd, admin, ['node', 'deprovision', 'pxe9', '--yes']);
    assert.equal(d.status, 0, d.stderr);
  });

  test('keys rotate join-tokens withdraws the boot answer of the token it removes, and the node can be provisioned again', async () => {
    const r = await ssh(labd, admin, ['node', 'provision', 'pxe8', '--mac', 'aa:bb:cc:00:11:88', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const { tokenId, secretName } = JSON.parse(r.stdout) as { tokenId: string; secretName: string };
    assert.equal((await curl(bootUrl('aa:bb:cc:00:11:88'))).status, 200);
    // The token is two days old (a node that never came): rotation removes it.
    const secret = fake.store.get(SECRETS, 'kube-system', secretName)!;
    fake.store.delete(SECRETS, 'kube-system', secretName);
    const { resourceVersion: _rv, ...metadata } = secret.metadata;
    fake.store.create(SECRETS, { ...secret, metadata: { ...metadata, creationTimestamp: new Date(Date.now() - 48 * 3600_000).toISOString() } });
    const rot = await ssh(labd, admin, ['keys', 'rotate', 'join-tokens', '--json']);
    assert.equal(rot.status, 0, rot.stderr);
    const doc = JSON.parse(rot.stdout) as { removed: { name: string }[]; retired: string[] };
    assert.deepEqual(
      doc.removed.map((t) => t.name),
      [secretName],
    );
    assert.deepEqual(doc.retired, ['pxe8']);
    assert.equal(fake.store.get(SECRETS, 'kube-system', secretName), undefined);
    const gone = await curl(bootUrl('aa:bb:cc:00:11:88'));
    assert.equal(gone.status, 404);
    assert.ok(!gone.body.includes(tokenId));
    const all = JSON.parse((await ssh(labd, admin, ['node', 'inventory', '--all', '--json'])).stdout) as { name: string; state: string; tokenId: string }[];
    assert.equal(all.find((x) => x.tokenId === tokenId)?.state, 'retired');
    // Provisioned again: a new token, served by the boot API and present in the cluster.
    const again = await ssh(labd, admin, ['node', 'provision', 'pxe8', '--mac', 'aa:bb:cc:00:11:88', '--json']);
    assert.equal(again.status, 0, again.stderr);
    const fresh = JSON.parse(again.stdout) as { tokenId: string; secretName: string };
    assert.notEqual(fresh.tokenId, tokenId);
    assert.ok(fake.store.get(SECRETS, 'kube-system', fresh.secretName));
    const answer = await curl(bootUrl('aa:bb:cc:00:11:88'));
    assert.equal(answer.status, 200);
    assert.match(answer.body, new RegExp(`k3s\\.token=${fresh.tokenId}\\.`));
    const d = await ssh(labd, admin, ['node', 'deprovision', 'pxe8', '--yes']);
    assert.equal(d.status, 0, d.stderr);
  });

  test('deprovision without --yes is refused; an unmanaged pod is refused without --force and deleted with it', async () => {
    fake.store.create(NODES, readyNode('bare1'));
    fake.store.create(PODS, pod('default', 'scratch', 'bare1'));
    const noYes = await ssh(labd, admin, ['node', 'deprovision', 'bare1']);
    assert.equal(noYes.status, 2, noYes.stderr);
    const refused = await ssh(labd, admin, ['node', 'deprovision', 'bare1', '--yes']);
    assert.equal(refused.status, 1, refused.stderr);
    assert.match(refused.stderr, /^error: cannot drain: pods that declare no controller would be lost \(use --force to delete them\): default\/scratch$/m);
    assert.ok(fake.store.get(NODES, undefined, 'bare1'), 'node kept');
    assert.ok(fake.store.get(PODS, 'default', 'scratch'), 'pod kept');
    const forced = await ssh(labd, admin, ['node', 'deprovision', 'bare1', '--yes', '--force', '--json']);
    assert.equal(forced.status, 0, forced.stderr);
    const doc = JSON.parse(forced.stdout) as { node: string; deleted: boolean; evicted: string[]; retired: boolean };
    assert.deepEqual(doc.evicted, ['default/scratch']);
    assert.equal(doc.deleted, true);
    assert.equal(doc.retired, false);
    assert.equal(fake.store.get(NODES, undefined, 'bare1'), undefined);
    const unknown = await ssh(labd, admin, ['node', 'deprovision', 'ghost', '--yes']);
    assert.equal(unknown.status, 4, unknown.stderr);
  });

  test('a provisioned node that never joined is deprovisioned: token revoked, boot answer gone, retired', async () => {
    const r = await ssh(labd, admin, ['node', 'provision', 'pxe3', '--mac', 'aa:bb:cc:00:11:33', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const { tokenId } = JSON.parse(r.stdout) as { tokenId: string };
    assert.equal((await fetch(bootUrl('aa:bb:cc:00:11:33'))).status, 200);
    const d = await ssh(labd, admin, ['node', 'deprovision', 'pxe3', '--yes']);
    assert.equal(d.status, 0, d.stderr);
    assert.match(d.stderr, /^node pxe3 is not in the cluster$/m);
    assert.match(d.stderr, new RegExp(`^deleted join token bootstrap-token-${tokenId}$`, 'm'));
    assert.equal(fake.store.get(SECRETS, 'kube-system', `bootstrap-token-${tokenId}`), undefined);
    assert.equal((await fetch(bootUrl('aa:bb:cc:00:11:33'))).status, 404);
    const all = JSON.parse((await ssh(labd, admin, ['node', 'inventory', '--all', '--json'])).stdout) as { name: string; state: string }[];
    assert.equal(all.find((x) => x.name === 'pxe3')?.state, 'retired');
  });

  test('a slow API server: provision fails with a time-out and holds nothing back', async () => {
    // Longer than the 3s request time-out, short enough not to hold the test process open long after.
    fake.setLatency(10_000);
    try {
      const r = await ssh(labd, admin, ['node', 'provision', 'pxe4', '--mac', 'aa:bb:cc:00:11:44']);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /^error: the Kubernetes API at http:\/\/127\.0\.0\.1:\d+ did not answer within 3s \(node pxe4\)\n$/);
    } finally {
      fake.setLatency(0);
    }
    assert.equal((await fetch(bootUrl('aa:bb:cc:00:11:44'))).status, 404);
    const ok = await ssh(labd, admin, ['node', 'provision', 'pxe4', '--mac', 'aa:bb:cc:00:11:44']);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /^Token:\s+bootstrap-token-[a-z0-9]{6} in kube-system \(expires /m);
  });

  test('ending the session stops a drain: the node stays cordoned and the audit row says interrupted', async () => {
    fake.store.create(NODES, readyNode('intr1'));
    fake.store.create(PODS, pod('default', 'held-1', 'intr1', { owner: 'ReplicaSet/held-9c1', labels: { app: 'held' } }));
    fake.store.create(PDBS, budget('held', 'held', 0));
    const run = sshStart(labd, admin, ['node', 'deprovision', 'intr1', '--yes']);
    await waitFor('a PDB 429 reported', () => /waiting on PDB/.test(run.stderr()));
    run.kill();
    await run.done;
    const row = await waitFor('the audit row of the interrupted deprovision', async () => {
      const rows = JSON.parse((await ssh(labd, admin, ['audit', '--json'])).stdout) as { command: string; outcome: string; error: string | null }[];
      return rows.find((a) => a.command === 'node deprovision' && a.error?.includes('interrupted'));
    });
    assert.equal(row.outcome, 'failed');
    assert.match(row.error!, /drain interrupted while pod default\/held-1 was being evicted; the node stays cordoned/);
    const node = fake.store.get(NODES, undefined, 'intr1')!;
    assert.equal((node.spec as { unschedulable?: boolean }).unschedulable, true);
    assert.ok(fake.store.get(PODS, 'default', 'held-1'));
  });

  test('the API server stopped mid-drain gives one clear error within the time-out', async () => {
    fake.store.create(NODES, readyNode('stuck1'));
    fake.store.create(PODS, pod('default', 'guarded-1', 'stuck1', { owner: 'ReplicaSet/guarded-1a2', labels: { app: 'guarded' } }));
    fake.store.create(PDBS, budget('guarded', 'guarded', 0));
    const run = sshStart(labd, admin, ['node', 'deprovision', 'stuck1', '--yes', '--timeout', '10m']);
    await waitFor('a PDB 429 reported', () => /waiting on PDB/.test(run.stderr()));
    await fake.stop();
    const done = await run.done;
    assert.equal(done.status, 1, done.stderr);
    assert.match(done.stderr, /^error: cannot reach the Kubernetes API at http:\/\/127\.0\.0\.1:\d+: connection refused$/m);
  });
});
