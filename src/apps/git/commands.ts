import { z } from 'zod';
import { NotFound, UsageError } from '../../core/errors.ts';
import type { IdentityStore } from '../../ops/identity/store.ts';
import { defineCommand, type AnyCommand } from '../../ops/registry.ts';
import { MAX_LOG, MAX_REFS, REFS_PAGE, repoBlob, repoBranches, repoInfo, repoLog, repoLs, repoShow, repoTags, repoTree, type RepoJson } from './api.ts';
import { ACCESS_LEVELS, type AccessLevel } from './access.ts';
import { refName, repoName, treePath } from './names.ts';
import type { GitRepos } from './repos.ts';
import type { GitAccess } from './service.ts';
import type { RepoMeta, RepoStore } from './store.ts';

/** Bytes of a file `repo blob` prints inline on surfaces without a stdout, and the most it prints at all with --lines. */
const BLOB_INLINE_LIMIT = 1024 * 1024;

export interface GitCommandDeps {
  store: RepoStore;
  repos: GitRepos;
  access: GitAccess;
  identities: Pick<IdentityStore, 'requireUser'>;
  /** git.quota.repos: repositories one user may create. */
  maxReposPerUser: number;
  /** ssh://HOST:PORT (clone URLs shown by `repo info`). */
  sshUrl: string;
  publicUrl: string;
}

const name = z.string().describe('repository name, e.g. dotfiles or tools/cli');
const bool = z.enum(['true', 'false']);
const level = z.enum(ACCESS_LEVELS);

export function repoJson(deps: Pick<GitCommandDeps, 'sshUrl' | 'publicUrl'>, r: RepoMeta, access?: AccessLevel): RepoJson {
  return {
    name: r.name,
    projectName: r.projectName,
    description: r.description,
    private: r.private,
    hidden: r.hidden,
    mirror: r.mirrorUrl,
    cloneSsh: `${deps.sshUrl}/${r.name}.git`,
    cloneHttp: `${deps.publicUrl}/git/${r.name}.git`,
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt?.toISOString() ?? null,
    ...(access ? { access } : {}),
  };
}

export function gitCommands(deps: GitCommandDeps): AnyCommand[] {
  const { store, repos, access } = deps;
  const asAdmin = (ctx: { actor: Parameters<GitAccess['require']>[0] }, args: { name: string }) =>
    access.require(ctx.actor, args.name, 'admin').then(() => undefined);
  const asReader = (ctx: { actor: Parameters<GitAccess['require']>[0] }, args: { name: string }) =>
    access.require(ctx.actor, args.name, 'read-only').then(() => undefined);

  async function mustGet(input: string): Promise<RepoMeta> {
    const repo = await store.get(repoName(input));
    if (!repo) throw new NotFound(`no repository '${repoName(input)}'`);
    return repo;
  }

  const create = defineCommand({
    path: ['repo', 'create'],
    summary: 'Create an empty repository (you become its admin)',
    args: z.object({
      name,
      private: z.boolean().default(false).describe('only collaborators and admins see it'),
      hidden: z.boolean().default(false).describe('left out of repo ls and the web list'),
      description: z.string().max(500).default('').describe('one line about it'),
      projectName: z.string().max(100).default('').describe('a display name'),
    }),
    positionals: ['name'],
    permission: 'git.write',
    mutating: true,
    results: ['record'],
    async authorize(ctx) {
      if (!(await access.mayCreate(ctx.actor))) throw new NotFound('you may not create repositories');
    },
    async run(ctx, args) {
      const n = repoName(args.name);
      const repo = await store.create(
        {
          name: n,
          projectName: args.projectName,
          description: args.description,
          private: args.private,
          hidden: args.hidden,
          mirrorUrl: null,
          createdBy: ctx.actor.userId,
        },
        deps.maxReposPerUser,
      );
      try {
        await repos.init(n);
      } catch (err) {
        await store.remove(n);
        throw err;
      }
      if (ctx.actor.userId !== null) await store.setCollaborator(n, ctx.actor.userId, 'admin');
      return repoRecord(repo, 'admin');
    },
  });

  function repoRecord(repo: RepoMeta, level?: AccessLevel) {
    const json = repoJson(deps, repo, level);
    return {
      kind: 'record' as const,
      title: repo.name,
      fields: [
        { label: 'name', value: repo.name },
        ...(repo.projectName ? [{ label: 'project', value: repo.projectName }] : []),
        { label: 'description', value: repo.description },
        { label: 'private', value: repo.private ? 'yes' : 'no' },
        { label: 'hidden', value: repo.hidden ? 'yes' : 'no' },
        ...(repo.mirrorUrl ? [{ label: 'mirror of', value: repo.mirrorUrl }] : []),
        ...(level ? [{ label: 'your access', value: level }] : []),
        { label: 'clone (ssh)', value: json.cloneSsh },
        { label: 'clone (http)', value: json.cloneHttp },
      ],
      json,
    };
  }

  const ls = defineCommand(repoLs, {
    summary: 'List the repositories you may read',
    permission: 'git.read',
    mutating: false,
    results: ['table'],
    async run(ctx, args) {
      const list = await access.readable(ctx.actor, args.all);
      const rows = list.map(({ repo, level }) => ({
        name: repo.name,
        access: level,
        private: repo.private ? 'yes' : '',
        hidden: repo.hidden ? 'yes' : '',
        mirror: repo.mirrorUrl ? 'yes' : '',
        description: repo.description,
      }));
      return {
        kind: 'table',
        columns: [
          { key: 'name', label: 'NAME' },
          { key: 'access', label: 'ACCESS' },
          { key: 'private', label: 'PRIVATE' },
          ...(args.all ? [{ key: 'hidden', label: 'HIDDEN' }] : []),
          { key: 'mirror', label: 'MIRROR' },
          { key: 'description', label: 'DESCRIPTION' },
        ],
        rows,
        empty: 'no repositories (make one with: repo create NAME)',
        json: list.map(({ repo, level }) => repoJson(deps, repo, level)),
      };
    },
  });

  const info = defineCommand(repoInfo, {
    summary: 'Show a repository and your access to it',
    positionals: ['name'],
    permission: 'git.read',
    mutating: false,
    results: ['record'],
    authorize: asReader,
    async run(ctx, args) {
      const repo = await mustGet(args.name);
      return repoRecord(repo, await access.levelOn(ctx.actor, repo, repo.name));
    },
  });

  const rm = defineCommand({
    path: ['repo', 'rm'],
    summary: 'Delete a repository and everything in it',
    args: z.object({ name }),
    positionals: ['name'],
    permission: 'git.read',
    mutating: true,
    destructive: true,
    results: ['message'],
    authorize: asAdmin,
    async run(_ctx, args) {
      const repo = await mustGet(args.name);
      await store.remove(repo.name);
      repos.remove(repo.name);
      return { kind: 'message', text: `removed ${repo.name}`, json: { name: repo.name, removed: true } };
    },
  });

  const rename = defineCommand({
    path: ['repo', 'rename'],
    summary: 'Rename a repository',
    args: z.object({ name, to: z.string().describe('the new name') }),
    positionals: ['name', 'to'],
    permission: 'git.read',
    mutating: true,
    results: ['message'],
    authorize: asAdmin,
    async run(_ctx, args) {
      const repo = await mustGet(args.name);
      const to = repoName(args.to);
      if (to === repo.name) throw new UsageError('the new name is the old one');
      await store.rename(repo.name, to);
      try {
        repos.move(repo.name, to);
      } catch (err) {
        await store.rename(to, repo.name);
        throw err;
      }
      return { kind: 'message', text: `renamed ${repo.name} to ${to}`, json: { name: to, previous: repo.name } };
    },
  });

  const flagCommand = (word: 'private' | 'hidden', summary: string) =>
    defineCommand({
      path: ['repo', word],
      summary,
      args: z.object({ name, value: bool.optional().describe('true or false (none: show it)') }),
      positionals: ['name', 'value'],
      permission: 'git.read',
      mutating: true,
      results: ['message'],
      async authorize(ctx, args) {
        await access.require(ctx.actor, args.name, args.value === undefined ? 'read-only' : 'admin');
      },
      async run(_ctx, args) {
        let repo = await mustGet(args.name);
        if (args.value !== undefined) repo = (await store.update(repo.name, { [word]: args.value === 'true' }))!;
        return { kind: 'message', text: `${repo.name}: ${word} ${repo[word]}`, json: { name: repo.name, [word]: repo[word] } };
      },
    });

  /** `repo description` and `repo project-name`: show the text, or set it (admin of the repo). */
  const textCommand = (word: 'description' | 'project-name', field: 'description' | 'projectName', label: string, max: number) =>
    defineCommand({
      path: ['repo', word],
      summary: `Show or set the ${label} of a repository`,
      args: z.object({ name, text: z.array(z.string()).default([]).describe(`the new ${label} (none: show it)`) }),
      positionals: ['name', 'text'],
      permission: 'git.read',
      mutating: true,
      results: ['message'],
      async authorize(ctx, args) {
        await access.require(ctx.actor, args.name, args.text.length ? 'admin' : 'read-only');
      },
      async run(_ctx, args) {
        let repo = await mustGet(args.name);
        const text = args.text.join(' ');
        if (text.length > max) throw new UsageError(`${label}: at most ${max} characters`);
        if (args.text.length) repo = (await store.update(repo.name, { [field]: text }))!;
        return { kind: 'message', text: repo[field] || `(no ${label})`, json: { name: repo.name, [field]: repo[field] } };
      },
    });
  const description = textCommand('description', 'description', 'description', 500);
  const projectName = textCommand('project-name', 'projectName', 'project name', 100);

  const collabAdd = defineCommand({
    path: ['repo', 'collab', 'add'],
    summary: 'Give a user access to a repository (default read-write)',
    args: z.object({
      name,
      user: z.string().describe('a labd user'),
      level: level.default('read-write').describe('no-access, read-only, read-write or admin'),
    }),
    positionals: ['name', 'user', 'level'],
    permission: 'git.read',
    mutating: true,
    results: ['message'],
    authorize: asAdmin,
    async run(_ctx, args) {
      const repo = await mustGet(args.name);
      const user = await deps.identities.requireUser(args.user);
      await store.setCollaborator(repo.name, user.id, args.level);
      return { kind: 'message', text: `${user.name} has ${args.level} on ${repo.name}`, json: { name: repo.name, user: user.name, level: args.level } };
    },
  });

  const collabRm = defineCommand({
    path: ['repo', 'collab', 'rm'],
    summary: 'Take a collaborator off a repository',
    args: z.object({ name, user: z.string().describe('a labd user') }),
    positionals: ['name', 'user'],
    permission: 'git.read',
    mutating: true,
    results: ['message'],
    authorize: asAdmin,
    async run(_ctx, args) {
      const repo = await mustGet(args.name);
      const user = await deps.identities.requireUser(args.user);
      if (!(await store.removeCollaborator(repo.name, user.id))) throw new NotFound(`${user.name} is not a collaborator on ${repo.name}`);
      return { kind: 'message', text: `${user.name} is no longer a collaborator on ${repo.name}`, json: { name: repo.name, user: user.name, removed: true } };
    },
  });

  const collabLs = defineCommand({
    path: ['repo', 'collab', 'ls'],
    summary: "List a repository's collaborators",
    args: z.object({ name }),
    positionals: ['name'],
    permission: 'git.read',
    mutating: false,
    results: ['table'],
    authorize: asAdmin,
    async run(_ctx, args) {
      const repo = await mustGet(args.name);
      const list = await store.collaborators(repo.name);
      return {
        kind: 'table',
        columns: [
          { key: 'user', label: 'USER' },
          { key: 'level', label: 'LEVEL' },
        ],
        rows: list.map((c) => ({ user: c.user, level: c.level })),
        empty: 'no collaborators',
        json: list.map((c) => ({ user: c.user, level: c.level })),
      };
    },
  });

  const tree = defineCommand(repoTree, {
    summary: 'List the files of a repository (at PATH, on --ref; a file: its own entry, as ls FILE)',
    positionals: ['name', 'path'],
    permission: 'git.read',
    mutating: false,
    results: ['table'],
    authorize: asReader,
    async run(_ctx, args) {
      const repo = await mustGet(args.name);
      const entries = await repos.tree(repo.name, refName(args.ref), treePath(args.path));
      return {
        kind: 'table',
        columns: [
          { key: 'mode', label: 'MODE' },
          { key: 'type', label: 'TYPE' },
          { key: 'size', label: 'SIZE' },
          { key: 'path', label: 'PATH' },
        ],
        rows: entries.map((e) => ({ mode: e.mode, type: e.type, size: e.size ?? '', path: e.type === 'tree' ? `${e.path}/` : e.path })),
        empty: '(empty folder)',
        json: entries,
      };
    },
  });

  const blob = defineCommand(repoBlob, {
    summary: 'Print a file of a repository',
    positionals: ['name', 'path'],
    permission: 'git.read',
    mutating: false,
    results: ['message', 'streamed'],
    authorize: asReader,
    async run(ctx, args) {
      const repo = await mustGet(args.name);
      const path = treePath(args.path);
      if (!path) throw new UsageError('give the path of a file');
      const { spec, size } = await repos.blobSize(repo.name, refName(args.ref), path);
      const json = { name: repo.name, path, size };
      if (ctx.io && !ctx.json && !args.lines) {
        const child = repos.catBlob(repo.name, spec);
        const onAbort = () => child.kill('SIGKILL');
        ctx.signal.addEventListener('abort', onAbort, { once: true });
        child.stdout!.pipe(ctx.io.stdout, { end: false });
        await new Promise<void>((resolve) => child.on('close', () => resolve()));
        ctx.signal.removeEventListener('abort', onAbort);
        return { kind: 'streamed', json };
      }
      const head = await repos.blobHead(repo.name, spec, BLOB_INLINE_LIMIT);
      if (head.subarray(0, 8000).includes(0)) return { kind: 'message', text: `(binary file, ${size} bytes)`, json: { ...json, binary: true } };
      let text = head.toString('utf8');
      if (args.lines) {
        const lines = text.replace(/\n$/, '').split('\n');
        const width = String(lines.length).length;
        text = lines.map((l, i) => `${String(i + 1).padStart(width)}  ${l}`).join('\n');
      }
      const more = size > BLOB_INLINE_LIMIT ? `\n… (${size} bytes in all)` : '';
      return { kind: 'message', text: text + more, json: { ...json, binary: false, text: head.toString('utf8'), truncated: size > BLOB_INLINE_LIMIT } };
    },
  });

  const log = defineCommand(repoLog, {
    summary: 'Show the commits of a repository',
    positionals: ['name'],
    short: { n: 'count' },
    permission: 'git.read',
    mutating: false,
    results: ['table'],
    authorize: asReader,
    async run(_ctx, args) {
      const repo = await mustGet(args.name);
      const commits = await repos.log(repo.name, refName(args.ref), args.count);
      return {
        kind: 'table',
        columns: [
          { key: 'id', label: 'COMMIT' },
          { key: 'date', label: 'DATE' },
          { key: 'author', label: 'AUTHOR' },
          { key: 'subject', label: 'SUBJECT' },
        ],
        rows: commits.map((c) => ({ id: c.id.slice(0, 10), date: c.date.toISOString().slice(0, 16).replace('T', ' '), author: c.author, subject: c.subject })),
        empty: 'no commits',
        json: commits.map((c) => ({ ...c, date: c.date.toISOString() })),
      };
    },
  });

  const refsCommand = (word: 'branches' | 'tags', kind: 'heads' | 'tags') =>
    defineCommand(word === 'branches' ? repoBranches : repoTags, {
      summary: `List the ${word} of a repository`,
      positionals: ['name'],
      short: { n: 'count' },
      permission: 'git.read',
      mutating: false,
      results: ['table'],
      authorize: asReader,
      async run(ctx, args) {
        const repo = await mustGet(args.name);
        const after = args.after === undefined ? undefined : refName(args.after);
        const { refs, more } = await repos.refsPage(repo.name, kind, { after, limit: args.count, signal: ctx.signal });
        const next = more ? [{ name: `(more: repo ${word} ${repo.name} --after ${refs[refs.length - 1]!.name})`, id: '', date: '', subject: '' }] : [];
        return {
          kind: 'table',
          columns: [
            { key: 'name', label: 'NAME' },
            { key: 'id', label: 'COMMIT' },
            { key: 'date', label: 'DATE' },
            { key: 'subject', label: 'SUBJECT' },
          ],
          rows: [...refs.map((r) => ({ name: r.name, id: r.id.slice(0, 10), date: r.date.toISOString().slice(0, 10), subject: r.subject })), ...next],
          empty: `no ${word}`,
          json: refs.map((r) => ({ ...r, date: r.date.toISOString() })),
        };
      },
    });

  const show = defineCommand(repoShow, {
    summary: 'Show one commit with its diff',
    positionals: ['name', 'commit'],
    permission: 'git.read',
    mutating: false,
    results: ['message'],
    authorize: asReader,
    async run(_ctx, args) {
      const repo = await mustGet(args.name);
      const c = await repos.show(repo.name, refName(args.commit), 2 * 1024 * 1024);
      const text = [
        `commit ${c.info.id}`,
        `Author: ${c.info.author} <${c.info.email}>`,
        `Date:   ${c.info.date.toISOString()}`,
        '',
        `    ${c.info.subject}`,
        ...(c.body ? ['', ...c.body.split('\n').map((l) => `    ${l}`)] : []),
        '',
        c.truncated ? '(the diff is too large to show; its summary:)\n' + c.patch : c.patch,
      ].join('\n');
      return {
        kind: 'message',
        text,
        json: { ...c.info, date: c.info.date.toISOString(), body: c.body, parents: c.parents, patch: c.patch, truncated: c.truncated },
      };
    },
  });

  return [
    show,
    create,
    ls,
    info,
    rm,
    rename,
    flagCommand('private', 'Show or set whether a repository is private'),
    flagCommand('hidden', 'Show or set whether a repository is hidden from lists'),
    description,
    projectName,
    collabAdd,
    collabRm,
    collabLs,
    tree,
    blob,
    log,
    refsCommand('branches', 'heads'),
    refsCommand('tags', 'tags'),
  ];
}
