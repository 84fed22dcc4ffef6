/**
 * Leadership without a cluster: the job runner (singleton jobs only while leader, restarts wait for
 * stops), the single-process engine, the PostgreSQL advisory-lock engine against a fake of its
 * session interface (lock taken by one of two, a lost session or a failing check stops the leader,
 * unlock on stop), the election config and which engine `auto` picks.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'vitest';
import { loadConfig } from '../src/config/load.ts';
import { createLogger } from '../src/core/logger.ts';
import { createLeadership, resolveElection } from '../src/ops/leader/index.ts';
import { JobRunner } from '../src/ops/leader/jobs.ts';
import { AdvisoryLockLeadership, type AdvisoryLockSession } from '../src/ops/leader/pg-advisory.ts';
import { LeaderListeners, type Leadership } from '../src/ops/leader/port.ts';
import { singleLeadership } from '../src/ops/leader/single.ts';
import type { Job } from '../src/ops/module.ts';
import { until } from './support/wait.ts';

const log = createLogger('silent');

/** A leadership the test flips by hand. */
function manual(): Leadership & { set(leader: boolean): void } {
  let leader = false;
  const listeners = new LeaderListeners(() => {});
  return {
    engine: 'lease',
    identity: 'manual',
    isLeader: () => leader,
    onChange: (l) => listeners.add(l),
    start() {},
    async stop() {},
    set(v: boolean) {
      leader = v;
      listeners.emit(v);
    },
  };
}

function recorder(events: string[], name: string, o: { singleton?: boolean; stop?: () => Promise<void> } = {}): Job {
  return {
    name,
    singleton: o.singleton,
    start: () => events.push(`start ${name}`),
    stop: async () => {
      events.push(`stop ${name}`);
      await o.stop?.();
      events.push(`stopped ${name}`);
    },
  };
}

describe('JobRunner', () => {
  test('jobs without `singleton` run everywhere; singleton jobs only while leader, stopped at once when leadership goes', async () => {
    const events: string[] = [];
    const l = manual();
    const runner = new JobRunner(
      [recorder(events, 'probe'), recorder(events, 'bot', { singleton: true }), recorder(events, 'sweeper', { singleton: true })],
      l,
      log,
    );
    runner.start();
    assert.deepEqual(events, ['start probe'], 'a follower starts only the jobs that run everywhere');
    l.set(true);
    assert.deepEqual(runner.runningSingletons(), ['bot', 'sweeper']);
    assert.deepEqual(events.slice(1), ['start bot', 'start sweeper']);
    events.length = 0;
    l.set(false);
    // Both stops begun synchronously, in reverse order, before any has finished.
    assert.deepEqual(events.slice(0, 2), ['stop sweeper', 'stop bot']);
    assert.deepEqual(runner.runningSingletons(), []);
    await runner.stop();
    assert.ok(events.includes('stop probe'));
  });

  test('becoming leader again waits until the previous run has stopped; stop stops everything once', async () => {
    const events: string[] = [];
    const l = manual();
    let finishStop!: () => void;
    const slowStop = () => new Promise<void>((r) => (finishStop = r));
    const runner = new JobRunner([recorder(events, 'bot', { singleton: true, stop: slowStop })], l, log);
    runner.start();
    l.set(true);
    l.set(false);
    l.set(true);
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(events, ['start bot', 'stop bot'], 'no second start while the first run is stopping');
    finishStop();
    await until('started again', () => events.includes('stopped bot') && events.at(-1) === 'start bot', { timeoutMs: 5000 });
    assert.deepEqual(events, ['start bot', 'stop bot', 'stopped bot', 'start bot']);
    const stopping = runner.stop();
    finishStop();
    await stopping;
    assert.deepEqual(events.slice(4), ['stop bot', 'stopped bot']);
    l.set(true);
    assert.equal(events.filter((e) => e === 'start bot').length, 2, 'a stopped runner starts nothing');
  });

  test('one process (single engine): leader from start, the singleton jobs start synchronously as before #21', async () => {
    const events: string[] = [];
    const l = singleLeadership('host_1');
    const runner = new JobRunner([recorder(events, 'sweeper', { singleton: true }), recorder(events, 'probe')], l, log);
    runner.start();
    l.start();
    assert.equal(l.isLeader(), true);
    assert.deepEqual(events, ['start probe', 'start sweeper']);
    await runner.stop();
    await l.stop();
    assert.equal(l.isLeader(), false);
  });
});

/** Two sessions of one fake server: one lock, held by whichever session took it; sessions can be killed. */
class FakeLockServer {
  holder: FakeSession | undefined;
  session(): FakeSession {
    return new FakeSession(this);
  }
}

class FakeSession implements AdvisoryLockSession {
  failing = false;
  tries = 0;
  private lost: ((err?: Error) => void) | undefined;
  constructor(private readonly server: FakeLockServer) {}
  async tryLock(): Promise<boolean> {
    this.tries++;
    if (this.failing) throw new Error('connection refused');
    this.server.holder ??= this;
    return this.server.holder === this;
  }
  async holds(): Promise<boolean> {
    if (this.failing) throw new Error('no answer');
    return this.server.holder === this;
  }
  async release(): Promise<void> {
    if (this.server.holder === this) this.server.holder = undefined;
  }
  onLost(callback: (err?: Error) => void): void {
    this.lost = callback;
  }
  /** The connection breaks: the driver reports it, the server frees the lock. */
  kill(): void {
    if (this.server.holder === this) this.server.holder = undefined;
    this.lost?.(new Error('Connection terminated unexpectedly'));
  }
}

describe('PostgreSQL advisory lock engine (fake session)', () => {
  const timings = { renewDeadlineMs: 600, retryPeriodMs: 100 };

  test('two replicas: one takes the lock and leads; a lost session stops it at once and the other leads; unlock on stop', async () => {
    const server = new FakeLockServer();
    const sa = server.session();
    const sb = server.session();
    const a = new AdvisoryLockLeadership({ session: sa, identity: 'a', log, ...timings });
    const b = new AdvisoryLockLeadership({ session: sb, identity: 'b', log, ...timings });
    const both: string[] = [];
    for (const l of [a, b]) l.onChange(() => a.isLeader() && b.isLeader() && both.push('overlap'));
    a.start();
    await until('a leads', () => a.isLeader(), { timeoutMs: 5000 });
    b.start();
    await until('b tried', () => sb.tries >= 3, { timeoutMs: 5000 });
    assert.equal(b.isLeader(), false);
    sa.kill();
    assert.equal(a.isLeader(), false, 'the lost session stops the leader synchronously');
    await until('b leads', () => b.isLeader(), { timeoutMs: 5000 });
    await b.stop();
    assert.equal(server.holder, undefined, 'b unlocked on stop');
    await until('a leads again', () => a.isLeader(), { timeoutMs: 5000 });
    await a.stop();
    assert.deepEqual(both, []);
  });

  test('a leader whose checks fail stops within the renew deadline; a check that says "not held" stops it at once', async () => {
    const server = new FakeLockServer();
    const s = server.session();
    const a = new AdvisoryLockLeadership({ session: s, identity: 'a', log, ...timings });
    a.start();
    await until('a leads', () => a.isLeader(), { timeoutMs: 5000 });
    s.failing = true;
    await until('a stops leading', () => !a.isLeader(), { timeoutMs: 5000 });
    s.failing = false;
    await until('a leads again', () => a.isLeader(), { timeoutMs: 5000 });
    server.holder = undefined; // e.g. pg_terminate_backend and another session took and dropped it
    await until('a notices', () => !a.isLeader(), { timeoutMs: 5000 });
    await a.stop();
  });
});

describe('leader config and engine choice', () => {
  test("defaults are client-go's; env names; bad proportions are one line naming the key", () => {
    const c = loadConfig({});
    assert.equal(c.leader.election, 'auto');
    assert.equal(c.leader.leaseName, 'labd-leader');
    assert.deepEqual([c.leader.leaseDuration.ms, c.leader.renewDeadline.ms, c.leader.retryPeriod.ms], [15_000, 10_000, 2_000]);
    const set = loadConfig({
      LABD_LEADER_ELECTION: 'lease',
      LABD_LEADER_LEASE_NAME: 'lab-a',
      LABD_LEADER_NAMESPACE: 'labd',
      LABD_LEADER_IDENTITY: 'pod-0',
      LABD_LEADER_LEASE_DURATION: '30s',
      LABD_LEADER_RENEW_DEADLINE: '20s',
      LABD_LEADER_RETRY_PERIOD: '4s',
    });
    assert.equal(set.leader.election, 'lease');
    assert.equal(set.leader.namespace, 'labd');
    assert.equal(set.leader.identity, 'pod-0');
    assert.equal(set.leader.renewDeadline.ms, 20_000);
    assert.throws(
      () => loadConfig({ LABD_LEADER_RENEW_DEADLINE: '15s' }),
      /^Error: config: leader\.renewDeadline \(LABD_LEADER_RENEW_DEADLINE\).*shorter than leader\.leaseDuration/,
    );
    assert.throws(() => loadConfig({ LABD_LEADER_RETRY_PERIOD: '9s' }), /leader\.retryPeriod \(LABD_LEADER_RETRY_PERIOD\)/);
    assert.throws(() => loadConfig({ LABD_LEADER_ELECTION: 'raft' }), /leader\.election \(LABD_LEADER_ELECTION\)/);
  });

  test('auto: single on SQLite (in a pod too); on PostgreSQL a Lease in a pod with a cluster, else the advisory lock', () => {
    const auto = loadConfig({}).leader;
    assert.equal(resolveElection(auto, { postgres: false, kubeConfigured: true, inPod: true }), 'single');
    assert.equal(resolveElection(auto, { postgres: true, kubeConfigured: true, inPod: true }), 'lease');
    assert.equal(resolveElection(auto, { postgres: true, kubeConfigured: true, inPod: false }), 'postgres');
    assert.equal(resolveElection(auto, { postgres: true, kubeConfigured: false, inPod: true }), 'postgres');
    assert.equal(resolveElection(loadConfig({ LABD_LEADER_ELECTION: 'single' }).leader, { postgres: true, kubeConfigured: true, inPod: true }), 'single');
  });

  test('an engine the setup cannot provide stops labd at start with one line', async () => {
    const lease = loadConfig({ LABD_LEADER_ELECTION: 'lease' });
    await assert.rejects(createLeadership(lease, { dialect: 'sqlite' }, log), /leader\.election .* is lease, but no Kubernetes cluster is configured/);
    const pg = loadConfig({ LABD_LEADER_ELECTION: 'postgres' });
    await assert.rejects(createLeadership(pg, { dialect: 'sqlite' }, log), /is postgres, but labd runs on SQLite/);
    const single = await createLeadership(loadConfig({}), { dialect: 'sqlite' }, log);
    assert.equal(single.engine, 'single');
    assert.match(single.identity, /_\d+$/);
  });
});
