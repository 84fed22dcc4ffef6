/** `repo import NAME URL [--mirror]` and `repo sync NAME`, and the job that refreshes pull mirrors. */
import { z } from 'zod';
import { Conflict, LabdError, NotFound, PermissionDenied, UsageError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { defineCommand, type AnyCommand } from '../../ops/registry.ts';
import { intervalJob, type Job } from '../../ops/module.ts';
import { repoJson } from './commands.ts';
import { repoName, shown } from './names.ts';
import type { GitRepos } from './repos.ts';
import { importFailed, type ImportSources } from './import-source.ts';
import type { GitQuota } from './quota.ts';
import type { GitAccess } from './service.ts';
import type { RepoMeta, RepoStore } from './store.ts';

/**
 * A source git may fetch from: http(s), ssh or git URLs, or (admins only) a local path or file://
 * URL, since a path on this host could name another user's private repository. Never git's
 * transport helpers (ext::, fd::), never an option.
 */
export function checkSourceUrl(url: string, isAdmin: boolean): string {
  if (url.length > 1000 || /[\x00-\x20\x7f]/.test(url)) throw new UsageError(`bad URL '${shown(url)}'`);
  if (/^(https?|ssh|git):\/\/[^/]+/i.test(url)) return url;
  if (/^(file:\/\/)?\//.test(url)) {
    if (!isAdmin) throw new PermissionDenied('only admins import from a path on this host');
    return url;
  }
  throw new UsageError(`bad URL '${shown(url)}': expected https://, ssh://, git:// (or, for admins, a local path)`);
}

export function mirrorCommands(deps: {
  store: RepoStore;
  repos: GitRepos;
  access: GitAccess;
  quota: GitQuota;
  sources: ImportSources;
  log: Logger;
  sshUrl: string;
  publicUrl: string;
}): AnyCommand[] {
  const { store, repos, access } = deps;
  const importCmd = defineCommand({
    path: ['repo', 'import'],
    summary: 'Import a repository from a URL (with --mirror: keep it in sync, read-only)',
    args: z.object({
      name: z.string().describe('the new repository name'),
      url: z.string().describe('where to fetch it from'),
      mirror: z.boolean().default(false).describe('a pull mirror: refreshed on a schedule and by repo sync; refuses pushes'),
      private: z.boolean().default(false).describe('only collaborators and admins see it'),
      description: z.string().max(500).default('').describe('one line about it'),
    }),
    positionals: ['name', 'url'],
    permission: 'git.write',
    mutating: true,
    // It waits on a remote (maybe labd's own smart HTTP) while it runs: its writes commit on their own, undone on failure.
    atomic: false,
    results: ['record'],
    async authorize(ctx, args) {
      if (!(await access.mayCreate(ctx.actor))) throw new NotFound('you may not create repositories');
      checkSourceUrl(args.url, ctx.can('admin.users'));
    },
    async run(ctx, args) {
      const name = repoName(args.name);
      const url = checkSourceUrl(args.url, ctx.can('admin.users'));
      const repo = await store.create(
        {
          name,
          projectName: '',
          description: args.description,
          private: args.private,
          hidden: false,
          mirrorUrl: args.mirror ? url : null,
          createdBy: ctx.actor.userId,
        },
        deps.quota.config.repos,
      );
      ctx.progress(`fetching ${url}…`);
      try {
        const env = await deps.sources.pin(url);
        const allowance = await deps.quota.allowImport(ctx.actor.userId, ctx.signal);
        try {
          const limit = { bytes: allowance.limit, error: () => new Conflict(`import refused: ${allowance.reason}; nothing was kept`) };
          await fetchOrFail(deps.log, url, () => repos.cloneFrom(name, url, args.mirror, { signal: ctx.signal, env, limit }));
        } finally {
          allowance.release();
        }
      } catch (err) {
        await store.remove(name);
        throw err;
      }
      try {
        await deps.quota.checkAfterImport(repo, ctx.signal);
      } catch (err) {
        await store.remove(name);
        repos.remove(name);
        throw err;
      }
      if (ctx.actor.userId !== null) await store.setCollaborator(name, ctx.actor.userId, 'admin');
      const json = repoJson(deps, repo, 'admin');
      return {
        kind: 'record',
        title: name,
        fields: [
          { label: 'name', value: name },
          { label: args.mirror ? 'mirror of' : 'imported from', value: url },
          { label: 'clone (ssh)', value: json.cloneSsh },
        ],
        json,
      };
    },
  });
  const sync = defineCommand({
    path: ['repo', 'sync'],
    summary: 'Fetch a pull mirror from its origin now',
    args: z.object({ name: z.string().describe('a mirror repository') }),
    positionals: ['name'],
    permission: 'git.read',
    mutating: true,
    // A fetch from the origin: no transaction held open while the world answers.
    atomic: false,
    results: ['message'],
    async authorize(ctx, args) {
      await access.require(ctx.actor, args.name, 'read-write');
    },
    async run(ctx, args) {
      const repo = await store.get(repoName(args.name));
      if (!repo) throw new NotFound(`no repository '${repoName(args.name)}'`);
      if (!repo.mirrorUrl) throw new UsageError(`'${repo.name}' is not a mirror`);
      const env = await deps.sources.pin(repo.mirrorUrl);
      await fetchMirrorWithin(deps, repo, ctx.signal, env);
      await store.update(repo.name, {});
      return { kind: 'message', text: `${repo.name}: fetched from ${repo.mirrorUrl}`, json: { name: repo.name, mirror: repo.mirrorUrl, synced: true } };
    },
  });
  return [importCmd, sync];
}

/**
 * Runs a fetch; a failure of git becomes the one generic error (`importFailed`): "not found",
 * "connection refused" and TLS errors told apart made imports a port scanner. git's words are logged.
 */
async function fetchOrFail(log: Logger, url: string, fetch: () => Promise<void>): Promise<void> {
  try {
    await fetch();
  } catch (err) {
    if (err instanceof LabdError && err.kind === 'conflict') throw err;
    log.warn({ err, url }, 'git fetch for an import or mirror failed');
    throw importFailed(url);
  }
}

/** A mirror fetch brings at most what a push into the mirror could: its owner's quota holds for mirrors too. */
async function fetchMirrorWithin(
  deps: { repos: GitRepos; quota: GitQuota; log: Logger },
  repo: RepoMeta,
  signal: AbortSignal,
  env: Record<string, string>,
): Promise<void> {
  const allowance = await deps.quota.allowPush(repo, signal, 'mirror fetch');
  try {
    const limit = { bytes: allowance.limit, error: () => new Conflict(`mirror fetch stopped: ${allowance.reason}; the mirror is as it was`) };
    await fetchOrFail(deps.log, repo.mirrorUrl!, () => deps.repos.fetchMirror(repo.name, { signal, env, limit }));
  } finally {
    allowance.release();
  }
}

/** Refreshes every pull mirror, one at a time; a run still going when the next is due is not doubled. */
export function mirrorJob(deps: { store: RepoStore; repos: GitRepos; sources: ImportSources; quota: GitQuota; log: Logger }, everyMs: number): Job {
  let running = false;
  // A new controller per run: the job stops when its replica stops being leader and may start again.
  let abort = new AbortController();
  const tick = () => {
    if (running) return;
    running = true;
    const signal = abort.signal;
    void (async () => {
      for (const repo of await deps.store.list()) {
        if (!repo.mirrorUrl || signal.aborted) continue;
        try {
          // Checked again each time: the name may resolve elsewhere now.
          await fetchMirrorWithin(deps, repo, signal, await deps.sources.pin(repo.mirrorUrl));
          await deps.store.update(repo.name, {});
        } catch (err) {
          deps.log.warn({ err, repo: repo.name }, 'mirror fetch failed');
        }
      }
    })()
      .catch((err: unknown) => deps.log.error({ err }, 'mirror job failed'))
      .finally(() => (running = false));
  };
  const job = intervalJob('git mirrors', everyMs, tick);
  return {
    name: job.name,
    singleton: true,
    start: () => {
      abort = new AbortController();
      job.start();
    },
    stop: () => (abort.abort(), job.stop()),
  };
}
