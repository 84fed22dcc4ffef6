/**
 * The leader election's Lease (src/ops/leader/lease.ts) over @kubernetes/client-node's generated
 * CoordinationV1Api: get, create and replace of one `coordination.k8s.io/v1` Lease, the replace
 * carrying the resourceVersion it was read at (a 409 Conflict is a lost race, reported as 'conflict').
 * Every request carries the caller's abort signal and the kube.requestTimeout.
 */
import {
  CoordinationV1Api,
  type KubeConfig,
  Observable,
  V1MicroTime,
  type ConfigurationOptions,
  type RequestContext,
  type ResponseContext,
  type V1Lease,
} from '@kubernetes/client-node';
import type { LeaseApi, LeaseObject, LeaseRecord } from '../leader/lease.ts';
import type { KubeSource } from './connect.ts';
import { loadKubeConfig } from './client-node.ts';
import { mapKubeError } from './errors.ts';

export class ClientNodeLeases implements LeaseApi {
  readonly where: string;

  private readonly api: CoordinationV1Api;

  private constructor(
    kc: KubeConfig,
    private readonly target: string,
    private readonly name: string,
    private readonly namespace: string,
    private readonly timeoutMs: number,
  ) {
    this.api = kc.makeApiClient(CoordinationV1Api);
    this.where = `${namespace}/${name} on ${target}`;
  }

  /** The Lease `name` in `namespace`, else the kubeconfig context's namespace (in a pod: the service account's), else `default`. */
  static connect(source: Exclude<KubeSource, { kind: 'none' }>, o: { name: string; namespace?: string; timeoutMs: number }): ClientNodeLeases {
    const kc = loadKubeConfig(source);
    const server = kc.getCurrentCluster()?.server;
    if (!server) throw new Error('leader election: the current Kubernetes context names no cluster server');
    const namespace = o.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
    return new ClientNodeLeases(kc, server, o.name, namespace.trim(), o.timeoutMs);
  }

  async get(signal: AbortSignal): Promise<LeaseObject | undefined> {
    try {
      return toObject(await this.call(signal, (opts) => this.api.readNamespacedLease({ name: this.name, namespace: this.namespace }, opts)));
    } catch (err) {
      if ((err as { code?: unknown }).code === 404) return undefined;
      throw this.mapped(err, signal);
    }
  }

  async create(record: LeaseRecord, signal: AbortSignal): Promise<LeaseObject | 'conflict'> {
    const body: V1Lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.name, namespace: this.namespace },
      spec: toSpec(record),
    };
    try {
      return toObject(await this.call(signal, (opts) => this.api.createNamespacedLease({ namespace: this.namespace, body }, opts)));
    } catch (err) {
      if ((err as { code?: unknown }).code === 409) return 'conflict';
      throw this.mapped(err, signal);
    }
  }

  async update(record: LeaseRecord, resourceVersion: string, signal: AbortSignal): Promise<LeaseObject | 'conflict'> {
    const body: V1Lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.name, namespace: this.namespace, resourceVersion },
      spec: toSpec(record),
    };
    try {
      return toObject(await this.call(signal, (opts) => this.api.replaceNamespacedLease({ name: this.name, namespace: this.namespace, body }, opts)));
    } catch (err) {
      if ((err as { code?: unknown }).code === 409) return 'conflict';
      throw this.mapped(err, signal);
    }
  }

  private mapped(err: unknown, signal: AbortSignal): Error {
    return mapKubeError(err, `Lease ${this.namespace}/${this.name}`, this.target, this.timeoutMs / 1000, signal.aborted);
  }

  /** One request with the caller's signal and kube.requestTimeout. */
  private async call<T>(signal: AbortSignal, fn: (options: ConfigurationOptions) => Promise<T>): Promise<T> {
    const combined = AbortSignal.any([signal, AbortSignal.timeout(this.timeoutMs)]);
    const middleware = {
      pre: (ctx: RequestContext) => {
        ctx.setSignal(combined);
        return new Observable(Promise.resolve(ctx));
      },
      post: (response: ResponseContext) => new Observable(Promise.resolve(response)),
    };
    return fn({ middleware: [middleware], middlewareMergeStrategy: 'append' });
  }
}

function micro(iso: string | undefined): V1MicroTime | undefined {
  return iso ? new V1MicroTime(iso) : undefined;
}

function toSpec(r: LeaseRecord): V1Lease['spec'] {
  return {
    holderIdentity: r.holderIdentity,
    leaseDurationSeconds: r.leaseDurationSeconds,
    acquireTime: micro(r.acquireTime),
    renewTime: micro(r.renewTime),
    leaseTransitions: r.leaseTransitions,
  };
}

function timeText(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  return v instanceof Date ? v.toISOString() : String(v);
}

function toObject(l: V1Lease): LeaseObject {
  const s = l.spec ?? {};
  return {
    resourceVersion: l.metadata?.resourceVersion ?? '',
    record: {
      holderIdentity: s.holderIdentity,
      leaseDurationSeconds: s.leaseDurationSeconds,
      acquireTime: timeText(s.acquireTime),
      renewTime: timeText(s.renewTime),
      leaseTransitions: s.leaseTransitions,
    },
  };
}
