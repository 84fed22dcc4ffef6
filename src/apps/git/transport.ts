/**
 * The git transport over SSH as registry commands: `git-upload-pack`, `git-upload-archive` and
 * `git-receive-pack` run the real git binary on the session's streams. Access is each command's
 * per-repository `authorize` (read-only to fetch, read-write to push), as for every other command;
 * the SSH front-end only hands over the streams and passes git's exit status back to the client.
 */
import { z } from 'zod';
import { pipeCoalesced } from '../../core/coalesce.ts';
import { NotFound, PermissionDenied, Unavailable, UsageError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { CommandContext } from '../../ops/context.ts';
import type { OpsEventsPort, PushedRefs } from '../../ops/events/index.ts';
import { defineCommand, type AnyCommand } from '../../ops/registry.ts';
import type { AccessLevel } from './access.ts';
import { idleWatch } from './idle.ts';
import { repoName } from './names.ts';
import { BUSY_MESSAGE, clientKey, type GitProcessLimit } from './process-limit.ts';
import { summarizePush } from './push-summary.ts';
import type { GitQuota } from './quota.ts';
import type { GitRepos } from './repos.ts';
import type { GitAccess } from './service.ts';
import type { RepoStore } from './store.ts';

export const GIT_SERVICES = ['git-upload-pack', 'git-upload-archive', 'git-receive-pack'] as const;
export type GitService = (typeof GIT_SERVICES)[number];

/** What GIT_PROTOCOL may hold (`version=2`, colon-separated key=value pairs). */
const GIT_PROTOCOL = /^[A-Za-z0-9._=:-]{1,64}$/;

export interface TransportDeps {
  store: RepoStore;
  repos: GitRepos;
  access: GitAccess;
  events: Pick<OpsEventsPort, 'emit'>;
  quota: GitQuota;
  log: Logger;
  /** git processes serving clients, shared with smart HTTP. */
  processes: GitProcessLimit;
  /** A transport with no bytes either way for this long is ended (git.idleTimeout). */
  idleMs: number;
}

/**
 * Runs `git SERVICE DIR` on the session's streams; resolves with git's exit status. Refused at once
 * (Unavailable) over the process bound; ended when neither side sends anything for idleMs.
 */
function runService(
  deps: TransportDeps,
  ctx: CommandContext,
  service: GitService,
  name: string,
  o: { gitConfig?: string[]; onStdout?: (chunk: Buffer) => void } = {},
): Promise<number> {
  const io = ctx.io!;
  const release = deps.processes.acquire(clientKey(ctx.actor));
  if (!release) throw new Unavailable(BUSY_MESSAGE);
  const env: Record<string, string> = {};
  const protocol = io.env?.GIT_PROTOCOL;
  if (protocol !== undefined && GIT_PROTOCOL.test(protocol)) env.GIT_PROTOCOL = protocol;
  const child = deps.repos.spawn([...(o.gitConfig ?? []), service.slice(4), deps.repos.path(name)], env);
  return new Promise((resolve) => {
    let idled = false;
    const idle = idleWatch(deps.idleMs, () => {
      idled = true;
      child.kill('SIGKILL');
    });
    const onAbort = () => child.kill('SIGKILL');
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    // The client's stdin ends when it has sent everything; git may exit first (nothing to fetch).
    child.stdin!.on('error', () => undefined);
    io.stdin.pipe(child.stdin!);
    // In whole SSH packets: git writes its pack in small pieces (src/core/coalesce.ts).
    if (service !== 'git-receive-pack') io.bulkOutput?.();
    pipeCoalesced(child.stdout!, io.stdout);
    if (o.onStdout) child.stdout!.on('data', o.onStdout);
    child.stderr!.pipe(io.stderr, { end: false });
    // Listeners added after the pipes see the same chunks (a silent client, or one that stops reading, touches nothing).
    io.stdin.on('data', idle.touch);
    child.stdout!.on('data', idle.touch);
    let spawnError: Error | undefined;
    child.on('error', (err) => (spawnError = err));
    child.on('close', (code, signal) => {
      idle.stop();
      release();
      ctx.signal.removeEventListener('abort', onAbort);
      io.stdin.off('data', idle.touch);
      io.stdin.unpipe(child.stdin!);
      if (spawnError) {
        deps.log.error({ err: spawnError, service }, 'git could not start');
        io.stderr.write('error: git could not start on the server\n');
        return resolve(1);
      }
      if (idled) {
        io.stderr.write(`error: nothing sent or read for ${Math.round(deps.idleMs / 1000)}s: closing\n`);
        return resolve(1);
      }
      resolve(code ?? (signal ? 128 + 9 : 1));
    });
  });
}

/** Looks for `text` in a stream fed chunk by chunk, keeping only a tail as long as the text. */
function watchFor(text: string): { feed: (chunk: Buffer) => void; seen: () => boolean } {
  let tail = '';
  let found = false;
  return {
    feed: (chunk) => {
      if (found) return;
      const window = tail + chunk.toString('latin1');
      found = window.includes(text);
      tail = window.slice(-text.length);
    },
    seen: () => found,
  };
}

export function transportCommands(deps: TransportDeps): AnyCommand[] {
  const make = (service: GitService, needed: AccessLevel, summary: string) =>
    defineCommand({
      path: [service],
      summary,
      details: 'Run by git itself (git clone/fetch/push ssh://HOST/NAME), not by hand.',
      args: z.object({ repo: z.string().describe('the repository path git asks for') }),
      positionals: ['repo'],
      permission: 'git.read',
      anonymous: needed !== 'read-write' || deps.access.anonAccess === 'read-write',
      protocol: true,
      mutating: needed === 'read-write',
      needsIO: true,
      surfaces: ['ssh'],
      results: ['streamed'],
      async authorize(ctx, args) {
        const repo = await deps.access.require(ctx.actor, args.repo, needed);
        if (needed === 'read-write' && repo.mirrorUrl) throw new PermissionDenied(`'${repo.name}' is a mirror of ${repo.mirrorUrl}: it takes no pushes`);
      },
      async run(ctx, args) {
        if (!ctx.io) throw new UsageError(`${service} needs the session's streams`);
        const name = repoName(args.repo);
        if (service !== 'git-receive-pack') {
          const status = await runService(deps, ctx, service, name);
          return { kind: 'streamed', exitStatus: status, json: { repo: name, service, status } };
        }
        const repo = await deps.store.get(name);
        if (!repo) throw new NotFound(`no repository '${name}'`);
        const allowance = await deps.quota.allowPush(repo, ctx.signal);
        let status: number;
        let pushed: PushedRefs | undefined;
        try {
          // Past the bounds of one read (16 MiB of refs, 30 s) the push still runs, unannounced.
          const before = await deps.repos.refMap(name, ctx.signal).catch((err: unknown) => {
            deps.log.warn({ err, repo: name }, 'could not list refs before a push: it will not be announced');
            return undefined;
          });
          // git reports "pack exceeds maximum allowed size" (in its status report, exit 0) and not
          // why: the limit may be the owner's quota. Its report is watched for that line.
          const tooLarge = watchFor('pack exceeds maximum allowed size');
          status = await runService(deps, ctx, service, name, { gitConfig: ['-c', `receive.maxInputSize=${allowance.limit}`], onStdout: tooLarge.feed });
          if (tooLarge.seen()) ctx.io.stderr.write(`labd: push refused: ${allowance.reason}\n`);
          if (before) pushed = await announcePush(deps, ctx, name, before);
        } finally {
          allowance.release();
        }
        return { kind: 'streamed', exitStatus: status, json: { repo: name, service, status, pushed } };
      },
    });
  return [
    make('git-upload-pack', 'read-only', 'Serve git clone and fetch'),
    make('git-upload-archive', 'read-only', 'Serve git archive --remote'),
    make('git-receive-pack', 'read-write', 'Receive git push'),
  ];
}

/**
 * Compares the refs after a push with those before and emits ONE ops event for the push, with
 * counts: three git processes whatever the number of refs (two ref listings, one commit count).
 * Nothing is announced when the client went away (the session's signal stops the git processes).
 */
async function announcePush(deps: TransportDeps, ctx: CommandContext, name: string, before: Map<string, string>): Promise<PushedRefs | undefined> {
  if (ctx.signal.aborted) return undefined;
  try {
    const after = await deps.repos.refMap(name, ctx.signal);
    const { refs, firstRef, newIds } = summarizePush(before, after);
    if (!refs.total) return refs;
    // New to the repository: reachable from a ref the push set, and from no ref there was before it.
    const commits = newIds.size ? await deps.repos.countCommits(name, newIds, new Set(before.values()), ctx.signal) : 0;
    await deps.events.emit({ kind: 'git.pushed', repo: name, ref: firstRef, commits, by: ctx.actor.name, refs });
    return refs;
  } catch (err) {
    deps.log.warn({ err, repo: name }, 'could not compare refs after a push');
    return undefined;
  }
}
