/**
 * Read-only smart HTTP (git's stateless-rpc protocol, as git-http-backend speaks it):
 * `GET /git/NAME.git/info/refs?service=git-upload-pack` and `POST /git/NAME.git/git-upload-pack`.
 * Public repositories are readable when git.anonAccess allows; any repository the user may read
 * with a per-user token (HTTP Basic password or Bearer). Request bodies are bounded; pushes over
 * HTTP are refused (push over SSH).
 */
import type { ChildProcess } from 'node:child_process';
import { PassThrough, Transform } from 'node:stream';
import type { Actor } from '../../core/actor.ts';
import type { Clock } from '../../core/clock.ts';
import { LabdError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { textResponse, type HttpRoute, type RouteRequest, type RouteResponse } from '../../ops/http.ts';
import { idleWatch } from './idle.ts';
import { repoName } from './names.ts';
import { BUSY_MESSAGE, clientKey, type GitProcessLimit } from './process-limit.ts';
import { BadBody, BudgetExhausted, readFetchBody, RequestTooLarge, type ByteBudget } from './request-body.ts';
import type { GitRepos } from './repos.ts';
import type { GitAccess } from './service.ts';
import type { RepoStore } from './store.ts';
import type { TokenActors, TokenRefusal } from '../../ops/tokens/actor.ts';

export const ANONYMOUS_HTTP: Actor = { userId: null, name: 'anonymous', role: 'guest', via: 'http', credential: { kind: 'anonymous' } };

export interface GitHttpDeps {
  store: RepoStore;
  /** Turns a token into its user's actor, checked now (account state, git.read). */
  tokenActors: Pick<TokenActors, 'resolve'>;
  repos: GitRepos;
  access: GitAccess;
  clock: Clock;
  log: Logger;
  maxBody: number;
  /** Request bytes all fetches hold at once (git.httpMaxInflight). */
  inflight: ByteBudget;
  /** git processes serving clients, shared with the SSH transport. */
  processes: GitProcessLimit;
  /** A transport quiet this long is ended (git.idleTimeout). */
  idleMs: number;
}

/**
 * The actor a request speaks for: anonymous without credentials, else the token's user as resolved
 * now (src/ops/tokens/actor.ts: live token, account enabled, git.read held); or the refusal.
 */
export async function httpActor(deps: Pick<GitHttpDeps, 'tokenActors'>, req: RouteRequest): Promise<{ actor: Actor } | TokenRefusal> {
  const auth = req.header('authorization');
  if (!auth) return { actor: { ...ANONYMOUS_HTTP, remoteAddress: req.remoteAddress } };
  let token: string | undefined;
  const basic = /^Basic\s+([A-Za-z0-9+/=]{1,1024})$/i.exec(auth);
  const bearer = /^Bearer\s+([A-Za-z0-9_.-]{1,512})$/i.exec(auth);
  if (basic) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    token = decoded.slice(decoded.indexOf(':') + 1);
  } else if (bearer) token = bearer[1];
  if (!token) return { refused: 'unauthenticated', reason: 'malformed credentials' };
  return deps.tokenActors.resolve(token, 'git', req.remoteAddress);
}

/** The answer to a refused token: 401 asks for credentials again, 403 says why these no longer open anything. */
export function refusedResponse(refusal: TokenRefusal): RouteResponse {
  return refusal.refused === 'forbidden' ? textResponse(403, `${refusal.reason}\n`) : unauthorized();
}

const unauthorized = (): RouteResponse => ({
  status: 401,
  headers: { 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Basic realm="labd git", charset="UTF-8"' },
  body: 'authentication required (a token from: ssh HOST repo token create NAME)\n',
});

function pktLine(text: string): string {
  return (text.length + 4).toString(16).padStart(4, '0') + text;
}

function nameFrom(params: Record<string, string>): string {
  return params.folder ? `${params.folder}/${params.repo}` : params.repo!;
}

/** Resolves the request to a repository the actor may read, or the response that refuses it. */
async function readable(deps: GitHttpDeps, req: RouteRequest): Promise<{ name: string; actor: Actor } | RouteResponse> {
  const resolved = await httpActor(deps, req);
  if ('refused' in resolved) return refusedResponse(resolved);
  const { actor } = resolved;
  try {
    const repo = await deps.access.require(actor, nameFrom(req.params), 'read-only');
    return { name: repo.name, actor };
  } catch (err) {
    // Without credentials a missing and a private repository both ask for them (nothing is revealed).
    if (err instanceof LabdError && err.kind === 'not_found' && actor.credential?.kind === 'anonymous') return unauthorized();
    if (err instanceof LabdError && err.kind === 'usage') return textResponse(400, `${err.message}\n`);
    if (err instanceof LabdError && err.kind === 'not_found') return textResponse(404, `${err.message}\n`);
    if (err instanceof LabdError && err.kind === 'permission') return textResponse(403, `${err.message}\n`);
    throw err;
  }
}

function gitProtocolEnv(req: RouteRequest): Record<string, string> {
  const v = req.header('git-protocol');
  return v && /^[A-Za-z0-9._=:-]{1,64}$/.test(v) ? { GIT_PROTOCOL: v } : {};
}

const noCache = { 'cache-control': 'no-cache, max-age=0, must-revalidate', expires: 'Fri, 01 Jan 1980 00:00:00 GMT', pragma: 'no-cache' };

/** Refused for load, not for the request: the client may try again (git prints the body). */
const busy = (why: string): RouteResponse => ({
  status: 503,
  headers: { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '5', 'x-content-type-options': 'nosniff' },
  body: `${why}\n`,
});

/**
 * git's stdout as the response body, with `head` first: streamed (a many-refs advertisement is
 * not buffered), ended with the process when the client stops reading for idleMs, and the process
 * slot released when git exits.
 */
function streamedGit(deps: GitHttpDeps, child: ChildProcess, release: () => void, head = ''): Pick<RouteResponse, 'body' | 'discard'> {
  const kill = () => child.kill('SIGKILL');
  const body = new PassThrough();
  const idle = idleWatch(deps.idleMs, () => {
    kill();
    body.destroy(new Error('git transport idle'));
  });
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      idle.touch();
      done(null, chunk);
    },
  });
  child.on('close', () => {
    idle.stop();
    release();
  });
  child.on('error', (err) => deps.log.error({ err }, 'git could not start'));
  child.stderr!.resume();
  if (head) body.write(head);
  child.stdout!.pipe(tap).pipe(body);
  body.once('close', () => {
    // The client went away (or was idle): git has nobody to write to.
    if (child.exitCode === null && child.signalCode === null) kill();
  });
  return { body, discard: kill };
}

export function gitHttpRoutes(deps: GitHttpDeps): HttpRoute[] {
  const infoRefs = async (req: RouteRequest): Promise<RouteResponse> => {
    const service = req.query('service');
    if (service === 'git-receive-pack') return textResponse(403, 'pushing over HTTP is not offered: push over SSH\n');
    if (service !== 'git-upload-pack') return textResponse(400, 'only smart HTTP is offered: use git 1.7 or later\n');
    const target = await readable(deps, req);
    if (!('name' in target)) return target;
    const release = deps.processes.acquire(clientKey(target.actor));
    if (!release) return busy(BUSY_MESSAGE);
    const env = gitProtocolEnv(req);
    const child = deps.repos.spawn(['upload-pack', '--stateless-rpc', '--advertise-refs', deps.repos.path(target.name)], env);
    child.stdin!.on('error', () => undefined);
    child.stdin!.end();
    // git-http-backend's framing: protocol v0/v1 answers start with the service line; v2 ones do not.
    const head = /version=2/.test(env.GIT_PROTOCOL ?? '') ? '' : pktLine('# service=git-upload-pack\n') + '0000';
    return {
      status: 200,
      headers: { 'content-type': 'application/x-git-upload-pack-advertisement', ...noCache },
      ...streamedGit(deps, child, release, head),
    };
  };

  const uploadPack = async (req: RouteRequest): Promise<RouteResponse> => {
    if (req.header('content-type') !== 'application/x-git-upload-pack-request') {
      req.discardBody();
      return textResponse(415, 'expected application/x-git-upload-pack-request\n');
    }
    const target = await readable(deps, req);
    if (!('name' in target)) {
      req.discardBody();
      return target;
    }
    const declared = Number(req.header('content-length'));
    if (Number.isFinite(declared) && declared > deps.maxBody) {
      req.discardBody();
      return textResponse(413, `request larger than ${deps.maxBody} bytes\n`);
    }
    let read: { chunks: Buffer[]; release: () => void };
    try {
      read = await readFetchBody(req.bodyStream(), { gzip: req.header('content-encoding') === 'gzip', max: deps.maxBody, budget: deps.inflight });
    } catch (err) {
      if (err instanceof RequestTooLarge) return textResponse(413, `request larger than ${deps.maxBody} bytes\n`);
      if (err instanceof BudgetExhausted) return busy('too many fetch requests in flight: try again shortly');
      if (err instanceof BadBody) return textResponse(400, 'bad request body\n');
      throw err;
    }
    const release = deps.processes.acquire(clientKey(target.actor));
    if (!release) {
      read.release();
      return busy(BUSY_MESSAGE);
    }
    const child = deps.repos.spawn(['upload-pack', '--stateless-rpc', deps.repos.path(target.name)], gitProtocolEnv(req));
    child.stdin!.on('error', () => undefined);
    for (const chunk of read.chunks) child.stdin!.write(chunk);
    // The request's bytes leave the budget once git has them (or is gone).
    child.stdin!.end(() => read.release());
    child.on('close', () => read.release());
    return {
      status: 200,
      headers: { 'content-type': 'application/x-git-upload-pack-result', ...noCache },
      ...streamedGit(deps, child, release),
    };
  };

  const receivePack = (req: RouteRequest): RouteResponse => {
    req.discardBody();
    return textResponse(403, 'pushing over HTTP is not offered: push over SSH\n');
  };

  const routes: HttpRoute[] = [];
  for (const prefix of ['/git/:repo', '/git/:folder/:repo']) {
    routes.push({ method: 'GET', path: `${prefix}/info/refs`, handle: infoRefs });
    routes.push({ method: 'POST', path: `${prefix}/git-upload-pack`, handle: uploadPack });
    routes.push({ method: 'POST', path: `${prefix}/git-receive-pack`, handle: receivePack });
  }
  return routes;
}

/** `repoName` for a route's params, for callers that answer 404 rather than an error. */
export function routeRepoName(params: Record<string, string>): string {
  return repoName(nameFrom(params));
}
