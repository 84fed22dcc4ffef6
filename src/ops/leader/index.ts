/** Leadership for the composition root: which engine config and the environment call for, built once at start. */
import { hostname } from 'node:os';
import type { Config } from '../../config/schema.ts';
import type { Logger } from '../../core/logger.ts';
import { connectLeases, kubeSource } from '../kube/index.ts';
import { LeaseElector } from './lease.ts';
import { AdvisoryLockLeadership, pgAdvisorySession, type PgPoolLike } from './pg-advisory.ts';
import type { ElectionEngine, Leadership } from './port.ts';
import { singleLeadership } from './single.ts';

export { JobRunner } from './jobs.ts';
export { roleOf, type ElectionEngine, type Leadership, type LeaderRole } from './port.ts';

/** holderIdentity when leader.identity is unset: the host name (a pod's name in Kubernetes) and the pid. */
export function defaultIdentity(): string {
  return `${hostname()}_${process.pid}`;
}

/**
 * `auto`: one SQLite process is the only replica (single); with a shared PostgreSQL database, a Lease
 * when labd runs in a pod (KUBERNETES_SERVICE_HOST) with a cluster configured, else an advisory lock.
 */
export function resolveElection(leader: Config['leader'], o: { postgres: boolean; kubeConfigured: boolean; inPod: boolean }): ElectionEngine {
  if (leader.election !== 'auto') return leader.election;
  if (!o.postgres) return 'single';
  return o.inPod && o.kubeConfigured ? 'lease' : 'postgres';
}

/** What createLeadership needs of the database: its dialect and, once the storage layer hands it out, a node-postgres-like pool. */
export interface LeaderDatabase {
  dialect: string;
  pool?: PgPoolLike;
}

export async function createLeadership(config: Pick<Config, 'leader' | 'kube'>, database: LeaderDatabase, log: Logger): Promise<Leadership> {
  const l = config.leader;
  const identity = l.identity ?? defaultIdentity();
  const engine = resolveElection(l, {
    postgres: database.dialect === 'postgres',
    kubeConfigured: kubeSource(config.kube).kind !== 'none',
    inPod: config.kube.inCluster,
  });
  if (engine === 'lease') {
    const api = await connectLeases(config.kube, { name: l.leaseName, namespace: l.namespace });
    if (!api) throw new Error('config: leader.election (LABD_LEADER_ELECTION) is lease, but no Kubernetes cluster is configured (LABD_KUBECONFIG, or a pod)');
    log.info({ lease: api.where, identity }, 'leader election: Kubernetes Lease');
    return new LeaseElector({
      api,
      identity,
      log,
      leaseDurationMs: l.leaseDuration.ms,
      renewDeadlineMs: l.renewDeadline.ms,
      retryPeriodMs: l.retryPeriod.ms,
    });
  }
  if (engine === 'postgres') {
    if (database.dialect !== 'postgres')
      throw new Error('config: leader.election (LABD_LEADER_ELECTION) is postgres, but labd runs on SQLite (set LABD_DATABASE_URL)');
    if (!database.pool) throw new Error('leader election: the PostgreSQL engine gave no connection pool for the advisory lock');
    log.info({ identity }, 'leader election: PostgreSQL advisory lock');
    return new AdvisoryLockLeadership({
      session: pgAdvisorySession(database.pool),
      identity,
      log,
      renewDeadlineMs: l.renewDeadline.ms,
      retryPeriodMs: l.retryPeriod.ms,
    });
  }
  return singleLeadership(identity);
}
