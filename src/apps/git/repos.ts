/**
 * The bare repositories on disk, read and written only through the `git` CLI: each read is one
 * short git process whose output is bounded, so a large repository is never loaded into memory.
 * Names reaching this file went through `repoName` already; refs through `refName`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, rmdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Failed, NotFound, UsageError } from '../../core/errors.ts';

/** The environment every git process gets: nothing of labd's own (tokens stay out of hooks and helpers). */
function gitEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    HOME: home,
    LANG: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_ALLOW_PROTOCOL: 'http:https:ssh:git:file',
    ...extra,
  };
}

export interface TreeEntry {
  mode: string;
  type: 'blob' | 'tree' | 'commit';
  id: string;
  size: number | null;
  path: string;
  name: string;
}

export interface CommitInfo {
  id: string;
  author: string;
  email: string;
  date: Date;
  subject: string;
}

export interface RefInfo {
  name: string;
  id: string;
  date: Date;
  subject: string;
}

/** Bytes one read command may return before it is refused (a log, a tree listing, a diff). */
const READ_LIMIT = 16 * 1024 * 1024;
/** Time one read command may take. */
const READ_TIMEOUT_MS = 30_000;

export class GitRepos {
  constructor(
    readonly root: string,
    private readonly binary: string,
  ) {}

  prepare(): void {
    mkdirSync(this.root, { recursive: true, mode: 0o700 });
  }

  path(name: string): string {
    return join(this.root, `${name}.git`);
  }

  exists(name: string): boolean {
    return existsSync(join(this.path(name), 'HEAD'));
  }

  /** Starts git with labd's environment (plus `env`) in no particular directory. */
  spawn(args: string[], env: Record<string, string> = {}): ChildProcess {
    return spawn(this.binary, args, { env: gitEnv(this.root, env), cwd: this.root, stdio: ['pipe', 'pipe', 'pipe'] });
  }

  /** Runs git and collects its stdout (bounded); rejects with its stderr's first line on failure. */
  run(args: string[], o: { maxBytes?: number; timeoutMs?: number; signal?: AbortSignal; env?: Record<string, string>; input?: string } = {}): Promise<Buffer> {
    const maxBytes = o.maxBytes ?? READ_LIMIT;
    return new Promise((resolve, reject) => {
      const child = this.spawn(args, o.env);
      child.stdin!.on('error', () => undefined);
      child.stdin!.end(o.input);
      const chunks: Buffer[] = [];
      let size = 0;
      let err = '';
      let tooLarge = false;
      const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? READ_TIMEOUT_MS);
      const onAbort = () => child.kill('SIGKILL');
      o.signal?.addEventListener('abort', onAbort, { once: true });
      child.stdout!.on('data', (d: Buffer) => {
        size += d.length;
        if (size > maxBytes) {
          tooLarge = true;
          child.kill('SIGKILL');
        } else chunks.push(d);
      });
      child.stderr!.on('data', (d: Buffer) => {
        if (err.length < 4096) err += d.toString();
      });
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(new Failed(`git could not start: ${e.message}`));
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        o.signal?.removeEventListener('abort', onAbort);
        if (tooLarge) return reject(new Failed(`git output larger than ${maxBytes} bytes`));
        if (code === 0) return resolve(Buffer.concat(chunks));
        reject(new GitFailed(signal ? `git ${args[0]} was stopped (${signal})` : err.trim().split('\n')[0] || `git ${args[0]} failed (${code})`));
      });
    });
  }

  private async inRepo(name: string, args: string[], o: { maxBytes?: number; input?: string } = {}): Promise<Buffer> {
    return this.run(['--git-dir', this.path(name), ...args], o);
  }

  async init(name: string): Promise<void> {
    const path = this.path(name);
    if (existsSync(path)) throw new UsageError(`a directory for '${name}' already exists on disk`);
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    await this.run(['init', '--quiet', '--bare', '--initial-branch=main', path]);
  }

  /** `git clone --mirror` (pull mirrors) or `--bare` (one-time imports) from a URL. */
  async cloneFrom(name: string, url: string, mirror: boolean, signal?: AbortSignal): Promise<void> {
    const path = this.path(name);
    if (existsSync(path)) throw new UsageError(`a directory for '${name}' already exists on disk`);
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    try {
      await this.run(['clone', '--quiet', mirror ? '--mirror' : '--bare', '--', url, path], { timeoutMs: 10 * 60_000, signal });
    } catch (err) {
      rmSync(path, { recursive: true, force: true });
      throw err;
    }
  }

  /** The fetch of each mirror still going: the next waits its turn (see fetchMirror). */
  private readonly fetching = new Map<string, Promise<void>>();

  /**
   * Refreshes a mirror from its origin. The schedule and `repo sync` may ask at once, and two fetches
   * in one repository fail on each other's ref locks: they take turns, and each still fetches (a sync
   * asked for during a scheduled fetch sees what the origin has after it).
   */
  async fetchMirror(name: string, signal?: AbortSignal): Promise<void> {
    const previous = this.fetching.get(name) ?? Promise.resolve();
    const mine = previous
      .catch(() => undefined)
      .then(() => this.run(['--git-dir', this.path(name), 'remote', 'update', '--prune'], { timeoutMs: 10 * 60_000, signal }))
      .then(() => undefined);
    this.fetching.set(name, mine);
    try {
      await mine;
    } finally {
      if (this.fetching.get(name) === mine) this.fetching.delete(name);
    }
  }

  remove(name: string): void {
    rmSync(this.path(name), { recursive: true, force: true });
    this.dropEmptyFolder(name);
  }

  move(from: string, to: string): void {
    const target = this.path(to);
    if (existsSync(target)) throw new UsageError(`a directory for '${to}' already exists on disk`);
    mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
    renameSync(this.path(from), target);
    this.dropEmptyFolder(from);
  }

  private dropEmptyFolder(name: string): void {
    const folder = dirname(this.path(name));
    if (folder !== this.root && existsSync(folder) && readdirSync(folder).length === 0) rmdirSync(folder);
  }

  /** The commit id a ref names; NotFound when it names none (also for an empty repository). */
  async resolve(name: string, ref: string): Promise<string> {
    try {
      return (await this.inRepo(name, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`])).toString().trim();
    } catch (err) {
      if (err instanceof GitFailed || err instanceof Failed)
        throw new NotFound(ref === 'HEAD' ? `repository '${name}' is empty` : `no ref '${ref}' in '${name}'`);
      throw err;
    }
  }

  async defaultBranch(name: string): Promise<string> {
    const out = await this.inRepo(name, ['symbolic-ref', '--quiet', '--short', 'HEAD']).catch(() => Buffer.from('main'));
    return out.toString().trim();
  }

  /**
   * Entries of the tree at `path` (''= root) in commit `ref`; for a file, that file's own entry (as
   * `ls FILE` and soft-serve answer); NotFound when there is nothing at `path`.
   */
  async tree(name: string, ref: string, path: string): Promise<TreeEntry[]> {
    const commit = await this.resolve(name, ref);
    const spec = path ? `${commit}:${path}` : `${commit}^{tree}`;
    const type = await this.objectType(name, spec);
    if (!type) throw new NotFound(`no '${path}' in ${ref}`);
    if (type !== 'tree') {
      const slash = path.lastIndexOf('/');
      const entries = await this.tree(name, commit, slash === -1 ? '' : path.slice(0, slash));
      return entries.filter((e) => e.path === path);
    }
    const out = await this.inRepo(name, ['ls-tree', '-z', '--long', '--end-of-options', spec]);
    const entries: TreeEntry[] = [];
    for (const line of out.toString().split('\0')) {
      if (!line) continue;
      const tab = line.indexOf('\t');
      const [mode, type, id, size] = line.slice(0, tab).split(/\s+/);
      const entryName = line.slice(tab + 1);
      entries.push({
        mode: mode!,
        type: type as TreeEntry['type'],
        id: id!,
        size: size === '-' ? null : Number(size),
        name: entryName,
        path: path ? `${path}/${entryName}` : entryName,
      });
    }
    // Folders first, as soft-serve and most forges list them.
    return entries.sort((a, b) =>
      (a.type === 'tree') === (b.type === 'tree') ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.type === 'tree' ? -1 : 1,
    );
  }

  async objectType(name: string, spec: string): Promise<string | undefined> {
    try {
      return (await this.inRepo(name, ['cat-file', '-t', spec])).toString().trim();
    } catch {
      return undefined;
    }
  }

  /** Size of a blob; NotFound when `path` names no file. */
  async blobSize(name: string, ref: string, path: string): Promise<{ spec: string; size: number }> {
    const commit = await this.resolve(name, ref);
    const spec = `${commit}:${path}`;
    const type = await this.objectType(name, spec);
    if (type !== 'blob') throw new NotFound(type === 'tree' ? `'${path}' is a folder` : `no file '${path}' in ${ref}`);
    const size = Number((await this.inRepo(name, ['cat-file', '-s', spec])).toString().trim());
    return { spec, size };
  }

  /** The first `maxBytes` of a blob (the whole of it when smaller). */
  async blobHead(name: string, spec: string, maxBytes: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const child = this.catBlob(name, spec);
      const chunks: Buffer[] = [];
      let size = 0;
      child.stdout!.on('data', (d: Buffer) => {
        if (size >= maxBytes) return;
        chunks.push(d);
        size += d.length;
        if (size >= maxBytes) child.kill('SIGKILL');
      });
      child.on('error', reject);
      child.on('close', () => resolve(Buffer.concat(chunks).subarray(0, maxBytes)));
    });
  }

  /** A git process whose stdout is the blob (for streaming a raw download). */
  catBlob(name: string, spec: string): ChildProcess {
    const child = this.spawn(['--git-dir', this.path(name), 'cat-file', 'blob', spec]);
    child.stdin!.end();
    return child;
  }

  async log(name: string, ref: string, count: number, path?: string): Promise<CommitInfo[]> {
    const commit = await this.resolve(name, ref);
    const out = await this.inRepo(name, ['log', '-z', `--max-count=${count}`, '--format=%H%x1f%an%x1f%ae%x1f%at%x1f%s', commit, '--', ...(path ? [path] : [])]);
    return out
      .toString()
      .split('\0')
      .filter(Boolean)
      .map((line) => {
        const [id, author, email, at, subject] = line.split('\x1f');
        return { id: id!, author: author!, email: email!, date: new Date(Number(at) * 1000), subject: subject ?? '' };
      });
  }

  async refs(name: string, kind: 'heads' | 'tags'): Promise<RefInfo[]> {
    const out = await this.inRepo(name, [
      'for-each-ref',
      '--sort=-creatordate',
      '--format=%(refname:short)%1f%(objectname)%1f%(creatordate:unix)%1f%(contents:subject)',
      `refs/${kind}/`,
    ]);
    return out
      .toString()
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [refName, id, at, subject] = line.split('\x1f');
        return { name: refName!, id: id!, date: new Date(Number(at) * 1000), subject: subject ?? '' };
      });
  }

  /** Every ref and the object it points at (to see what a push changed). */
  async refMap(name: string): Promise<Map<string, string>> {
    const out = await this.inRepo(name, ['for-each-ref', '--format=%(refname) %(objectname)']);
    return new Map(
      out
        .toString()
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split(' ') as [string, string]),
    );
  }

  /** Commits reachable from `to` and from none of `known` (the ids every ref had before a push). */
  async countCommits(name: string, to: string, known: Iterable<string>): Promise<number> {
    const input = [to, ...[...known].map((id) => `^${id}`)].join('\n') + '\n';
    const out = await this.inRepo(name, ['rev-list', '--count', '--stdin'], { input }).catch(() => Buffer.from('0'));
    return Number(out.toString().trim()) || 0;
  }

  /** One commit with its patch, bounded (the web and TUI diff views). */
  async show(name: string, id: string, maxBytes: number): Promise<{ info: CommitInfo; body: string; parents: string[]; patch: string; truncated: boolean }> {
    const commit = await this.resolve(name, id);
    const head = (await this.inRepo(name, ['show', '-s', '-z', '--format=%H%x1f%an%x1f%ae%x1f%at%x1f%s%x1f%P%x1f%b', commit])).toString();
    const [hash, author, email, at, subject, parents, body] = head.replace(/\0$/, '').split('\x1f');
    let patch: Buffer;
    let truncated = false;
    try {
      patch = await this.inRepo(name, ['show', '--format=', '--patch', '--stat', '--no-color', '--no-ext-diff', commit], { maxBytes });
    } catch (err) {
      if (!(err instanceof Failed) || !/larger than/.test(err.message)) throw err;
      patch = await this.inRepo(name, ['show', '--format=', '--stat', '--no-color', commit]);
      truncated = true;
    }
    return {
      info: { id: hash!, author: author!, email: email!, date: new Date(Number(at) * 1000), subject: subject ?? '' },
      body: (body ?? '').trim(),
      parents: (parents ?? '').split(' ').filter(Boolean),
      patch: patch.toString(),
      truncated,
    };
  }
}

/** git ran and said no (bad ref, missing object): a message from git, not labd's fault. */
export class GitFailed extends Failed {}
