/**
 * The bare repositories on disk, read and written only through the `git` CLI: each read is one
 * short git process whose output is bounded, so a large repository is never loaded into memory.
 * Names reaching this file went through `repoName` already; refs through `refName`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, rmdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Failed, NotFound } from '../../core/errors.ts';
import { nameTaken } from './names.ts';

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
/** How often a clone's or fetch's packs are measured against its size limit. */
const FETCH_WATCH_MS = 250;

export interface FetchOptions {
  signal?: AbortSignal;
  /** Extra environment for git (the pinning of import-source.ts). */
  env?: Record<string, string>;
  /** Most bytes of packs the fetch may add, and the error when it would add more. */
  limit?: { bytes: number; error: () => Error };
}

function packFiles(path: string): string[] {
  try {
    return readdirSync(join(path, 'objects', 'pack')).map((f) => join(path, 'objects', 'pack', f));
  } catch {
    return [];
  }
}

/** Bytes of the packs (and packs being written) of a repository. */
function packBytes(path: string): number {
  let total = 0;
  for (const file of packFiles(path)) {
    try {
      total += statSync(file).size;
    } catch {
      // Renamed or removed by git meanwhile.
    }
  }
  return total;
}

/** The pack a stopped index-pack left half-written (tmp_pack_*, tmp_idx_*). */
function dropTempPacks(path: string): void {
  for (const file of packFiles(path)) if (/\/tmp_[^/]*$/.test(file)) rmSync(file, { force: true });
}

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

  private async inRepo(name: string, args: string[], o: { maxBytes?: number; input?: string; signal?: AbortSignal } = {}): Promise<Buffer> {
    return this.run(['--git-dir', this.path(name), ...args], o);
  }

  async init(name: string): Promise<void> {
    const path = this.path(name);
    if (existsSync(path)) throw nameTaken(name);
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    await this.run(['init', '--quiet', '--bare', '--initial-branch=main', path]);
  }

  /**
   * `git clone --mirror` (pull mirrors) or `--bare` (one-time imports) from a URL, removed again
   * when it fails or passes `limit`. A local path is fetched as any URL is (--no-local): no hard
   * links into another repository, and the objects arrive as a pack, where the limit sees them.
   */
  async cloneFrom(name: string, url: string, mirror: boolean, o: FetchOptions = {}): Promise<void> {
    const path = this.path(name);
    if (existsSync(path)) throw nameTaken(name);
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    try {
      await this.fetchWithin(path, ['clone', '--quiet', '--no-local', mirror ? '--mirror' : '--bare', '--', url, path], o, true);
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
   * asked for during a scheduled fetch sees what the origin has after it). What arrives is kept as
   * a pack however small (fetch.unpackLimit=1), where the size limit sees it.
   */
  async fetchMirror(name: string, o: FetchOptions = {}): Promise<void> {
    const path = this.path(name);
    const previous = this.fetching.get(name) ?? Promise.resolve();
    const mine = previous
      .catch(() => undefined)
      .then(async () => {
        // What to go back to when the fetch turns out too large once it has finished (a fast one ends between two looks).
        const packsBefore = new Set(packFiles(path));
        const refsBefore = o.limit ? await this.refMap(name, o.signal).catch(() => undefined) : undefined;
        const undo = async () => {
          if (!refsBefore) return;
          await this.restoreRefs(name, refsBefore);
          for (const file of packFiles(path)) if (!packsBefore.has(file)) rmSync(file, { force: true });
        };
        await this.fetchWithin(path, ['-c', 'fetch.unpackLimit=1', '--git-dir', path, 'remote', 'update', '--prune'], o, refsBefore !== undefined, undo);
      });
    this.fetching.set(name, mine);
    try {
      await mine;
    } finally {
      if (this.fetching.get(name) === mine) this.fetching.delete(name);
    }
  }

  /**
   * Runs a clone or fetch into `path`, stopping it once the packs it writes grow past `o.limit`:
   * git has no size limit for fetches (receive.maxInputSize is for pushes). A stopped fetch's
   * half-written pack is removed. `checkAfter`: also refuse one that finished past it, after `undo`.
   */
  private async fetchWithin(path: string, args: string[], o: FetchOptions, checkAfter: boolean, undo?: () => Promise<void>): Promise<void> {
    const limit = o.limit;
    const base = packBytes(path);
    const over = () => limit !== undefined && packBytes(path) - base > limit.bytes;
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    o.signal?.addEventListener('abort', onAbort, { once: true });
    let tooLarge = false;
    const watch = limit
      ? setInterval(() => {
          if (!over()) return;
          tooLarge = true;
          stop.abort();
        }, FETCH_WATCH_MS)
      : undefined;
    try {
      await this.run(args, { timeoutMs: 10 * 60_000, signal: stop.signal, env: o.env });
      if (checkAfter && over()) tooLarge = true;
    } catch (err) {
      if (!tooLarge) throw err;
    } finally {
      clearInterval(watch);
      o.signal?.removeEventListener('abort', onAbort);
    }
    if (tooLarge) {
      dropTempPacks(path);
      await undo?.();
      throw limit!.error();
    }
  }

  /** Puts every ref back where `refs` says (created ones deleted, deleted ones made again), in one transaction. */
  private async restoreRefs(name: string, refs: Map<string, string>): Promise<void> {
    const now = await this.refMap(name);
    const lines: string[] = [];
    for (const [ref, id] of now) if (!refs.has(ref)) lines.push(`delete ${ref} ${id}`);
    for (const [ref, id] of refs) if (now.get(ref) !== id) lines.push(`update ${ref} ${id}`);
    if (lines.length) await this.inRepo(name, ['update-ref', '--stdin'], { input: lines.join('\n') + '\n' });
  }

  remove(name: string): void {
    rmSync(this.path(name), { recursive: true, force: true });
    this.dropEmptyFolder(name);
  }

  move(from: string, to: string): void {
    const target = this.path(to);
    if (existsSync(target)) throw nameTaken(to);
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

  /**
   * One page of a kind of refs in name order: up to `limit` after `after` (exclusive), and whether
   * more follow. git's listing is read as a stream and stopped at the page's end, and dates and
   * subjects (a commit read each) are looked up for the page only: a repository with 100k tags
   * answered its refs page in 11 s with 19 MiB of HTML.
   */
  async refsPage(
    name: string,
    kind: 'heads' | 'tags',
    o: { after?: string; limit: number; signal?: AbortSignal },
  ): Promise<{ refs: RefInfo[]; more: boolean }> {
    const prefix = `refs/${kind}/`;
    const after = o.after === undefined ? undefined : prefix + o.after;
    const names: string[] = [];
    let more = false;
    await this.scan(name, ['for-each-ref', '--format=%(refname)', prefix], o.signal, (line) => {
      if (after !== undefined && line <= after) return true;
      if (names.length === o.limit) {
        more = true;
        return false;
      }
      names.push(line);
      return true;
    });
    if (!names.length) return { refs: [], more };
    const wanted = new Set(names);
    const out = await this.inRepo(name, ['for-each-ref', '--format=%(refname)%1f%(objectname)%1f%(creatordate:unix)%1f%(contents:subject)', ...names], {
      signal: o.signal,
    });
    const refs = out
      .toString()
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [refName, id, at, subject] = line.split('\x1f');
        return { name: refName!.slice(prefix.length), full: refName!, id: id!, date: new Date(Number(at) * 1000), subject: subject ?? '' };
      })
      // A name is also a prefix pattern (refs/tags/v1 matches refs/tags/v1/rc): keep the page's own.
      .filter((x) => wanted.has(x.full))
      .map(({ full: _full, ...ref }) => ref);
    return { refs, more };
  }

  /** Runs a git read and hands each output line to `onLine` until it returns false; then git is stopped. */
  private scan(name: string, args: string[], signal: AbortSignal | undefined, onLine: (line: string) => boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = this.spawn(['--git-dir', this.path(name), ...args]);
      child.stdin!.end();
      child.stderr!.resume();
      let rest = '';
      let done = false;
      const stop = () => {
        done = true;
        child.kill('SIGKILL');
      };
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        stop();
      }, READ_TIMEOUT_MS);
      signal?.addEventListener('abort', stop, { once: true });
      child.stdout!.setEncoding('utf8');
      child.stdout!.on('data', (chunk: string) => {
        if (done) return;
        const lines = (rest + chunk).split('\n');
        rest = lines.pop()!;
        // A line longer than any ref name is not git's listing.
        if (rest.length > 64 * 1024) return stop();
        for (const line of lines) if (line && !onLine(line)) return stop();
      });
      child.on('error', (e) => reject(new Failed(`git could not start: ${e.message}`)));
      child.on('close', () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', stop);
        if (!done && rest) onLine(rest);
        if (signal?.aborted) return reject(new Failed('stopped'));
        if (timedOut) return reject(new Failed(`git ${args[0]} took longer than ${READ_TIMEOUT_MS / 1000} s`));
        resolve();
      });
    });
  }

  /** Bytes the repository's objects take on disk (loose, packed and garbage, as `git count-objects` adds them up). */
  async size(name: string, signal?: AbortSignal): Promise<number> {
    const out = (await this.inRepo(name, ['count-objects', '-v'], { signal })).toString();
    let kib = 0;
    for (const m of out.matchAll(/^(size|size-pack|size-garbage): (\d+)$/gm)) kib += Number(m[2]);
    return kib * 1024;
  }

  /** Every ref and the object it points at (to see what a push changed). */
  async refMap(name: string, signal?: AbortSignal): Promise<Map<string, string>> {
    const out = await this.inRepo(name, ['for-each-ref', '--format=%(refname) %(objectname)'], { signal });
    return new Map(
      out
        .toString()
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split(' ') as [string, string]),
    );
  }

  /** Commits reachable from any of `to` and from none of `known` (the ids every ref had before a push): one git process. */
  async countCommits(name: string, to: Iterable<string>, known: Iterable<string>, signal?: AbortSignal): Promise<number> {
    const input = [...to, ...[...known].map((id) => `^${id}`)].join('\n') + '\n';
    const out = await this.inRepo(name, ['rev-list', '--count', '--stdin'], { input, signal }).catch(() => Buffer.from('0'));
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
