/**
 * Leadership in labd itself (in-process): one SQLite process is the leader (labd_leader 1, /readyz
 * role leader), and two labds electing on a Lease of the fake Kubernetes API server: exactly one
 * reports labd_leader 1 and starts the singleton jobs, the other says follower; when the leader stops
 * it releases the Lease and the other takes over.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll as after, describe, test } from 'vitest';
import { findResource } from './support/fake-kube/resources.ts';
import { FakeKube } from './support/fake-kube/server.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';
import { until } from './support/wait.ts';

async function leaderGauge(labd: InProcessLabd): Promise<number | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${labd.httpPort}/metrics`)).text();
  const m = /^labd_leader (\d+)$/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

async function role(labd: InProcessLabd): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${labd.httpPort}/readyz`);
  assert.equal(r.status, 200, 'a follower is ready too: every replica serves');
  return ((await r.json()) as { role: string }).role;
}

describe('labd and its leadership', () => {
  const started: InProcessLabd[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'labd-leader-'));
  let fake: FakeKube | undefined;
  after(async () => {
    for (const l of started) await l.stop();
    await fake?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('one SQLite process is always the leader: labd_leader 1, role leader, the singleton jobs started', async () => {
    const labd = await InProcessLabd.start();
    started.push(labd);
    assert.equal(await leaderGauge(labd), 1);
    assert.equal(await role(labd), 'leader');
    assert.equal(labd.app.leadership.engine, 'single');
    assert.match(labd.logs(), /leader: starting the singleton jobs/);
  });

  test('two labds on one Lease: exactly one leader; stopping it hands leadership to the other', async () => {
    fake = await FakeKube.start({ controllers: false });
    const kubeconfig = fake.writeKubeconfig(join(dir, 'kubeconfig'));
    const env = (id: string) => ({
      LABD_KUBECONFIG: kubeconfig,
      LABD_LEADER_ELECTION: 'lease',
      LABD_LEADER_IDENTITY: id,
      LABD_LEADER_LEASE_DURATION: '3s',
      LABD_LEADER_RENEW_DEADLINE: '2s',
      LABD_LEADER_RETRY_PERIOD: '1s',
    });
    const [a, b] = await Promise.all([InProcessLabd.start({ env: env('labd-a') }), InProcessLabd.start({ env: env('labd-b') })]);
    started.push(a, b);
    await until(
      'one leader',
      async () => {
        const [ga, gb] = await Promise.all([leaderGauge(a), leaderGauge(b)]);
        return ga !== undefined && gb !== undefined && ga + gb === 1;
      },
      { timeoutMs: 30_000 },
    );
    const [leader, follower] = a.app.leadership.isLeader() ? [a, b] : [b, a];
    assert.equal(await role(leader), 'leader');
    assert.equal(await role(follower), 'follower');
    assert.match(leader.logs(), /leader: starting the singleton jobs/);
    assert.doesNotMatch(follower.logs(), /leader: starting the singleton jobs/);
    const lease = fake.store.list(findResource('coordination.k8s.io', 'v1', 'leases')!, 'default');
    assert.equal(lease.length, 1);
    assert.equal((lease[0]!.spec as { holderIdentity: string }).holderIdentity, leader.app.leadership.identity);

    await leader.stop();
    started.splice(started.indexOf(leader), 1);
    // Released: the follower leads at its next try, not after the Lease's 3 s.
    await until('the follower leads', async () => (await leaderGauge(follower)) === 1, { timeoutMs: 15_000 });
    assert.equal(await role(follower), 'leader');
    assert.match(follower.logs(), /leader: starting the singleton jobs/);
  });
});
