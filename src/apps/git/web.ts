/**
 * The read-only web view: /git/ (list), /git/NAME (README), and under /git/NAME/-/ the tree, a
 * file, the raw bytes, the log, one commit with its diff, and the refs. What a visitor sees is what
 * the access check lets them read (anonymous: public repositories per git.anonAccess; a token's
 * user: theirs). Every value goes through the `html` template; the one trusted markup is
 * highlight.js's output and the sanitised README. No script runs on any page (CSP).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { LabdError } from '../../core/errors.ts';
import type { Highlighter } from '../../core/highlight/index.ts';
import { html, joinHtml, trustedHtml, type SafeHtml } from '../../core/html.ts';
import { textResponse, type HttpRoute, type RouteRequest, type RouteResponse } from '../../ops/http.ts';
import { httpActor, refusedResponse, type GitHttpDeps } from './http.ts';
import { renderMarkdown } from './markdown.ts';
import { refName, treePath } from './names.ts';
import { anonymousNote, BASIC_CHALLENGE, loginText } from './web-login.ts';
import type { AccessLevel } from './access.ts';
import type { TreeEntry } from './repos.ts';
import type { RepoMeta } from './store.ts';

/** Bytes of a file shown on its page (the rest: raw). */
const FILE_PAGE_LIMIT = 1024 * 1024;
const README_LIMIT = 512 * 1024;
const DIFF_LIMIT = 2 * 1024 * 1024;
const LOG_PAGE = 50;
/** Entries of a folder listed on its page (a folder may hold 100k files). */
const TREE_PAGE = 1000;
/** Branches or tags on one refs page. */
const REFS_PAGE = 100;

const require = createRequire(import.meta.url);
const themeCss = (file: string) => readFileSync(require.resolve(`highlight.js/styles/${file}`), 'utf8');

const STYLE = [
  'body{margin:0;font:14px/1.5 system-ui,sans-serif;background:#fff;color:#1f2328}',
  'header,nav,main{padding:.6em 1em}header{border-bottom:1px solid #d0d7de}header h1{font-size:1.2em;margin:0;word-break:break-all}',
  'nav{display:flex;gap:1.2em;border-bottom:1px solid #d0d7de}a{color:#0969da}.muted{color:#59636e}',
  'table{border-collapse:collapse}td,th{padding:.2em .8em .2em 0;text-align:left;vertical-align:top}',
  'pre{margin:0;overflow:auto}pre code.hljs{font:13px/1.45 ui-monospace,monospace;white-space:pre;tab-size:4}',
  'code{font-family:ui-monospace,monospace}.readme{max-width:60em}.readme img{max-width:100%}',
  themeCss('github.min.css'),
  '@media (prefers-color-scheme: dark){body{background:#0d1117;color:#e6edf3}header,nav{border-color:#30363d}.muted{color:#9198a1}a{color:#4493f8}',
  themeCss('github-dark.min.css'),
  '}',
].join('\n');

/** No script, frame, form or plugin on any page; the one stylesheet by its hash; images only from here. */
export const GIT_PAGE_CSP = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`,
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
const RAW_CSP = "default-src 'none'; sandbox";

const pageHeaders = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': GIT_PAGE_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

function page(title: string, header: SafeHtml, body: SafeHtml): RouteResponse {
  const doc = html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="referrer" content="no-referrer">
<title>${title}</title><style>${trustedHtml(STYLE)}</style></head><body>${header}<main>${body}</main></body></html>
`;
  return { status: 200, headers: pageHeaders, body: doc.value };
}

/** 401 with the challenge, so git and browsers ask for a user name and token; the page says why and how. */
function loginPage(anonAccess: AccessLevel): RouteResponse {
  const answer = page('git: log in', html`<header><h1><a href="/git/">git</a></h1></header>`, loginText(anonAccess));
  return { ...answer, status: 401, headers: { ...answer.headers, 'www-authenticate': BASIC_CHALLENGE } };
}

/** `html` escapes text, but <style> is raw text: the stylesheet is ours and holds no '</'. */
function styleSafe(): void {
  if (STYLE.includes('</')) throw new Error('stylesheet must not contain </');
}
styleSafe();

const enc = (s: string) => s.split('/').map(encodeURIComponent).join('/');

export function gitWebRoutes(deps: GitHttpDeps & { sshUrl: string; publicUrl: string; highlighter: Highlighter }): HttpRoute[] {
  const base = (r: RepoMeta) => `/git/${enc(r.name)}`;

  async function open(req: RouteRequest): Promise<RepoMeta | RouteResponse> {
    const resolved = await httpActor(deps, req);
    if ('refused' in resolved) return refusedResponse(resolved);
    const { actor } = resolved;
    const name = req.params.folder ? `${req.params.folder}/${req.params.repo}` : req.params.repo!;
    try {
      return await deps.access.require(actor, name, 'read-only');
    } catch (err) {
      // Without credentials a private, closed or missing repository asks for them (nothing is revealed), saying how.
      if (err instanceof LabdError && actor.credential?.kind === 'anonymous' && err.kind !== 'usage') return loginPage(deps.access.anonAccess);
      if (err instanceof LabdError && (err.kind === 'not_found' || err.kind === 'usage' || err.kind === 'permission'))
        return textResponse(404, 'no such repository\n');
      throw err;
    }
  }

  function repoHeader(r: RepoMeta, ref: string, current: string): SafeHtml {
    const links = [
      ['readme', base(r), 'README'],
      ['tree', `${base(r)}/-/tree?ref=${encodeURIComponent(ref)}`, 'Files'],
      ['log', `${base(r)}/-/log?ref=${encodeURIComponent(ref)}`, 'Commits'],
      ['refs', `${base(r)}/-/refs`, 'Branches & tags'],
    ].map(([id, href, label]) => (id === current ? html`<strong>${label}</strong>` : html`<a href="${href}">${label}</a>`));
    return html`<header><h1><a href="/git/">git</a> / ${r.name}</h1>${r.projectName ? html`<div>${r.projectName}</div>` : ''}<div class="muted">${r.description}</div>
<div class="muted">git clone <code>${deps.publicUrl}/git/${r.name}.git</code> · <code>${deps.sshUrl}/${r.name}.git</code></div></header><nav>${joinHtml(links)}</nav>`;
  }

  /** The ref and path of a request's query, checked; a bad one is a 400. */
  function where(req: RouteRequest): { ref: string; path: string } | RouteResponse {
    try {
      return { ref: refName(req.query('ref') || undefined), path: treePath(req.query('path') || undefined) };
    } catch (err) {
      return textResponse(400, `${(err as Error).message}\n`);
    }
  }

  const notFoundPage = (err: unknown): RouteResponse => {
    if (err instanceof LabdError && err.kind === 'not_found') return textResponse(404, `${err.message}\n`);
    throw err;
  };

  const list = async (req: RouteRequest): Promise<RouteResponse> => {
    const resolved = await httpActor(deps, req);
    if ('refused' in resolved) return refusedResponse(resolved);
    const { actor } = resolved;
    const anonymous = actor.credential?.kind === 'anonymous';
    // `/git/?login`: the browser asks for a user name and token, then comes back here logged in.
    if (anonymous && req.query('login') !== undefined) return loginPage(deps.access.anonAccess);
    const repos = await deps.access.readable(actor, false);
    const rows = repos.map(
      ({ repo }) =>
        html`<tr><td><a href="${base(repo)}">${repo.name}</a></td><td class="muted">${repo.description}</td><td class="muted">${(repo.updatedAt ?? repo.createdAt).toISOString().slice(0, 10)}</td></tr>`,
    );
    const table = repos.length
      ? html`<table><tr><th>Repository</th><th>Description</th><th>Updated</th></tr>${rows}</table>`
      : html`<p class="muted">No repositories to show.</p>`;
    const body = anonymous ? html`${anonymousNote(deps.access.anonAccess)}${table}` : table;
    return page('git', html`<header><h1>git</h1></header>`, body);
  };

  const readme = async (req: RouteRequest): Promise<RouteResponse> => {
    const r = await open(req);
    if (!('name' in r)) return r;
    const branch = await deps.repos.defaultBranch(r.name);
    let body: SafeHtml;
    try {
      const entries = await deps.repos.tree(r.name, 'HEAD', '');
      const file = entries.find((e) => e.type === 'blob' && /^readme(\.(md|markdown|txt))?$/i.test(e.name));
      if (!file) body = html`<p class="muted">No README; the files on ${branch}:</p>${treeTable(r, 'HEAD', entries)}`;
      else {
        const { spec } = await deps.repos.blobSize(r.name, 'HEAD', file.path);
        const text = (await deps.repos.blobHead(r.name, spec, README_LIMIT)).toString('utf8');
        body = /\.(md|markdown)$/i.test(file.name)
          ? html`<article class="readme">${renderMarkdown(text)}</article>`
          : html`<pre><code class="hljs">${text}</code></pre>`;
      }
    } catch (err) {
      if (!(err instanceof LabdError && err.kind === 'not_found')) throw err;
      body = html`<p class="muted">This repository is empty: push to it.</p>`;
    }
    return page(r.name, repoHeader(r, branch, 'readme'), body);
  };

  const breadcrumbs = (r: RepoMeta, ref: string, path: string): SafeHtml => {
    const parts = path ? path.split('/') : [];
    const crumbs = [html`<a href="${base(r)}/-/tree?ref=${encodeURIComponent(ref)}">${r.name}</a>`];
    parts.forEach((p, i) =>
      crumbs.push(html`<a href="${base(r)}/-/tree?ref=${encodeURIComponent(ref)}&path=${encodeURIComponent(parts.slice(0, i + 1).join('/'))}">${p}</a>`),
    );
    return html`<p>${joinHtml(crumbs, ' / ')} <span class="muted">on ${ref}</span></p>`;
  };

  function treeTable(r: RepoMeta, ref: string, entries: TreeEntry[]): SafeHtml {
    const q = (kind: string, p: string) => `${base(r)}/-/${kind}?ref=${encodeURIComponent(ref)}&path=${encodeURIComponent(p)}`;
    // At most TREE_PAGE entries: a folder of 100k files is no page to build.
    const rows = entries
      .slice(0, TREE_PAGE)
      .map(
        (e) =>
          html`<tr><td class="muted"><code>${e.mode}</code></td><td>${e.type === 'tree' ? html`<a href="${q('tree', e.path)}">${e.name}/</a>` : e.type === 'blob' ? html`<a href="${q('blob', e.path)}">${e.name}</a>` : html`${e.name} <span class="muted">(submodule)</span>`}</td><td class="muted">${e.size ?? ''}</td></tr>`,
      );
    const more =
      entries.length > TREE_PAGE ? html`<p class="muted">Showing ${TREE_PAGE} of ${entries.length} entries: clone the repository for the rest.</p>` : '';
    return html`<table>${rows}</table>${more}`;
  }

  const tree = async (req: RouteRequest): Promise<RouteResponse> => {
    const r = await open(req);
    if (!('name' in r)) return r;
    const w = where(req);
    if (!('ref' in w)) return w;
    try {
      const entries = await deps.repos.tree(r.name, w.ref, w.path);
      return page(`${r.name}: ${w.path || '/'}`, repoHeader(r, w.ref, 'tree'), html`${breadcrumbs(r, w.ref, w.path)}${treeTable(r, w.ref, entries)}`);
    } catch (err) {
      return notFoundPage(err);
    }
  };

  const blob = async (req: RouteRequest): Promise<RouteResponse> => {
    const r = await open(req);
    if (!('name' in r)) return r;
    const w = where(req);
    if (!('ref' in w)) return w;
    try {
      const { spec, size } = await deps.repos.blobSize(r.name, w.ref, w.path);
      const head = await deps.repos.blobHead(r.name, spec, FILE_PAGE_LIMIT);
      const raw = `${base(r)}/-/raw?ref=${encodeURIComponent(w.ref)}&path=${encodeURIComponent(w.path)}`;
      let body: SafeHtml;
      if (head.subarray(0, 8000).includes(0)) body = html`<p class="muted">Binary file (${size} bytes): <a href="${raw}">download</a>.</p>`;
      else {
        const code = await deps.highlighter.highlight(w.path.split('/').pop()!, head.toString('utf8'));
        const cut =
          size > head.length ? html`<p class="muted">Showing the first ${head.length} of ${size} bytes: <a href="${raw}">raw</a> has it all.</p>` : '';
        body = html`<p><a href="${raw}">raw</a> · <span class="muted">${size} bytes</span></p><pre><code class="hljs language-${code.language}">${code.html}</code></pre>${cut}`;
      }
      return page(`${r.name}: ${w.path}`, repoHeader(r, w.ref, 'tree'), html`${breadcrumbs(r, w.ref, w.path)}${body}`);
    } catch (err) {
      return notFoundPage(err);
    }
  };

  const raw = async (req: RouteRequest): Promise<RouteResponse> => {
    const r = await open(req);
    if (!('name' in r)) return r;
    const w = where(req);
    if (!('ref' in w)) return w;
    try {
      const { spec, size } = await deps.repos.blobSize(r.name, w.ref, w.path);
      const head = await deps.repos.blobHead(r.name, spec, 8000);
      const binary = head.includes(0);
      const headers = {
        'content-type': binary ? 'application/octet-stream' : 'text/plain; charset=utf-8',
        'content-length': size,
        'content-security-policy': RAW_CSP,
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
        'cache-control': 'no-cache',
      };
      if (req.method === 'HEAD' || size === 0) return { status: 200, headers };
      const child = deps.repos.catBlob(r.name, spec);
      child.stderr!.resume();
      return { status: 200, headers, body: child.stdout!, discard: () => child.kill('SIGKILL') };
    } catch (err) {
      return notFoundPage(err);
    }
  };

  const log = async (req: RouteRequest): Promise<RouteResponse> => {
    const r = await open(req);
    if (!('name' in r)) return r;
    const w = where(req);
    if (!('ref' in w)) return w;
    try {
      const commits = await deps.repos.log(r.name, w.ref, LOG_PAGE);
      const rows = commits.map(
        (c) =>
          html`<tr><td><a href="${base(r)}/-/commit/${c.id}"><code>${c.id.slice(0, 10)}</code></a></td><td>${c.subject}</td><td class="muted">${c.author}</td><td class="muted">${c.date.toISOString().slice(0, 16).replace('T', ' ')}</td></tr>`,
      );
      return page(`${r.name}: log`, repoHeader(r, w.ref, 'log'), html`<p class="muted">The latest ${LOG_PAGE} commits on ${w.ref}.</p><table>${rows}</table>`);
    } catch (err) {
      return notFoundPage(err);
    }
  };

  const commit = async (req: RouteRequest): Promise<RouteResponse> => {
    const r = await open(req);
    if (!('name' in r)) return r;
    const id = req.params.id ?? '';
    if (!/^[0-9a-f]{4,64}$/.test(id)) return textResponse(400, 'expected a commit id\n');
    try {
      const c = await deps.repos.show(r.name, id, DIFF_LIMIT);
      const diff = await deps.highlighter.highlight('x.diff', c.patch);
      const parents = c.parents.map((p) => html`<a href="${base(r)}/-/commit/${p}"><code>${p.slice(0, 10)}</code></a>`);
      const body = html`<h2>${c.info.subject}</h2>${c.body ? html`<pre>${c.body}</pre>` : ''}
<p class="muted">${c.info.author} &lt;${c.info.email}&gt; · ${c.info.date.toISOString()} · <code>${c.info.id}</code>${parents.length ? html` · parent ${joinHtml(parents, ', ')}` : ''}</p>
${c.truncated ? html`<p class="muted">The diff is too large to show; its summary:</p>` : ''}<pre><code class="hljs language-diff">${diff.html}</code></pre>`;
      return page(`${r.name}: ${c.info.subject}`, repoHeader(r, 'HEAD', 'log'), body);
    } catch (err) {
      return notFoundPage(err);
    }
  };

  /**
   * Branches and tags, a page of each by name (REFS_PAGE); `?kind=heads|tags&after=NAME` pages
   * through one kind. Each request reads one page's refs, however many the repository holds.
   */
  const refs = async (req: RouteRequest): Promise<RouteResponse> => {
    const r = await open(req);
    if (!('name' in r)) return r;
    const kind = req.query('kind');
    if (kind && kind !== 'heads' && kind !== 'tags') return textResponse(400, 'kind: expected heads or tags\n');
    let after: string | undefined;
    try {
      after = req.query('after') ? refName(req.query('after')) : undefined;
    } catch (err) {
      return textResponse(400, `${(err as Error).message}\n`);
    }
    const section = async (k: 'heads' | 'tags', title: string) => {
      const { refs: list, more } = await deps.repos.refsPage(r.name, k, { after: kind ? after : undefined, limit: REFS_PAGE });
      const rows = list.map(
        (x) =>
          html`<tr><td><a href="${base(r)}/-/tree?ref=${encodeURIComponent(x.name)}">${x.name}</a></td><td><a href="${base(r)}/-/commit/${x.id}"><code>${x.id.slice(0, 10)}</code></a></td><td>${x.subject}</td></tr>`,
      );
      const next = more
        ? html`<p><a rel="next" href="${base(r)}/-/refs?kind=${k}&after=${encodeURIComponent(list[list.length - 1]!.name)}">Next ${REFS_PAGE} ${title.toLowerCase()} →</a></p>`
        : '';
      return html`<h2>${title}</h2>${list.length ? html`<table>${rows}</table>` : html`<p class="muted">none</p>`}${next}`;
    };
    const body =
      kind === 'heads' || kind === 'tags'
        ? html`${await section(kind, kind === 'heads' ? 'Branches' : 'Tags')}<p><a href="${base(r)}/-/refs">Back to the first page</a></p>`
        : html`${await section('heads', 'Branches')}${await section('tags', 'Tags')}`;
    return page(`${r.name}: refs`, repoHeader(r, 'HEAD', 'refs'), body);
  };

  const routes: HttpRoute[] = [
    { method: 'GET', path: '/git/', handle: list },
    { method: 'GET', path: '/git', handle: list },
  ];
  for (const prefix of ['/git/:repo', '/git/:folder/:repo']) {
    routes.push({ method: 'GET', path: prefix, handle: readme });
    routes.push({ method: 'GET', path: `${prefix}/-/tree`, handle: tree });
    routes.push({ method: 'GET', path: `${prefix}/-/blob`, handle: blob });
    routes.push({ method: 'GET', path: `${prefix}/-/raw`, handle: raw });
    routes.push({ method: 'GET', path: `${prefix}/-/log`, handle: log });
    routes.push({ method: 'GET', path: `${prefix}/-/refs`, handle: refs });
    routes.push({ method: 'GET', path: `${prefix}/-/commit/:id`, handle: commit });
  }
  return routes;
}
