import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Highlighter } from '../../core/highlight/index.ts';
import { html, type SafeHtml } from '../../core/html.ts';
import { expiresText, humanSize } from './format.ts';

/** Above this, the page shows the start and points to /raw. */
const PAGE_LIMIT = 2 * 1024 * 1024;

const require = createRequire(import.meta.url);
const themeCss = (file: string) => readFileSync(require.resolve(`highlight.js/styles/${file}`), 'utf8');

const STYLE = [
  'body{margin:0;font:14px/1.5 system-ui,sans-serif;background:#fff;color:#1f2328}',
  'header{padding:.6em 1em;border-bottom:1px solid #d0d7de;display:flex;gap:1.5em;flex-wrap:wrap;align-items:baseline}',
  'header h1{font-size:1.1em;margin:0;word-break:break-all}header span{color:#59636e}a{color:#0969da}',
  'pre{margin:0}pre code.hljs{font:13px/1.45 ui-monospace,monospace;white-space:pre;tab-size:4}',
  '.note{padding:1em;color:#59636e}',
  themeCss('github.min.css'),
  '@media (prefers-color-scheme: dark){body{background:#0d1117;color:#e6edf3}header{border-color:#30363d}header span,.note{color:#9198a1}a{color:#4493f8}',
  themeCss('github-dark.min.css'),
  '}',
].join('\n');

/** No script may run on a paste page, from any source; the one inline style is allowed by its hash. */
export const PAGE_CSP = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`,
  "img-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export interface PageInput {
  owner: string;
  name: string;
  size: number;
  binary: boolean;
  hidden: boolean;
  expiresAt: Date | null;
  now: Date;
  rawUrl: string;
  /** The first bytes of the paste (up to PAGE_LIMIT), for text pastes. */
  head?: Buffer;
  /** Highlights off the event loop, bounded in size and time (plain text when it cannot). */
  highlighter: Highlighter;
}

export const PAGE_BYTES = PAGE_LIMIT;

export async function renderPastePage(p: PageInput): Promise<string> {
  const title = `${p.owner}/${p.name}`;
  const meta = [humanSize(p.size), `expires ${expiresText(p.expiresAt, p.now)}`, ...(p.hidden ? ['unlisted'] : [])];
  let body: SafeHtml;
  if (p.binary || !p.head) {
    body = html`<p class="note">Binary paste (${humanSize(p.size)}): <a href="${p.rawUrl}">download the raw bytes</a>.</p>`;
  } else {
    const text = p.head.toString('utf8');
    const code = await p.highlighter.highlight(p.name, text);
    const cut =
      p.size > p.head.length
        ? html`<p class="note">Showing the first ${humanSize(p.head.length)} of ${humanSize(p.size)}: <a href="${p.rawUrl}">raw</a> has it all.</p>`
        : '';
    body = html`<pre><code class="hljs language-${code.language}">${code.html}</code></pre>${cut}`;
  }
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="referrer" content="no-referrer">',
    html`<title>${title}</title>`.value,
    `<style>${STYLE}</style>`,
    '</head><body>',
    html`<header><h1>${title}</h1><span>${meta.join(' · ')}</span><a href="${p.rawUrl}">raw</a></header>`.value,
    html`<main>${body}</main>`.value,
    '</body></html>',
    '',
  ].join('\n');
}
