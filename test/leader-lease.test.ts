/**
 * Leader election on a coordination.k8s.io/v1 Lease (src/ops/leader/lease.ts) through the real
 * @kubernetes/client-node (src/ops/kube/client-node-lease.ts) against the fake Kubernetes API server:
 * one leader among two, a leader that cannot renew stops its singleton jobs before another takes
 * over, resourceVersion conflicts are lost races, a killed leader is replaced once its Lease expires,
 * a stopped one releases the Lease for an immediate takeover. Durations are short (options); the
 * tests wait for states ("eventually within N s"), never assert how long something took.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll as after, afterEach, beforeAll as before, describe, test } from 'vitest';
import { createLogger } from '../src/core/logger.ts';
import { ClientNodeLeases } from '../src/ops/kube/client-node-lease.ts';
import { JobRunner } from '../src/ops/leader/jobs.ts';
import { LeaseElector, type LeaseApi, type LeaseTimings } from '../src/ops/leader/lease.ts';
import type { Job } from '../src/ops/module.ts';
import { FakeKube } from './support/fake-kube/server.ts';
import { ROOT } from './support/labd.ts';
import { until } from './support/wait.ts';

const log = createLogger('silent');
/** Short, with client-go's proportions kept valid: renew deadline < lease duration, retry × 1.2 < renew deadline. */
const FAST: LeaseTimings = { leaseDurationMs: 2000, renewDeadlineMs: 1200, retryPeriodMs: 200 };

/** Who runs the singleton job at each moment: a second one starting while another runs is the failure. */
class Acting {
  readonly now = new Set<string>();
  readonly overlaps: string[] = [];
  readonly history: string[] = [];
  job(id: string): Job {
    return {
      name: `singleton of ${id}`,
      singleton: true,
      start: () => {
        if (this.now.size) this.overlaps.push(`${id} started while ${[...this.now].join(',')} ran`);
        this.now.add(id);
        this.history.push(`+${id}`);
      },
      stop: () => {
        this.now.delete(id);
        this.history.push(`-${id}`);
      },
    };
  }
}

/** A LeaseApi whose requests can be cut (a partition between one replica and the API server). */
function cuttable(api: LeaseApi): LeaseApi & { cut: boolean; calls: number } {
  const w = {
    cut: false,
    calls: 0,
    where: api.where,
    get: (s: AbortSignal) => (w.calls++, w.cut ? Promise.reject(new Error('partitioned')) : api.get(s)),
    create: (r: Parameters<LeaseApi['create']>[0], s: AbortSignal) => (w.calls++, w.cut ? Promise.reject(new Error('partitioned')) : api.create(r, s)),
    update: (r: Parameters<LeaseApi['update']>[0], rv: string, s: AbortSignal) => (
      w.calls++,
      w.cut ? Promise.reject(new Error('partitioned')) : api.update(r, rv, s)
    ),
  };
  return w;
}

describe('leader election on a Kubernetes Lease (fake API server, real client)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'labd-lease-'));
  let fake: FakeKube;
  let kubeconfig: string;
  let n = 0;
  let leaseName = '';
  const running: { elector: LeaseElector; runner: JobRunner }[] = [];
  const children: ChildProcess[] = [];

  before(async () => {
    fake = await FakeKube.start({ controllers: false });
    kubeconfig = fake.writeKubeconfig(join(dir, 'kubeconfig'));
  });
  after(async () => {
    await fake?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    fake.deny([]);
    for (const c of children.splice(0)) c.kill('SIGKILL');
    for (const r of running.splice(0)) {
      await r.runner.stop();
      await r.elector.abandon();
    }
  });

  /** A fresh Lease name per test: tests do not inherit each other's holders. */
  function nextLease(): string {
    leaseName = `labd-leader-${++n}`;
    return leaseName;
  }

  function leaseApi(): LeaseApi {
    return ClientNodeLeases.connect({ kind: 'kubeconfig', path: kubeconfig }, { name: leaseName, timeoutMs: 2000 });
  }

  function replica(id: string, acting: Acting, o: { api?: LeaseApi; timings?: LeaseTimings } = {}) {
    const elector = new LeaseElector({ api: o.api ?? leaseApi(), identity: id, log, ...(o.timings ?? FAST) });
    const runner = new JobRunner([acting.job(id)], elector, log);
    runner.start();
    elector.start();
    running.push({ elector, runner });
    return elector;
  }

  async function holder(): Promise<string | undefined> {
    return (await leaseApi().get(AbortSignal.timeout(2000)))?.record.holderIdentity;
  }

  test('the fake serves leases: create, get, and a replace at a stale resourceVersion is 409 Conflict', async () => {
    nextLease();
    const api = leaseApi();
    assert.equal(await api.get(AbortSignal.timeout(2000)), undefined);
    const created = await api.create({ holderIdentity: 'a', leaseDurationSeconds: 15, renewTime: new Date().toISOString() }, AbortSignal.timeout(2000));
    assert.notEqual(created, 'conflict');
    assert.equal(await api.create({ holderIdentity: 'b' }, AbortSignal.timeout(2000)), 'conflict', 'a second create is AlreadyExists (409)');
    const rv = (created as Exclude<typeof created, 'conflict'>).resourceVersion;
    const renewed = await api.update({ holderIdentity: 'a', leaseDurationSeconds: 15, renewTime: new Date().toISOString() }, rv, AbortSignal.timeout(2000));
    assert.notEqual(renewed, 'conflict');
    assert.equal(await api.update({ holderIdentity: 'b', leaseDurationSeconds: 15 }, rv, AbortSignal.timeout(2000)), 'conflict', 'the old resourceVersion');
    const read = await api.get(AbortSignal.timeout(2000));
    assert.equal(read?.record.holderIdentity, 'a');
    assert.match(String(read?.record.renewTime ?? ''), /^\d{4}-\d\d-\d\dT/);
    assert.ok(fake.requests.some((r) => r.method === 'PUT' && r.path.startsWith(`/apis/coordination.k8s.io/v1/namespaces/default/leases/${leaseName}`)));
    // list, and discovery (kubectl get leases).
    const list = (await (await fetch(`${fake.url}/apis/coordination.k8s.io/v1/namespaces/default/leases`)).json()) as {
      kind: string;
      items: { metadata: { name: string } }[];
    };
    assert.equal(list.kind, 'LeaseList');
    assert.ok(list.items.some((i) => i.metadata.name === leaseName));
    const discovery = (await (await fetch(`${fake.url}/apis/coordination.k8s.io/v1`)).json()) as { resources: { name: string; namespaced: boolean }[] };
    assert.ok(discovery.resources.some((r) => r.name === 'leases' && r.namespaced));
  });

  test('two electors: exactly one leader, the Lease names it, and only it runs the singleton job', async () => {
    nextLease();
    const acting = new Acting();
    const a = replica('replica-a', acting);
    const b = replica('replica-b', acting);
    const leader = await until('one leader', () => (a.isLeader() !== b.isLeader() ? (a.isLeader() ? a : b) : undefined), { timeoutMs: 15_000 });
    assert.equal(await holder(), leader.identity);
    // Several renewals later: still one, the same.
    const seen = new Set<string>();
    for (let i = 0; i < 10; i++) {
      await new Promise((r) => setTimeout(r, FAST.retryPeriodMs));
      assert.ok(!(a.isLeader() && b.isLeader()), 'never two leaders');
      if (a.isLeader()) seen.add('a');
      if (b.isLeader()) seen.add('b');
    }
    assert.equal(seen.size, 1);
    assert.deepEqual([...acting.now], [leader.identity]);
    assert.deepEqual(acting.overlaps, []);
  });

  test('a leader that cannot reach the API stops its job before the other takes over after expiry; it rejoins as follower', async () => {
    nextLease();
    const acting = new Acting();
    const apiA = cuttable(leaseApi());
    const a = replica('replica-a', acting, { api: apiA });
    await until('a leads', () => a.isLeader(), { timeoutMs: 15_000 });
    const b = replica('replica-b', acting);
    await new Promise((r) => setTimeout(r, 3 * FAST.retryPeriodMs));
    assert.equal(b.isLeader(), false, 'b follows while a renews');

    apiA.cut = true;
    await until('a stops being leader', () => !a.isLeader(), { timeoutMs: 15_000 });
    await until('b takes over', () => b.isLeader(), { timeoutMs: 15_000 });
    // a's job stopped before b's started: never both.
    assert.deepEqual(acting.overlaps, []);
    assert.deepEqual(acting.history, ['+replica-a', '-replica-a', '+replica-b']);
    assert.equal(await holder(), 'replica-b');

    apiA.cut = false;
    const calls = apiA.calls;
    await until('a tries again', () => apiA.calls > calls + 3, { timeoutMs: 15_000 });
    assert.equal(a.isLeader(), false, 'a rejoins as a follower');
    assert.ok(b.isLeader());
  });

  test('the API server refusing the leader its updates (403): it stops leading; nobody leads while updates are refused', async () => {
    nextLease();
    const acting = new Acting();
    const a = replica('replica-a', acting);
    await until('a leads', () => a.isLeader(), { timeoutMs: 15_000 });
    const b = replica('replica-b', acting);
    fake.deny([{ verb: 'update', resource: 'leases' }]);
    await until('a stops being leader', () => !a.isLeader(), { timeoutMs: 15_000 });
    // Past the Lease's expiry b cannot take it either: an update is how a Lease is taken.
    await new Promise((r) => setTimeout(r, FAST.leaseDurationMs + 4 * FAST.retryPeriodMs));
    assert.equal(b.isLeader(), false);
    assert.equal(a.isLeader(), false);
    assert.equal(acting.now.size, 0);
    fake.deny([]);
    await until('someone leads again', () => a.isLeader() || b.isLeader(), { timeoutMs: 15_000 });
    assert.deepEqual(acting.overlaps, []);
  });

  test('a resourceVersion conflict is a lost race: no leadership, no crash, the elector keeps trying', async () => {
    nextLease();
    const acting = new Acting();
    const real = leaseApi();
    // Another writer changes the Lease between this elector's read and its write, every time.
    let raced = 0;
    const racing: LeaseApi = {
      where: real.where,
      get: (s) => real.get(s),
      create: async (r, s) => {
        await real.create({ holderIdentity: 'someone-else', leaseDurationSeconds: 1 }, s);
        raced++;
        return real.create(r, s);
      },
      update: async (r, rv, s) => {
        // (A write that changes nothing keeps the resourceVersion, as on the real API server: the renewTime differs.)
        await real.update({ holderIdentity: '', leaseDurationSeconds: 1, renewTime: new Date().toISOString() }, rv, s);
        raced++;
        return real.update(r, rv, s);
      },
    };
    const a = replica('replica-a', acting, { api: racing });
    await until('several lost races', () => raced >= 5, { timeoutMs: 15_000 });
    assert.equal(a.isLeader(), false);
    assert.equal(acting.now.size, 0);
    // Two real electors started at once on a missing Lease: both create, one wins, the other's 409 is no error.
    nextLease();
    const b = replica('replica-b', acting);
    const c = replica('replica-c', acting);
    await until('one of two leads', () => b.isLeader() !== c.isLeader(), { timeoutMs: 15_000 });
    assert.deepEqual(acting.overlaps, []);
  });

  test('a killed leader (SIGKILL, no release): the other replica leads within the lease duration after expiry', async () => {
    nextLease();
    const script = join(dir, 'elector.ts');
    writeFileSync(
      script,
      `import { ClientNodeLeases } from ${JSON.stringify(join(ROOT, 'src/ops/kube/client-node-lease.ts'))};
import { LeaseElector } from ${JSON.stringify(join(ROOT, 'src/ops/leader/lease.ts'))};
import { createLogger } from ${JSON.stringify(join(ROOT, 'src/core/logger.ts'))};
const api = ClientNodeLeases.connect({ kind: 'kubeconfig', path: process.argv[2] }, { name: process.argv[3], timeoutMs: 2000 });
const e = new LeaseElector({ api, identity: 'child', log: createLogger('silent'), ...JSON.parse(process.argv[4]) });
e.onChange((l) => console.log(l ? 'leader' : 'follower'));
e.start();
`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script, kubeconfig, leaseName, JSON.stringify(FAST)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += String(d)));
    child.stderr!.on('data', (d: Buffer) => (out += String(d)));
    await until('the child leads', () => out.includes('leader') && holder().then((h) => h === 'child'), { timeoutMs: 60_000 });
    const acting = new Acting();
    const a = replica('replica-a', acting);
    await new Promise((r) => setTimeout(r, 3 * FAST.retryPeriodMs));
    assert.equal(a.isLeader(), false, 'a follows while the child renews');
    child.kill('SIGKILL');
    await until('a takes over', () => a.isLeader(), { timeoutMs: 2 * FAST.leaseDurationMs + 5000 });
    assert.equal(await holder(), 'replica-a');
    const transitions = (await leaseApi().get(AbortSignal.timeout(2000)))?.record.leaseTransitions;
    assert.equal(transitions, 1, 'one transition: child → a');
  });

  test('a gracefully stopped leader releases the Lease: the other leads at its next try, long before the Lease would expire', async () => {
    nextLease();
    // A long lease: a takeover within a few retry periods can only come from the release.
    const SLOW: LeaseTimings = { leaseDurationMs: 30_000, renewDeadlineMs: 20_000, retryPeriodMs: 200 };
    const acting = new Acting();
    const a = replica('replica-a', acting, { timings: SLOW });
    await until('a leads', () => a.isLeader(), { timeoutMs: 15_000 });
    const b = replica('replica-b', acting, { timings: SLOW });
    await new Promise((r) => setTimeout(r, 3 * SLOW.retryPeriodMs));
    assert.equal(b.isLeader(), false);
    const ra = running.find((r) => r.elector === a)!;
    await ra.runner.stop();
    await a.stop();
    const after = (await holder()) ?? '';
    assert.ok(after === '' || after === 'replica-b', `released: no holder (or b's already), not ${after}`);
    await until('b leads after the release', () => b.isLeader(), { timeoutMs: 10_000 });
    assert.deepEqual(acting.overlaps, []);
    assert.deepEqual(acting.history, ['+replica-a', '-replica-a', '+replica-b']);
  });
});
