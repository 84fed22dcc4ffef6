/**
 * Markdown → text for a terminal pane (blessed tags), as soft-serve's glamour does for a README:
 * headings bold and underlined, emphasis, code in its own indented block, bullets and numbers for
 * lists, `│` for quotes, links as "text <url>", tables as aligned columns. markdown-it parses (raw
 * HTML off, so HTML in the source stays text); every piece of source text is stripped of control
 * characters and has blessed's tag braces escaped, so a README cannot restyle or hijack the screen.
 */
import type MarkdownIt from 'markdown-it';
import { stringWidth } from '../../core/string-width.ts';
import { lazyRequire } from '../../core/lazy-require.ts';
import { stripControl } from '../../core/terminal-text.ts';

// Loaded with the first README a terminal shows.
const markdownIt = lazyRequire<typeof MarkdownIt>('markdown-it');
let md: MarkdownIt | undefined;

type Token = ReturnType<MarkdownIt['parse']>[number];

/** Source text as a literal in blessed's tag syntax. */
function text(s: string): string {
  return stripControl(s).replace(/[{}]/g, (c) => (c === '{' ? '{open}' : '{close}'));
}

function inline(tokens: Token[] | null): string {
  let out = '';
  const links: string[] = [];
  for (const t of tokens ?? []) {
    switch (t.type) {
      case 'text':
        out += text(t.content);
        break;
      case 'code_inline':
        out += `{bold}${text(t.content)}{/bold}`;
        break;
      case 'strong_open':
        out += '{bold}';
        break;
      case 'strong_close':
        out += '{/bold}';
        break;
      case 'em_open':
        out += '{underline}';
        break;
      case 'em_close':
        out += '{/underline}';
        break;
      case 's_open':
      case 's_close':
        out += '~';
        break;
      case 'link_open':
        links.push(t.attrGet('href') ?? '');
        out += '{underline}';
        break;
      case 'link_close': {
        const href = links.pop() ?? '';
        out += `{/underline}${href && !href.startsWith('mailto:') ? ` <${text(href)}>` : ''}`;
        break;
      }
      case 'image':
        out += `[image: ${text(t.content || t.attrGet('alt') || '')}]`;
        break;
      case 'softbreak':
        out += ' ';
        break;
      case 'hardbreak':
        out += '\n';
        break;
      default:
        if (t.content) out += text(t.content);
    }
  }
  return out;
}

/** Display width of tagged text (tags take no room). */
function width(tagged: string): number {
  return stringWidth(tagged.replace(/\{\/?[a-z-]+\}/g, (tag) => (tag === '{open}' || tag === '{close}' ? '{' : '')));
}

function table(tokens: Token[], start: number): { lines: string[]; end: number } {
  const rows: string[][] = [];
  let i = start + 1;
  let row: string[] | undefined;
  for (; i < tokens.length && tokens[i]!.type !== 'table_close'; i++) {
    const t = tokens[i]!;
    if (t.type === 'tr_open') row = [];
    else if (t.type === 'tr_close' && row) rows.push(row);
    else if (t.type === 'inline' && row) row.push(inline(t.children));
  }
  const widths: number[] = [];
  for (const r of rows) r.forEach((cell, c) => (widths[c] = Math.max(widths[c] ?? 0, width(cell))));
  const lines = rows.map((r, n) => {
    const line = r
      .map((cell, c) => cell + ' '.repeat((widths[c] ?? 0) - width(cell)))
      .join('  ')
      .trimEnd();
    return n === 0 ? `{bold}${line}{/bold}` : line;
  });
  if (lines.length > 1) lines.splice(1, 0, widths.map((w) => '─'.repeat(w)).join('  '));
  return { lines, end: i };
}

/** Renders markdown source as blessed-tagged text for a pane with `tags: true`. */
export function markdownForTerminal(source: string): string {
  md ??= new (markdownIt())({ html: false, linkify: true, typographer: false });
  const tokens = md.parse(source, {});
  const out: string[] = [];
  const lists: { ordered: boolean; next: number }[] = [];
  let quote = 0;
  let pendingBullet: string | undefined;
  const indent = () => '  '.repeat(Math.max(0, lists.length - 1)) + '│ '.repeat(quote);
  const push = (line: string) => {
    const prefix = pendingBullet ?? indent();
    pendingBullet = undefined;
    out.push(prefix + line);
  };
  const blank = () => {
    if (out.length && out[out.length - 1] !== '' && !lists.length) out.push('');
  };

  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    switch (t.type) {
      case 'heading_open': {
        const level = Number(t.tag.slice(1));
        const body = inline(tokens[i + 1]?.children ?? null);
        blank();
        push(level <= 2 ? `{bold}{underline}${body}{/underline}{/bold}` : `{bold}${'#'.repeat(level)} ${body}{/bold}`);
        out.push('');
        i += 2;
        break;
      }
      case 'paragraph_open': {
        const body = inline(tokens[i + 1]?.children ?? null);
        for (const line of body.split('\n')) push(line);
        if (!lists.length) out.push('');
        i += 2;
        break;
      }
      case 'bullet_list_open':
      case 'ordered_list_open':
        lists.push({ ordered: t.type === 'ordered_list_open', next: Number(t.attrGet('start') ?? 1) });
        break;
      case 'bullet_list_close':
      case 'ordered_list_close':
        lists.pop();
        if (!lists.length) out.push('');
        break;
      case 'list_item_open': {
        const list = lists[lists.length - 1]!;
        const mark = list.ordered ? `${list.next++}.` : '•';
        pendingBullet = '  '.repeat(lists.length - 1) + '│ '.repeat(quote) + `${mark} `;
        break;
      }
      case 'blockquote_open':
        quote++;
        break;
      case 'blockquote_close':
        quote--;
        break;
      case 'fence':
      case 'code_block': {
        blank();
        const lang = t.type === 'fence' ? t.info.trim().split(/\s+/)[0] : '';
        if (lang) push(`{bold}${text(lang)}{/bold}`);
        for (const line of t.content.replace(/\n$/, '').split('\n')) push(`    ${text(line)}`);
        out.push('');
        break;
      }
      case 'hr':
        push('─'.repeat(40));
        out.push('');
        break;
      case 'table_open': {
        const { lines, end } = table(tokens, i);
        for (const line of lines) push(line);
        out.push('');
        i = end;
        break;
      }
      case 'html_block':
        for (const line of t.content.replace(/\n$/, '').split('\n')) push(text(line));
        break;
      default:
        break;
    }
  }
  while (out.length && out[out.length - 1] === '') out.pop();
  return out.join('\n');
}
