/**
 * Small stand-ins for the controllers a real cluster runs, enough for rollouts and drains to be followed:
 * Deployment → ReplicaSets (revisions, rolling update, progress deadline), ReplicaSet → Pods, a scheduler
 * and kubelet that make pods Ready, pod GC for deleted nodes, PDB status, and Flux reconcile requests.
 *
 * A Deployment annotated `fake.labd/stuck: "true"` never gets Ready pods from its current template, so its
 * Progressing condition turns to ProgressDeadlineExceeded after spec.progressDeadlineSeconds.
 * A Flux object annotated `fake.labd/fail: "true"` reconciles to Ready=False.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Json } from './patch.ts';
import { findResource, type ResourceType } from './resources.ts';
import { selectorObjectMatches } from './selectors.ts';
import { nowTimestamp, type KubeObject, type ObjectStore } from './store.ts';

export interface ControllerOptions {
  /** How often the controllers run; every step of a rollout takes one tick. */
  tickMs: number;
}

const R = (group: string, version: string, plural: string): ResourceType => findResource(group, version, plural)!;
const NODES = R('', 'v1', 'nodes');
const PODS = R('', 'v1', 'pods');
const EVENTS = R('', 'v1', 'events');
const DEPLOYMENTS = R('apps', 'v1', 'deployments');
const REPLICASETS = R('apps', 'v1', 'replicasets');
const PDBS = R('policy', 'v1', 'poddisruptionbudgets');
const FLUX = [R('kustomize.toolkit.fluxcd.io', 'v1', 'kustomizations'), R('helm.toolkit.fluxcd.io', 'v2', 'helmreleases')];

export const REVISION = 'deployment.kubernetes.io/revision';
export const STUCK = 'fake.labd/stuck';
export const FAIL = 'fake.labd/fail';
const MAX_EVENTS = 500;

type Obj = KubeObject & Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastUpdateTime?: string;
  lastTransitionTime?: string;
}

function controllerOf(o: Obj): { kind: string; name: string; uid: string } | undefined {
  return (o.metadata.ownerReferences as { kind: string; name: string; uid: string; controller?: boolean }[] | undefined)?.find((r) => r.controller);
}

function podReady(p: Obj): boolean {
  return !p.metadata.deletionTimestamp && (p.status?.conditions as Condition[] | undefined)?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
}

function nodeSchedulable(n: Obj): boolean {
  return !n.spec?.unschedulable && (n.status?.conditions as Condition[] | undefined)?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
}

/**
 * Clients serialize the same template differently (kubectl writes Go struct order, `creationTimestamp: null`,
 * `resources: {}`), where the real server would default both to the same object: hash sorted keys, no empties.
 */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') {
    const entries = Object.keys(v)
      .sort()
      .map((k) => [k, canonical((v as Record<string, unknown>)[k])] as const);
    return Object.fromEntries(
      entries.filter(([, x]) => x !== null && x !== undefined && !(typeof x === 'object' && !Array.isArray(x) && !Object.keys(x).length)),
    );
  }
  return v;
}

export function templateHash(template: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify(canonical(template ?? {})))
    .digest('hex')
    .slice(0, 10);
}

function setCondition(conditions: Condition[], next: Condition, now: string): Condition[] {
  const old = conditions.find((c) => c.type === next.type);
  const merged = {
    ...next,
    lastTransitionTime: old && old.status === next.status ? (old.lastTransitionTime ?? now) : now,
    lastUpdateTime: next.lastUpdateTime ?? old?.lastUpdateTime ?? now,
  };
  return [...conditions.filter((c) => c.type !== next.type), merged];
}

export class Controllers {
  private timer: NodeJS.Timeout | undefined;
  private readonly tickMs: number;

  constructor(
    private readonly store: ObjectStore,
    opts: Partial<ControllerOptions>,
  ) {
    this.tickMs = opts.tickMs ?? 250;
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), this.tickMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One pass of every controller (tests may call it directly). */
  tick(): void {
    for (const d of this.store.list(DEPLOYMENTS)) this.syncDeployment(d as Obj);
    for (const rs of this.store.list(REPLICASETS)) this.syncReplicaSet(rs as Obj);
    this.runKubelet();
    this.collectPods();
    for (const pdb of this.store.list(PDBS)) this.syncPdb(pdb as Obj);
    for (const r of FLUX) for (const o of this.store.list(r)) this.syncFlux(r, o as Obj);
  }

  recordEvent(involved: Obj, type: 'Normal' | 'Warning', reason: string, message: string, component: string): void {
    const now = nowTimestamp();
    const namespace = involved.metadata.namespace ?? 'default';
    this.store.create(EVENTS, {
      metadata: { name: `${involved.metadata.name}.${randomBytes(8).toString('hex')}`, namespace },
      involvedObject: {
        kind: involved.kind,
        apiVersion: involved.apiVersion,
        name: involved.metadata.name,
        ...(involved.metadata.namespace ? { namespace: involved.metadata.namespace } : {}),
        uid: involved.metadata.uid,
      },
      type,
      reason,
      message,
      source: { component },
      reportingComponent: component,
      count: 1,
      firstTimestamp: now,
      lastTimestamp: now,
    } as unknown as KubeObject);
    const events = this.store.list(EVENTS);
    if (events.length > MAX_EVENTS) {
      events.sort((a, b) => Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion));
      for (const e of events.slice(0, events.length - MAX_EVENTS)) this.store.delete(EVENTS, e.metadata.namespace, e.metadata.name);
    }
  }

  private ownedReplicaSets(d: Obj): Obj[] {
    return this.store.list(REPLICASETS, d.metadata.namespace).filter((rs) => controllerOf(rs as Obj)?.uid === d.metadata.uid) as Obj[];
  }

  private ownedPods(rs: Obj): Obj[] {
    return this.store.list(PODS, rs.metadata.namespace).filter((p) => controllerOf(p as Obj)?.uid === rs.metadata.uid) as Obj[];
  }

  private syncDeployment(d: Obj): void {
    const now = nowTimestamp();
    const desired = (d.spec?.replicas as number | undefined) ?? 1;
    const hash = templateHash(d.spec?.template);
    const rss = this.ownedReplicaSets(d);
    const revisionOf = (rs: Obj) => Number(rs.metadata.annotations?.[REVISION] ?? 0);
    const maxRevision = Math.max(0, ...rss.map(revisionOf));
    let newRs = rss.find((rs) => rs.metadata.labels?.['pod-template-hash'] === hash);
    let progressed = false;
    if (d.spec?.paused) {
      this.writeStatus(d, { ...(d.status ?? {}), observedGeneration: d.metadata.generation });
      return;
    }
    if (!newRs) {
      const template = structuredClone(d.spec?.template ?? {}) as Obj;
      template.metadata = { ...(template.metadata ?? {}), labels: { ...(template.metadata?.labels ?? {}), 'pod-template-hash': hash } };
      newRs = this.store.create(REPLICASETS, {
        metadata: {
          name: `${d.metadata.name}-${hash}`,
          namespace: d.metadata.namespace,
          labels: template.metadata.labels,
          annotations: { [REVISION]: String(maxRevision + 1), 'deployment.kubernetes.io/desired-replicas': String(desired) },
          ownerReferences: [
            { apiVersion: 'apps/v1', kind: 'Deployment', name: d.metadata.name, uid: d.metadata.uid, controller: true, blockOwnerDeletion: true },
          ],
        },
        spec: {
          replicas: 0,
          selector: { ...(d.spec?.selector ?? {}), matchLabels: { ...(d.spec?.selector?.matchLabels ?? {}), 'pod-template-hash': hash } },
          template,
        },
      } as unknown as KubeObject) as Obj;
      this.recordEvent(d, 'Normal', 'ScalingReplicaSet', `Created new replica set "${newRs.metadata.name}"`, 'deployment-controller');
      progressed = true;
      d.status = {
        ...(d.status ?? {}),
        conditions: setCondition(
          d.status?.conditions ?? [],
          {
            type: 'Progressing',
            status: 'True',
            reason: 'NewReplicaSetCreated',
            message: `Created new replica set "${newRs.metadata.name}"`,
            lastUpdateTime: now,
          },
          now,
        ),
      };
    } else if (revisionOf(newRs) !== maxRevision) {
      // Rolling back to an older template reuses its ReplicaSet under the next revision number.
      newRs.metadata.annotations = { ...(newRs.metadata.annotations ?? {}), [REVISION]: String(maxRevision + 1) };
      newRs = this.store.update(REPLICASETS, newRs) as Obj;
      progressed = true;
    }
    if (d.metadata.annotations?.[REVISION] !== newRs.metadata.annotations?.[REVISION]) {
      const fresh = this.store.get(DEPLOYMENTS, d.metadata.namespace, d.metadata.name) as Obj;
      fresh.metadata.annotations = { ...(fresh.metadata.annotations ?? {}), [REVISION]: newRs.metadata.annotations?.[REVISION] ?? '1' };
      d = { ...(this.store.update(DEPLOYMENTS, fresh) as Obj), status: d.status };
    }

    const olds = rss.filter((rs) => rs.metadata.uid !== newRs!.metadata.uid);
    const oldReplicas = olds.reduce((n, rs) => n + (rs.spec?.replicas ?? 0), 0);
    const newReplicas = (newRs.spec?.replicas as number | undefined) ?? 0;
    const newAvailable = (newRs.status?.availableReplicas as number | undefined) ?? 0;
    const recreate = d.spec?.strategy?.type === 'Recreate';
    const scale = (rs: Obj, replicas: number) => {
      const fresh = this.store.get(REPLICASETS, rs.metadata.namespace, rs.metadata.name) as Obj;
      fresh.spec = { ...fresh.spec, replicas };
      this.store.update(REPLICASETS, fresh);
      this.recordEvent(
        d,
        'Normal',
        'ScalingReplicaSet',
        `Scaled ${replicas > (rs.spec?.replicas ?? 0) ? 'up' : 'down'} replica set ${rs.metadata.name} to ${replicas}`,
        'deployment-controller',
      );
      progressed = true;
    };
    if (newReplicas > desired) scale(newRs, desired);
    else if (recreate) {
      const oldPods = olds.reduce((n, rs) => n + this.ownedPods(rs).length, 0);
      for (const rs of olds) if ((rs.spec?.replicas ?? 0) > 0) scale(rs, 0);
      if (oldReplicas === 0 && oldPods === 0 && newReplicas < desired) scale(newRs, desired);
    } else {
      if (newReplicas < desired && newReplicas + oldReplicas < desired + 1) scale(newRs, newReplicas + 1);
      const victim = olds.find((rs) => (rs.spec?.replicas ?? 0) > 0);
      if (victim && newAvailable + oldReplicas > desired) scale(victim, (victim.spec?.replicas ?? 0) - 1);
    }

    const all = this.ownedReplicaSets(d);
    const sum = (f: (rs: Obj) => number) => all.reduce((n, rs) => n + f(rs), 0);
    const current = all.find((rs) => rs.metadata.uid === newRs!.metadata.uid)!;
    const replicas = sum((rs) => rs.status?.replicas ?? 0);
    const updated = (current.status?.replicas as number | undefined) ?? 0;
    const ready = sum((rs) => rs.status?.readyReplicas ?? 0);
    const available = sum((rs) => rs.status?.availableReplicas ?? 0);
    const updatedAvailable = (current.status?.availableReplicas as number | undefined) ?? 0;
    const before = d.status ?? {};
    if (before.replicas !== replicas || before.updatedReplicas !== updated || before.availableReplicas !== available || before.readyReplicas !== ready)
      progressed = true;
    let conditions: Condition[] = before.conditions ?? [];
    conditions = setCondition(
      conditions,
      available >= desired
        ? { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' }
        : { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' },
      now,
    );
    const progressing = conditions.find((c) => c.type === 'Progressing');
    const complete = updated >= desired && replicas <= updated && updatedAvailable >= updated;
    const deadline = (d.spec?.progressDeadlineSeconds as number | undefined) ?? 600;
    if (complete) {
      if (progressing?.reason !== 'NewReplicaSetAvailable')
        conditions = setCondition(
          conditions,
          {
            type: 'Progressing',
            status: 'True',
            reason: 'NewReplicaSetAvailable',
            message: `ReplicaSet "${current.metadata.name}" has successfully progressed.`,
            lastUpdateTime: now,
          },
          now,
        );
    } else if (progressed) {
      conditions = setCondition(
        conditions,
        {
          type: 'Progressing',
          status: 'True',
          reason: progressing?.reason === 'NewReplicaSetCreated' ? 'NewReplicaSetCreated' : 'ReplicaSetUpdated',
          message: `ReplicaSet "${current.metadata.name}" is progressing.`,
          lastUpdateTime: now,
        },
        now,
      );
    } else if (
      progressing &&
      progressing.reason !== 'ProgressDeadlineExceeded' &&
      Date.now() - Date.parse(progressing.lastUpdateTime ?? now) > deadline * 1000
    ) {
      conditions = setCondition(
        conditions,
        {
          type: 'Progressing',
          status: 'False',
          reason: 'ProgressDeadlineExceeded',
          message: `ReplicaSet "${current.metadata.name}" has timed out progressing.`,
          lastUpdateTime: now,
        },
        now,
      );
      this.recordEvent(d, 'Warning', 'ProgressDeadlineExceeded', `Deployment "${d.metadata.name}" has timed out progressing.`, 'deployment-controller');
    }
    this.writeStatus(d, {
      observedGeneration: d.metadata.generation,
      replicas,
      updatedReplicas: updated,
      readyReplicas: ready,
      availableReplicas: available,
      unavailableReplicas: Math.max(0, desired - available),
      conditions,
    });
  }

  private writeStatus(o: Obj, status: Record<string, unknown>): void {
    const r =
      o.kind === 'Deployment' ? DEPLOYMENTS : o.kind === 'ReplicaSet' ? REPLICASETS : findResource(...splitApiVersion(o.apiVersion as string), plural(o))!;
    const fresh = this.store.get(r, o.metadata.namespace, o.metadata.name) as Obj | undefined;
    if (!fresh) return;
    fresh.status = status as Json;
    this.store.update(r, fresh);
  }

  private syncReplicaSet(rs: Obj): void {
    const want = (rs.spec?.replicas as number | undefined) ?? 1;
    const pods = this.ownedPods(rs).filter((p) => !p.metadata.deletionTimestamp);
    if (pods.length < want) {
      const template = (rs.spec?.template ?? {}) as Obj;
      const pod = this.store.create(PODS, {
        metadata: {
          name: `${rs.metadata.name}-${randomBytes(4).toString('hex').slice(0, 5)}`,
          namespace: rs.metadata.namespace,
          labels: template.metadata?.labels ?? {},
          ...(template.metadata?.annotations ? { annotations: template.metadata.annotations } : {}),
          ownerReferences: [
            { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rs.metadata.name, uid: rs.metadata.uid, controller: true, blockOwnerDeletion: true },
          ],
        },
        spec: template.spec ?? { containers: [] },
        status: { phase: 'Pending' },
      } as unknown as KubeObject) as Obj;
      this.recordEvent(rs, 'Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata.name}`, 'replicaset-controller');
    } else if (pods.length > want) {
      const victim = [...pods].sort(
        (a, b) => Number(podReady(a)) - Number(podReady(b)) || String(b.metadata.creationTimestamp).localeCompare(String(a.metadata.creationTimestamp)),
      )[0]!;
      this.store.delete(PODS, victim.metadata.namespace, victim.metadata.name);
      this.recordEvent(rs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${victim.metadata.name}`, 'replicaset-controller');
    }
    const now = this.ownedPods(rs);
    const ready = now.filter(podReady).length;
    this.writeStatus(rs, {
      replicas: now.length,
      fullyLabeledReplicas: now.length,
      readyReplicas: ready,
      availableReplicas: ready,
      observedGeneration: rs.metadata.generation,
    });
  }

  /** Scheduler + kubelet: binds pending controller-made pods to a schedulable node, then makes them Ready. */
  private runKubelet(): void {
    const nodes = this.store.list(NODES).filter((n) => nodeSchedulable(n as Obj));
    const pods = this.store.list(PODS) as Obj[];
    for (const p of pods) {
      const owner = controllerOf(p);
      if (owner?.kind !== 'ReplicaSet' || p.status?.phase !== 'Pending') continue;
      const now = nowTimestamp();
      if (!p.spec?.nodeName) {
        if (!nodes.length) continue;
        const load = (n: KubeObject) => pods.filter((x) => x.spec?.nodeName === n.metadata.name).length;
        const node = [...nodes].sort((a, b) => load(a) - load(b))[0]!;
        p.spec = { ...p.spec, nodeName: node.metadata.name };
        p.status = { ...p.status, conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: now }] };
        this.store.update(PODS, p);
        this.recordEvent(
          p,
          'Normal',
          'Scheduled',
          `Successfully assigned ${p.metadata.namespace}/${p.metadata.name} to ${node.metadata.name}`,
          'default-scheduler',
        );
        continue;
      }
      if (this.stuck(p, owner.uid)) continue;
      const containers = (p.spec?.containers ?? []) as { name: string; image: string }[];
      p.status = {
        phase: 'Running',
        startTime: now,
        podIP: `10.42.${Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`,
        conditions: ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'].map((type) => ({ type, status: 'True', lastTransitionTime: now })),
        containerStatuses: containers.map((c) => ({
          name: c.name,
          image: c.image,
          ready: true,
          started: true,
          restartCount: 0,
          state: { running: { startedAt: now } },
        })),
      };
      this.store.update(PODS, p);
    }
  }

  /** Pods of a stuck Deployment's current template never become Ready. */
  private stuck(p: Obj, rsUid: string): boolean {
    const rs = this.store.list(REPLICASETS, p.metadata.namespace).find((x) => x.metadata.uid === rsUid) as Obj | undefined;
    const owner = rs && controllerOf(rs);
    if (!rs || owner?.kind !== 'Deployment') return false;
    const d = this.store.get(DEPLOYMENTS, rs.metadata.namespace, owner.name) as Obj | undefined;
    return d?.metadata.annotations?.[STUCK] === 'true' && rs.metadata.labels?.['pod-template-hash'] === templateHash(d.spec?.template);
  }

  /** Pod GC: pods bound to a node that no longer exists are deleted; so are objects whose controller is gone. */
  private collectPods(): void {
    const nodes = new Set(this.store.list(NODES).map((n) => n.metadata.name));
    const uids = new Set([...this.store.list(REPLICASETS), ...this.store.list(DEPLOYMENTS)].map((o) => o.metadata.uid));
    for (const p of this.store.list(PODS) as Obj[]) {
      const owner = controllerOf(p);
      if ((p.spec?.nodeName && !nodes.has(p.spec.nodeName)) || (owner?.kind === 'ReplicaSet' && !uids.has(owner.uid)))
        this.store.delete(PODS, p.metadata.namespace, p.metadata.name);
    }
    for (const rs of this.store.list(REPLICASETS) as Obj[]) {
      const owner = controllerOf(rs);
      if (owner?.kind === 'Deployment' && !uids.has(owner.uid)) this.store.delete(REPLICASETS, rs.metadata.namespace, rs.metadata.name);
    }
  }

  /** Disruption controller: recomputes a budget's status from minAvailable/maxUnavailable (a budget without either keeps the status it was given). */
  private syncPdb(pdb: Obj): void {
    const spec = pdb.spec ?? {};
    if (spec.minAvailable === undefined && spec.maxUnavailable === undefined) return;
    const pods = (this.store.list(PODS, pdb.metadata.namespace) as Obj[]).filter((p) => selectorObjectMatches(spec.selector, p.metadata.labels));
    let expected = 0;
    const counted = new Set<string>();
    for (const p of pods) {
      const owner = controllerOf(p);
      if (!owner) expected++;
      else if (!counted.has(owner.uid)) {
        counted.add(owner.uid);
        const rs = this.store.list(REPLICASETS, p.metadata.namespace).find((x) => x.metadata.uid === owner.uid) as Obj | undefined;
        expected += rs ? ((rs.spec?.replicas as number | undefined) ?? 1) : pods.filter((x) => controllerOf(x)?.uid === owner.uid).length;
      }
    }
    const healthy = pods.filter(podReady).length;
    const amount = (v: number | string) => (typeof v === 'string' && v.endsWith('%') ? Math.ceil((expected * Number(v.slice(0, -1))) / 100) : Number(v));
    const desiredHealthy = spec.minAvailable !== undefined ? amount(spec.minAvailable) : Math.max(0, expected - amount(spec.maxUnavailable));
    this.writeStatus(pdb, {
      observedGeneration: pdb.metadata.generation,
      disruptionsAllowed: Math.max(0, healthy - desiredHealthy),
      currentHealthy: healthy,
      desiredHealthy,
      expectedPods: expected,
    });
  }

  /** Flux: a new reconcile.fluxcd.io/requestedAt is handled on the next tick, unless the object is suspended. */
  private syncFlux(r: ResourceType, o: Obj): void {
    const requested = o.metadata.annotations?.['reconcile.fluxcd.io/requestedAt'] as string | undefined;
    if (o.spec?.suspend) return;
    const status = o.status ?? {};
    if (
      requested === undefined
        ? status.observedGeneration === o.metadata.generation
        : status.lastHandledReconcileAt === requested && status.observedGeneration === o.metadata.generation
    )
      return;
    const now = nowTimestamp();
    const failed = o.metadata.annotations?.[FAIL] === 'true';
    const ready: Condition = failed
      ? { type: 'Ready', status: 'False', reason: 'ReconciliationFailed', message: 'reconciliation failed (fake.labd/fail)' }
      : { type: 'Ready', status: 'True', reason: 'ReconciliationSucceeded', message: `Applied revision: ${status.lastAppliedRevision ?? 'main@sha1:0000000'}` };
    const fresh = this.store.get(r, o.metadata.namespace, o.metadata.name) as Obj;
    fresh.status = {
      ...status,
      observedGeneration: o.metadata.generation,
      ...(requested !== undefined ? { lastHandledReconcileAt: requested } : {}),
      conditions: setCondition((status.conditions ?? []) as Condition[], ready, now),
    } as Json;
    this.store.update(r, fresh);
  }
}

function splitApiVersion(apiVersion: string): [string, string] {
  const i = apiVersion.indexOf('/');
  return i < 0 ? ['', apiVersion] : [apiVersion.slice(0, i), apiVersion.slice(i + 1)];
}

function plural(o: Obj): string {
  return `${String(o.kind).toLowerCase()}s`;
}
