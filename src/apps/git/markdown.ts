/**
 * README markdown → HTML that is safe to put in a page. Two layers: markdown-it with raw HTML off
 * (it escapes any HTML in the source and refuses javascript:/vbscript:/data: links itself), then
 * sanitize-html with an allowlist of tags, attributes and URL schemes, so a bug in either still
 * leaves no script, handler or style in the page (and the page's CSP runs none anyway).
 */
import type MarkdownIt from 'markdown-it';
import type sanitizeHtmlModule from 'sanitize-html';
import { trustedHtml, type SafeHtml } from '../../core/html.ts';
import { lazyRequire } from '../../core/lazy-require.ts';

// Loaded with the first README shown (markdown-it, sanitize-html and its postcss are megabytes at rest).
const markdownIt = lazyRequire<typeof MarkdownIt>('markdown-it');
const sanitizeHtml = lazyRequire<typeof sanitizeHtmlModule>('sanitize-html');
let md: MarkdownIt | undefined;

const SANITIZE: Omit<sanitizeHtmlModule.IOptions, 'transformTags'> = {
  allowedTags: [
    'h1',
    'h2',
    'h3',
    'h4',
    'h5',
    'h6',
    'p',
    'a',
    'ul',
    'ol',
    'li',
    'blockquote',
    'pre',
    'code',
    'em',
    'strong',
    's',
    'hr',
    'br',
    'table',
    'thead',
    'tbody',
    'tr',
    'th',
    'td',
    'img',
  ],
  allowedAttributes: { a: ['href', 'title', 'rel'], img: ['src', 'alt', 'title'], code: ['class'] },
  allowedClasses: { code: [/^language-[a-z0-9+_-]+$/] },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesAppliedToAttributes: ['href', 'src'],
  allowProtocolRelative: false,
};

export function renderMarkdown(text: string): SafeHtml {
  md ??= new (markdownIt())({ html: false, linkify: true, typographer: false });
  const sanitize = sanitizeHtml();
  const options = { ...SANITIZE, transformTags: { a: sanitize.simpleTransform('a', { rel: 'nofollow noopener noreferrer' }) } };
  return trustedHtml(sanitize(md.render(text), options));
}
