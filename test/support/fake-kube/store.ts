/**
 * The fake's object store: one resourceVersion counter for everything (as etcd's revision), a bounded
 * event history so watches can resume from a resourceVersion, and live watchers.
 */
import { randomUUID } from 'node:crypto';
import type { JsonObject } from './patch.ts';
import { apiVersionOf, type ResourceType } from './resources.ts';

export type KubeObject = JsonObject & {
  metadata: JsonObject & {
    name: string;
    namespace?: string;
    resourceVersion?: string;
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
};
export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoredEvent {
  rv: number;
  resource: ResourceType;
  type: WatchEventType;
  object: KubeObject;
  /** The object before a MODIFIED event, so selector watches can turn it into ADDED/DELETED. */
  previous?: KubeObject;
}

type Listener = (event: StoredEvent) => void;

const HISTORY_LIMIT = 5000;

export function nowTimestamp(date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export class ObjectStore {
  private readonly objects = new Map<ResourceType, Map<string, KubeObject>>();
  private readonly history: StoredEvent[] = [];
  private readonly listeners = new Set<Listener>();
  private revision = 1;

  get resourceVersion(): number {
    return this.revision;
  }

  /** The oldest resourceVersion a watch can still resume from. */
  get oldestResumable(): number {
    return this.history.length ? this.history[0]!.rv - 1 : this.revision;
  }

  private bucket(r: ResourceType): Map<string, KubeObject> {
    let m = this.objects.get(r);
    if (!m) this.objects.set(r, (m = new Map()));
    return m;
  }

  private key(namespace: string | undefined, name: string): string {
    return `${namespace ?? ''}/${name}`;
  }

  get(r: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    const o = this.bucket(r).get(this.key(namespace, name));
    return o && structuredClone(o);
  }

  list(r: ResourceType, namespace?: string): KubeObject[] {
    const out: KubeObject[] = [];
    for (const o of this.bucket(r).values()) if (!namespace || o.metadata.namespace === namespace) out.push(structuredClone(o));
    return out.sort((a, b) => `${a.metadata.namespace ?? ''}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace ?? ''}/${b.metadata.name}`));
  }

  /** Stores a new object, filling in the fields the API server owns. */
  create(r: ResourceType, obj: KubeObject): KubeObject {
    const o = structuredClone(obj);
    o.apiVersion = apiVersionOf(r);
    o.kind = r.kind;
    o.metadata.uid = o.metadata.uid ?? randomUUID();
    o.metadata.creationTimestamp = (o.metadata.creationTimestamp as string | undefined) ?? nowTimestamp();
    if (o.spec !== undefined && r.kind !== 'Node' && r.kind !== 'Pod' && r.kind !== 'Namespace') o.metadata.generation = 1;
    o.metadata.resourceVersion = String(++this.revision);
    this.bucket(r).set(this.key(o.metadata.namespace, o.metadata.name), o);
    this.emit({ rv: this.revision, resource: r, type: 'ADDED', object: structuredClone(o) });
    return structuredClone(o);
  }

  /** Replaces a stored object (the caller has checked preconditions); bumps generation when spec changed. */
  update(r: ResourceType, obj: KubeObject): KubeObject {
    const k = this.key(obj.metadata.namespace, obj.metadata.name);
    const previous = this.bucket(r).get(k);
    if (!previous) throw new Error(`update of a missing object ${k}`);
    const o = structuredClone(obj);
    o.apiVersion = apiVersionOf(r);
    o.kind = r.kind;
    o.metadata.uid = previous.metadata.uid!;
    o.metadata.creationTimestamp = previous.metadata.creationTimestamp!;
    if (previous.metadata.generation !== undefined) {
      const specChanged = JSON.stringify(previous.spec) !== JSON.stringify(o.spec);
      o.metadata.generation = (previous.metadata.generation as number) + (specChanged ? 1 : 0);
    }
    if (
      JSON.stringify({ ...previous, metadata: { ...previous.metadata, resourceVersion: '' } }) ===
      JSON.stringify({ ...o, metadata: { ...o.metadata, resourceVersion: '' } })
    ) {
      // A no-op write keeps the resourceVersion and sends no event, as the real server does.
      return structuredClone(previous);
    }
    o.metadata.resourceVersion = String(++this.revision);
    this.bucket(r).set(k, o);
    this.emit({ rv: this.revision, resource: r, type: 'MODIFIED', object: structuredClone(o), previous: structuredClone(previous) });
    return structuredClone(o);
  }

  delete(r: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    const k = this.key(namespace, name);
    const previous = this.bucket(r).get(k);
    if (!previous) return undefined;
    this.bucket(r).delete(k);
    const o = structuredClone(previous);
    o.metadata.resourceVersion = String(++this.revision);
    this.emit({ rv: this.revision, resource: r, type: 'DELETED', object: structuredClone(o) });
    return o;
  }

  /** Events after `rv` for one resource type (undefined when `rv` is older than the history kept). */
  eventsSince(r: ResourceType, rv: number): StoredEvent[] | undefined {
    if (rv < this.oldestResumable) return undefined;
    return this.history.filter((e) => e.resource === r && e.rv > rv);
  }

  subscribe(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private emit(e: StoredEvent): void {
    this.history.push(e);
    if (this.history.length > HISTORY_LIMIT) this.history.splice(0, this.history.length - HISTORY_LIMIT);
    for (const fn of this.listeners) fn(e);
  }
}
