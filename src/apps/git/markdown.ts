/**
 * README markdown → HTML that is safe to put in a page. Two layers: markdown-it with raw HTML off
 * (it escapes any HTML in the source and refuses javascript:/vbscript:/data: links itself), then
 * sanitize-html with an allowlist of tags, attributes and URL schemes, so a bug in either still
 * leaves no script, handler or style in the page (and the page's CSP runs none anyway).
 */
import MarkdownIt from 'markdown-it';
import sanitizeHtml from 'sanitize-html';
import { trustedHtml, type SafeHtml } from '../../core/html.ts';

const md = new MarkdownIt({ html: false, linkify: true, typographer: false });

const SANITIZE: sanitizeHtml.IOptions = {
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
  transformTags: { a: sanitizeHtml.simpleTransform('a', { rel: 'nofollow noopener noreferrer' }) },
};

export function renderMarkdown(text: string): SafeHtml {
  return trustedHtml(sanitizeHtml(md.render(text), SANITIZE));
}
