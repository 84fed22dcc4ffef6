/**
 * Ops events announced in the Matrix room: a provisioned node joining (Kubernetes API fake), a deploy
 * that finishes and one that fails its progress deadline, and an event emitted while the homeserver
 * is down, delivered once it is back. Real labd, real OpenSSH client, the homeserver fake.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { waitFor } from './support/fake-matrix/harness.ts';
import type { MatrixEvent, Room } from './support/fake-matrix/rooms.ts';
import { FakeMatrix, type FakeUser } from './support/fake-matrix/server.ts';
import { readFixture } from './support/fake-kube/fixture.ts';
import { findResource } from './support/fake-kube/resources.ts';
import { FakeKube } from './support/fake-kube/server.ts';
import type { KubeObject } from './support/fake-kube/store.ts';
import { KeyLab, LabdProcess, ROOT } from './support/labd.ts';

const DEPLOYMENTS = findResource('apps', 'v1', 'deployments')!;
const NODES = findResource('', 'v1', 'nodes')!;

function deployment(namespace: string, name: string, image: string, annotations?: Record<string, string>): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels: { app: name }, ...(annotations ? { annotations } : {}) },
    spec: {
      replicas: 1,
      progressDeadlineSeconds: 600,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image }] } },
    },
  } as unknown as KubeObject;
}

describe('ops events in the Matrix room', () => {
  const lab = new KeyLab();
  let kube: FakeKube;
  let fake: FakeMatrix;
  let labd: LabdProcess;
  let admin: string;
  let bot: FakeUser;
  let alerts: Room;

  const notices = () => fake.timeline(alerts.roomId).filter((e) => e.sender === bot.userId && e.type === 'm.room.message' && e.content.msgtype === 'm.notice');
  const noticeWith = (text: string) => notices().filter((e) => String(e.content.body).includes(text));
  const one = (what: string, text: string): Promise<MatrixEvent> => waitFor(what, () => noticeWith(text)[0], labd);

  before(async () => {
    admin = lab.key('admin');
    kube = await FakeKube.start({
      objects: [
        ...readFixture(join(ROOT, 'test/support/fake-kube/fixture.example.yaml')),
        deployment('shop', 'cart', 'ghcr.io/lab/cart:1.0'),
        deployment('shop', 'stuck', 'busybox:1.36', { 'fake.labd/stuck': 'true' }),
      ],
      controllers: { tickMs: 100 },
    });
    fake = await FakeMatrix.start();
    bot = fake.addUser('labd');
    const alice = fake.addUser('alice');
    const ops = fake.createRoom(alice.userId, { alias: 'ops' });
    alerts = fake.createRoom(alice.userId, { alias: 'alerts' });
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
        '      cmdline: "hostname={hostname}"',
        '',
      ].join('\n'),
    );
    labd = await LabdProcess.start({
      adminKeys: [lab.publicKey(admin)],
      env: {
        LABD_CONFIG: config,
        LABD_KUBECONFIG: kube.writeKubeconfig(join(lab.dir, 'kubeconfig')),
        LABD_KUBE_TIMEOUT: '3s',
        LABD_NODES_JOIN_POLL: '1s',
        LABD_MATRIX_HOMESERVER: fake.url,
        LABD_MATRIX_TOKEN: bot.accessToken,
        LABD_MATRIX_ROOMS: ops.alias!,
        LABD_MATRIX_ALERTS_ROOM: alerts.alias!,
      },
    });
    await waitFor('the bot to join the alerts room', () => fake.store.membership(alerts, bot.userId) === 'join', labd);
    await waitFor(
      'the first rollouts',
      () => (kube.store.get(DEPLOYMENTS, 'shop', 'cart') as { status?: { availableReplicas?: number } }).status?.availableReplicas,
      labd,
    );
  });
  after(async () => {
    await labd?.stop();
    await fake?.stop();
    await kube?.stop();
    lab.cleanup();
  });

  test('a provisioned node that joins the cluster is announced', async () => {
    const r = await labd.sshAsync(admin, ['node', 'provision', 'pxe7', '--mac', 'aa:bb:cc:00:77:01', '--role', 'worker', '--location', 'garage']);
    assert.equal(r.status, 0, r.stderr);
    kube.store.create(NODES, {
      metadata: { name: 'pxe7', labels: {} },
      spec: {},
      status: { conditions: [{ type: 'Ready', status: 'True' }] },
    } as unknown as KubeObject);
    const notice = await one('the node announcement', 'Node pxe7 joined');
    assert.equal(notice.content.body, 'Node pxe7 joined the cluster (role worker, location garage).');
    assert.equal(notice.content.format, 'org.matrix.custom.html');
    assert.equal(notice.content.formatted_body, 'Node <code>pxe7</code> joined the cluster (role worker, location garage).');
    assert.deepEqual(notice.content['m.mentions'], {}, 'an announcement notifies nobody');
  });

  test('a deploy that finishes and one that fails are announced, names escaped', async () => {
    const ok = await labd.sshAsync(admin, ['deploy', 'shop/cart', '--image', 'ghcr.io/lab/cart:1.1', '--wait']);
    assert.equal(ok.status, 0, ok.stderr);
    const finished = await one('the finished deploy', 'Deploy finished: shop/cart');
    assert.match(
      String(finished.content.body),
      /^Deploy finished: shop\/cart \(deploy by admin\): deployment "shop\/cart" container app: ghcr\.io\/lab\/cart:1\.0 → ghcr\.io\/lab\/cart:1\.1$/,
    );
    assert.match(String(finished.content.formatted_body), /<code>shop\/cart<\/code>.*&quot;shop\/cart&quot;/);
    assert.doesNotMatch(String(finished.content.formatted_body), /"shop/);

    const gets = () => kube.requests.filter((q) => q.method === 'GET' && q.path.startsWith('/apis/apps/v1/namespaces/shop/deployments/stuck')).length;
    const before = gets();
    const run = labd.sshAsync(admin, ['deploy', 'shop/stuck', '--image', 'busybox:1.37', '--wait']);
    await waitFor('labd following the rollout', () => gets() > before + 1, labd);
    const d = kube.store.get(DEPLOYMENTS, 'shop', 'stuck')!;
    (d.spec as { progressDeadlineSeconds: number }).progressDeadlineSeconds = 1;
    kube.store.update(DEPLOYMENTS, d);
    const failed = await run;
    assert.equal(failed.status, 1, failed.stderr);
    const notice = await one('the failed deploy', 'Deploy FAILED: shop/stuck');
    assert.match(String(notice.content.body), /^Deploy FAILED: shop\/stuck \(deploy by admin\): deployment "shop\/stuck" exceeded its progress deadline/);
    assert.match(String(notice.content.formatted_body), /<strong>Deploy failed<\/strong>: <code>shop\/stuck<\/code> .*&quot;shop\/stuck&quot; exceeded/);
  });

  test('an event while the homeserver is down is announced once it is back, exactly once', async () => {
    await fake.setDown('refused');
    const r = await labd.sshAsync(admin, ['restart', 'shop/cart', '--wait']);
    assert.equal(r.status, 0, r.stderr);
    await waitFor('labd to try and fail', () => /message not delivered yet/.test(labd.logs()), labd);
    await fake.setDown(false);
    await one('the restart announcement', 'Deploy finished: shop/cart (restart by admin)');
    // Every event id became exactly one notice: no duplicates from retries.
    const bodies = notices().map((e) => String(e.content.body));
    assert.equal(bodies.length, new Set(bodies).size, bodies.join('\n'));
    assert.equal(bodies.length, 4, bodies.join('\n'));
  });
});
