/**
 * A Kubernetes API server fake over plain HTTP that the real @kubernetes/client-node talks to:
 * the same paths, verbs, status codes and Status documents as kube-apiserver for the resources
 * labd's ops use, with watch streams, optimistic concurrency and simple controllers.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { stringify as toYaml } from 'yaml';
import { Controllers, type ControllerOptions } from './controllers.ts';
import { apiGroup, apiGroupList, apiResourceList, apiVersions, VERSION_INFO } from './discovery.ts';
import { evictPod } from './eviction.ts';
import { jsonPatch, mergePatch, strategicMergePatch, type Json } from './patch.ts';
import { apiVersionOf, findResource, resourceForKind, type ResourceType } from './resources.ts';
import { fieldsMatch, labelsMatch, parseFieldSelector, parseLabelSelector } from './selectors.ts';
import { ApiError, errors, success } from './status.ts';
import { ObjectStore, type KubeObject, type StoredEvent } from './store.ts';

export interface FakeKubeOptions {
  host?: string;
  port?: number;
  /** Bearer token written to the kubeconfig; a request with another token gets 401. */
  token?: string;
  /** Objects to load at start (status fields kept as given). */
  objects?: KubeObject[];
  controllers?: Partial<ControllerOptions> | false;
}

export interface DenyRule {
  verb: string;
  /** Resource plural, with a subresource as "pods/eviction". */
  resource: string;
}

const NAMESPACES = findResource('', 'v1', 'namespaces')!;
const SECRETS = findResource('', 'v1', 'secrets')!;
const BUILTIN_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const MAX_BODY = 3 * 1024 * 1024;

interface Route {
  resource: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
}

export class FakeKube {
  readonly store = new ObjectStore();
  readonly controllers: Controllers | undefined;
  private server: Server | undefined;
  private latencyMs = 0;
  private denied: DenyRule[] = [];
  private readonly token: string;
  /** Requests seen, newest last (method, path, content type): lets tests check what the client sent. */
  readonly requests: { method: string; path: string; contentType?: string }[] = [];
  url = '';

  private constructor(private readonly opts: FakeKubeOptions) {
    this.token = opts.token ?? randomBytes(12).toString('hex');
    for (const ns of BUILTIN_NAMESPACES)
      this.store.create(NAMESPACES, { metadata: { name: ns }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } } as KubeObject);
    this.load(opts.objects ?? []);
    if (opts.controllers !== false) this.controllers = new Controllers(this.store, opts.controllers ?? {});
  }

  static async start(opts: FakeKubeOptions = {}): Promise<FakeKube> {
    const fake = new FakeKube(opts);
    await fake.listen();
    fake.controllers?.start();
    return fake;
  }

  /** Loads objects as a fixture: namespaces they name are created, status kept as written. */
  load(objects: KubeObject[]): void {
    for (const obj of objects) {
      const r = resourceForKind(String(obj.apiVersion), String(obj.kind));
      if (!r) throw new Error(`fake-kube: unsupported kind ${String(obj.apiVersion)} ${String(obj.kind)}`);
      const o = structuredClone(obj);
      if (r.namespaced) {
        o.metadata.namespace = o.metadata.namespace ?? 'default';
        if (!this.store.get(NAMESPACES, undefined, o.metadata.namespace))
          this.store.create(NAMESPACES, { metadata: { name: o.metadata.namespace }, status: { phase: 'Active' } } as KubeObject);
      } else delete o.metadata.namespace;
      if (this.store.get(r, o.metadata.namespace, o.metadata.name)) throw new Error(`fake-kube: ${r.kind} ${o.metadata.name} appears twice in the fixture`);
      this.store.create(r, r === SECRETS ? encodeStringData(o) : o);
    }
  }

  /** Makes every request wait this long before it is answered (a slow API server). */
  setLatency(ms: number): void {
    this.latencyMs = ms;
  }

  /** Answers 403 Forbidden to these verbs, as RBAC would. */
  deny(rules: DenyRule[]): void {
    this.denied = rules;
  }

  kubeconfig(): string {
    return toYaml({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'fake-kube', cluster: { server: this.url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'fake-kube', user: { token: this.token } }],
      contexts: [{ name: 'fake-kube', context: { cluster: 'fake-kube', user: 'fake-kube', namespace: 'default' } }],
      'current-context': 'fake-kube',
    });
  }

  writeKubeconfig(path: string): string {
    writeFileSync(path, this.kubeconfig(), { mode: 0o600 });
    return path;
  }

  async stop(): Promise<void> {
    this.controllers?.stop();
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private listen(): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port ?? 0, this.opts.host ?? '127.0.0.1', () => {
        const a = server.address() as AddressInfo;
        const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
        this.url = `http://${host}:${a.port}`;
        resolve();
      });
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    this.requests.push({ method: req.method ?? 'GET', path: url.pathname + url.search, contentType: req.headers['content-type'] });
    if (this.requests.length > 1000) this.requests.shift();
    try {
      if (this.latencyMs) await new Promise((r) => setTimeout(r, this.latencyMs));
      // Like kube-apiserver's old insecure port, a request without credentials is served (kubectl sends
      // none over plain http); a wrong token is refused.
      if (req.headers.authorization !== undefined && req.headers.authorization !== `Bearer ${this.token}`) throw errors.unauthorized();
      const body = await readBody(req);
      if (!this.server) return void req.socket.destroy();
      await this.dispatch(req, res, url, body);
    } catch (err) {
      if (res.headersSent) return void res.end();
      if (err instanceof ApiError) return send(res, err.status.code, err.status);
      const message = err instanceof Error ? err.message : String(err);
      send(res, 500, errors.internal(message).status);
    }
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse, url: URL, raw: Buffer): Promise<void> {
    const method = req.method ?? 'GET';
    const segs = url.pathname.split('/').filter(Boolean);
    const p = url.pathname.replace(/\/+$/, '');
    if (method === 'GET') {
      if (p === '/version') return send(res, 200, VERSION_INFO);
      if (p === '/healthz' || p === '/readyz' || p === '/livez') return sendText(res, 200, 'ok');
      if (p === '/api') return send(res, 200, apiVersions(this.url.replace(/^http:\/\//, '')));
      if (p === '/apis') return send(res, 200, apiGroupList());
      if (segs[0] === 'api' && segs.length === 2) return sendOr404(res, apiResourceList('', segs[1]!));
      if (segs[0] === 'apis' && segs.length === 2) return sendOr404(res, apiGroup(segs[1]!));
      if (segs[0] === 'apis' && segs.length === 3) return sendOr404(res, apiResourceList(segs[1]!, segs[2]!));
    }
    const route = parseRoute(segs);
    if (!route) throw errors.pathNotFound();
    const verb = verbOf(method, route, url);
    const resourceName = route.subresource ? `${route.resource.plural}/${route.subresource}` : route.resource.plural;
    if (this.denied.some((d) => d.verb === verb && d.resource === resourceName)) {
      throw errors.forbidden(route.resource, route.name ?? '', verb, route.namespace, 'system:serviceaccount:labd:labd');
    }
    const body = () => parseJson(raw);
    const r = route.resource;
    if (route.subresource === 'eviction') {
      if (r.plural !== 'pods' || method !== 'POST') throw errors.methodNotAllowed(method);
      return send(res, 201, evictPod(this.store, route.namespace!, route.name!, body() as KubeObject));
    }
    if (route.subresource && route.subresource !== 'status') throw errors.pathNotFound();
    if (route.subresource === 'status' && !r.statusSubresource) throw errors.pathNotFound();
    if (!route.name) {
      if (verb === 'watch') return this.watch(req, res, route, url);
      if (verb === 'list') return send(res, 200, this.list(route, url));
      if (verb === 'create') return send(res, 201, this.create(route, body() as KubeObject));
      throw errors.methodNotAllowed(method);
    }
    switch (method) {
      case 'GET':
        return send(res, 200, this.getOr404(route));
      case 'PUT':
        return send(res, 200, this.replace(route, body() as KubeObject));
      case 'PATCH':
        return send(res, 200, this.patch(route, String(req.headers['content-type'] ?? ''), body()));
      case 'DELETE':
        return send(res, 200, this.remove(route, raw.length ? (body() as { preconditions?: { uid?: string; resourceVersion?: string } }) : {}));
      default:
        throw errors.methodNotAllowed(method);
    }
  }

  private getOr404(route: Route): KubeObject {
    const o = this.store.get(route.resource, route.namespace, route.name!);
    if (!o) throw errors.notFound(route.resource, route.name!);
    return o;
  }

  private list(route: Route, url: URL) {
    const r = route.resource;
    const labels = parseLabelSelector(url.searchParams.get('labelSelector'));
    const fields = parseFieldSelector(url.searchParams.get('fieldSelector'), r.fieldLabels, r.kind);
    let items = this.store.list(r, route.namespace).filter((o) => labelsMatch(labels, o.metadata.labels) && fieldsMatch(fields, o));
    const metadata: Record<string, unknown> = { resourceVersion: String(this.store.resourceVersion) };
    const limit = Number(url.searchParams.get('limit') ?? 0);
    const cont = url.searchParams.get('continue');
    const offset = cont ? decodeContinue(cont) : 0;
    items = items.slice(offset);
    if (limit > 0 && items.length > limit) {
      metadata.continue = Buffer.from(JSON.stringify({ offset: offset + limit })).toString('base64url');
      metadata.remainingItemCount = items.length - limit;
      items = items.slice(0, limit);
    }
    if (!r.custom) items = items.map(({ kind: _k, apiVersion: _a, ...rest }) => rest as KubeObject);
    return { kind: `${r.kind}List`, apiVersion: apiVersionOf(r), metadata, items };
  }

  private checkBody(route: Route, obj: KubeObject): KubeObject {
    const r = route.resource;
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw errors.badRequest('the body of the request must be a JSON object');
    if (obj.apiVersion !== undefined && obj.apiVersion !== apiVersionOf(r))
      throw errors.badRequest(`the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${apiVersionOf(r)})`);
    if (obj.kind !== undefined && obj.kind !== r.kind)
      throw errors.badRequest(`the kind in the data (${String(obj.kind)}) does not match the expected kind (${r.kind})`);
    obj.metadata = obj.metadata ?? ({} as KubeObject['metadata']);
    if (r.namespaced) {
      if (obj.metadata.namespace && obj.metadata.namespace !== route.namespace)
        throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
      obj.metadata.namespace = route.namespace!;
    } else delete obj.metadata.namespace;
    return obj;
  }

  private create(route: Route, input: KubeObject): KubeObject {
    const r = route.resource;
    if (r.namespaced && !route.namespace) throw errors.methodNotAllowed('POST');
    const obj = this.checkBody(route, input);
    if (r.namespaced && !this.store.get(NAMESPACES, undefined, route.namespace!)) throw errors.namespaceNotFound(route.namespace!);
    if (!obj.metadata.name && typeof obj.metadata.generateName === 'string')
      obj.metadata.name = obj.metadata.generateName + randomBytes(3).toString('hex').slice(0, 5);
    const name = obj.metadata.name;
    if (!name) throw errors.invalid(r, '', 'metadata.name', 'Required value: name or generateName is required');
    if (!DNS_SUBDOMAIN.test(name) || name.length > 253) {
      throw errors.invalid(
        r,
        name,
        'metadata.name',
        `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
      );
    }
    if (this.store.get(r, route.namespace, name)) throw errors.alreadyExists(r, name);
    delete obj.metadata.resourceVersion;
    delete obj.metadata.uid;
    delete obj.metadata.creationTimestamp;
    if (r.statusSubresource && r.kind !== 'Pod' && r.kind !== 'Node' && r.kind !== 'Namespace') delete obj.status;
    return this.store.create(r, r === SECRETS ? encodeStringData(obj) : obj);
  }

  /** Writes `next` over `current`, keeping what the endpoint may not change (status vs. the rest). */
  private write(route: Route, current: KubeObject, next: KubeObject): KubeObject {
    const r = route.resource;
    const expectedRv = next.metadata?.resourceVersion;
    if (expectedRv && expectedRv !== current.metadata.resourceVersion) throw errors.conflict(r, current.metadata.name);
    if (next.metadata?.name !== undefined && next.metadata.name !== current.metadata.name)
      throw errors.badRequest(`the name of the object (${String(next.metadata.name)}) does not match the name on the URL (${current.metadata.name})`);
    let merged: KubeObject;
    if (route.subresource === 'status') merged = { ...current, status: next.status ?? {} } as KubeObject;
    else {
      merged = { ...next, metadata: { ...next.metadata, name: current.metadata.name } } as KubeObject;
      if (r.namespaced) merged.metadata.namespace = current.metadata.namespace!;
      if (r.statusSubresource) merged.status = current.status as Json;
    }
    return this.store.update(r, r === SECRETS ? encodeStringData(merged) : merged);
  }

  private replace(route: Route, input: KubeObject): KubeObject {
    const current = this.getOr404(route);
    return this.write(route, current, this.checkBody(route, input));
  }

  private patch(route: Route, contentType: string, patch: unknown): KubeObject {
    const current = this.getOr404(route);
    const type = contentType.split(';')[0]!.trim();
    let next: Json;
    if (type === 'application/merge-patch+json') next = mergePatch(current, patch as Json);
    else if (type === 'application/strategic-merge-patch+json') {
      if (route.resource.custom) throw errors.unsupportedMediaType(type);
      next = strategicMergePatch(current, patch as Json);
    } else if (type === 'application/json-patch+json') next = jsonPatch(current, patch);
    else throw errors.unsupportedMediaType(type || '(none)');
    const obj = next as KubeObject;
    // A resourceVersion in the patch is a precondition; without one the patch applies to the latest.
    const patchRv = (patch as { metadata?: { resourceVersion?: string } } | null)?.metadata?.resourceVersion;
    if (!patchRv && obj.metadata) obj.metadata.resourceVersion = current.metadata.resourceVersion!;
    return this.write(route, current, this.checkBody(route, obj));
  }

  private remove(route: Route, options: { preconditions?: { uid?: string; resourceVersion?: string } }): KubeObject {
    const current = this.getOr404(route);
    const pre = options.preconditions ?? {};
    if (pre.uid && pre.uid !== current.metadata.uid) throw errors.conflict(route.resource, current.metadata.name);
    if (pre.resourceVersion && pre.resourceVersion !== current.metadata.resourceVersion) throw errors.conflict(route.resource, current.metadata.name);
    return this.store.delete(route.resource, route.namespace, route.name!)!;
  }

  private watch(req: IncomingMessage, res: ServerResponse, route: Route, url: URL): void {
    const r = route.resource;
    const labels = parseLabelSelector(url.searchParams.get('labelSelector'));
    const fields = parseFieldSelector(url.searchParams.get('fieldSelector'), r.fieldLabels, r.kind);
    const matches = (o: KubeObject) =>
      (!route.namespace || o.metadata.namespace === route.namespace) && labelsMatch(labels, o.metadata.labels) && fieldsMatch(fields, o);
    const rvParam = url.searchParams.get('resourceVersion');
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
    res.flushHeaders();
    const sendEvent = (type: string, object: unknown) => res.write(JSON.stringify({ type, object }) + '\n');
    const translate = (e: StoredEvent) => {
      if (e.resource !== r) return;
      const now = matches(e.object);
      const before = e.previous ? matches(e.previous) : false;
      if (e.type === 'MODIFIED') {
        if (now && before) sendEvent('MODIFIED', e.object);
        else if (now) sendEvent('ADDED', e.object);
        else if (before) sendEvent('DELETED', e.object);
      } else if (now) sendEvent(e.type, e.object);
    };
    if (!rvParam || rvParam === '0') {
      for (const o of this.store.list(r, route.namespace)) if (matches(o)) sendEvent('ADDED', o);
    } else {
      const rv = Number(rvParam);
      const events = Number.isInteger(rv) ? this.store.eventsSince(r, rv) : undefined;
      if (!events) {
        sendEvent('ERROR', errors.gone(`too old resource version: ${rvParam} (${this.store.oldestResumable})`).status);
        return void res.end();
      }
      events.forEach(translate);
    }
    const unsubscribe = this.store.subscribe(translate);
    const timeout = Number(url.searchParams.get('timeoutSeconds') ?? 1800);
    const timer = setTimeout(() => res.end(), timeout * 1000);
    const bookmarks =
      url.searchParams.get('allowWatchBookmarks') === 'true'
        ? setInterval(
            () => sendEvent('BOOKMARK', { kind: r.kind, apiVersion: apiVersionOf(r), metadata: { resourceVersion: String(this.store.resourceVersion) } }),
            30_000,
          )
        : undefined;
    const close = () => {
      unsubscribe();
      clearTimeout(timer);
      if (bookmarks) clearInterval(bookmarks);
    };
    req.on('close', close);
    res.on('close', close);
  }
}

function parseRoute(segs: string[]): Route | undefined {
  let group: string;
  let version: string;
  let rest: string[];
  if (segs[0] === 'api' && segs[1]) [group, version, rest] = ['', segs[1], segs.slice(2)];
  else if (segs[0] === 'apis' && segs[1] && segs[2]) [group, version, rest] = [segs[1], segs[2], segs.slice(3)];
  else return undefined;
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3 && findResource(group, version, rest[2]!)?.namespaced) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const resource = findResource(group, version, rest[0] ?? '');
  if (!resource || rest.length > 3) return undefined;
  if (namespace && !resource.namespaced) return undefined;
  // A named namespaced object needs its namespace in the path.
  if (resource.namespaced && !namespace && rest.length > 1) return undefined;
  return { resource, namespace, name: rest[1], subresource: rest[2] };
}

function verbOf(method: string, route: Route, url: URL): string {
  const watch = url.searchParams.get('watch');
  if (method === 'GET') return route.name ? 'get' : watch === 'true' || watch === '1' ? 'watch' : 'list';
  return ({ POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' } as Record<string, string>)[method] ?? method.toLowerCase();
}

function decodeContinue(token: string): number {
  try {
    const offset = (JSON.parse(Buffer.from(token, 'base64url').toString()) as { offset?: unknown }).offset;
    if (typeof offset === 'number' && offset >= 0) return offset;
  } catch {
    /* fall through */
  }
  throw errors.badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
}

/** Secrets keep `data` base64-encoded; `stringData` is merged into it on write, as the API server does. */
function encodeStringData(obj: KubeObject): KubeObject {
  const stringData = obj.stringData as Record<string, string> | undefined;
  if (!stringData) return obj;
  const { stringData: _, ...rest } = obj;
  const data = { ...((obj.data as Record<string, string> | undefined) ?? {}) };
  for (const [k, v] of Object.entries(stringData)) data[k] = Buffer.from(String(v)).toString('base64');
  return { ...rest, data } as KubeObject;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(errors.badRequest('request entity too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseJson(raw: Buffer): unknown {
  if (!raw.length) throw errors.badRequest('the request body is empty');
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw errors.badRequest(`the body of the request was not valid JSON: ${(err as Error).message}`);
  }
}

function send(res: ServerResponse, code: number, doc: unknown): void {
  const text = JSON.stringify(doc);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function sendText(res: ServerResponse, code: number, text: string): void {
  res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(text);
}

function sendOr404(res: ServerResponse, doc: unknown): void {
  if (doc) send(res, 200, doc);
  else send(res, 404, errors.pathNotFound().status);
}
