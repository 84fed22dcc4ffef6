/**
 * Matrix renderers, one per result kind: an HTML body (org.matrix.custom.html) and a plain-text
 * fallback. Every value from arguments or data is HTML-escaped; nothing is trusted as markup.
 */
import { errorKind, publicMessage, UsageError, type ErrorKind } from '../core/errors.ts';
import { html, type SafeHtml } from '../core/html.ts';
import { textTable } from '../core/table-layout.ts';
import { UnknownCommand } from '../ops/registry.ts';
import { resultJson, type Result } from '../ops/result.ts';
import { stripControl } from '../core/terminal-text.ts';

export interface MatrixBody {
  text: string;
  html: string;
}

/** Text with line breaks kept as <br>, every line escaped. */
export function htmlLines(text: string): SafeHtml {
  return html`${text.split('\n').map((line, i) => (i ? html`<br>${line}` : html`${line}`))}`;
}

/** Control characters and escape sequences carry nothing a chat client can show. */
const clean = stripControl;

export function valueText(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') return clean(JSON.stringify(value));
  return clean(String(value)).replace(/\n/g, ' ');
}

function plainTable(r: Extract<Result, { kind: 'table' }>): string {
  return textTable(
    r.columns,
    r.rows.map((row) => r.columns.map((c) => valueText(row[c.key]))),
  ).join('\n');
}

export const matrixRenderers: { [K in Result['kind']]: (r: Extract<Result, { kind: K }>) => MatrixBody } = {
  table(r) {
    if (!r.rows.length) {
      const empty = clean(r.empty ?? '(none)');
      return { text: empty, html: html`<em>${empty}</em>`.value };
    }
    const head = html`<thead><tr>${r.columns.map((c) => html`<th>${c.label}</th>`)}</tr></thead>`;
    const body = html`<tbody>${r.rows.map((row) => html`<tr>${r.columns.map((c) => html`<td>${valueText(row[c.key])}</td>`)}</tr>`)}</tbody>`;
    return { text: plainTable(r), html: html`<table>${head}${body}</table>`.value };
  },
  record(r) {
    const title = r.title ? clean(r.title) : undefined;
    const text = (title ? title + '\n' : '') + r.fields.map((f) => `${f.label}: ${valueText(f.value)}`).join('\n');
    const rows = r.fields.map((f) => html`<tr><th>${f.label}</th><td>${valueText(f.value)}</td></tr>`);
    return { text, html: html`${title ? html`<strong>${title}</strong>` : ''}<table><tbody>${rows}</tbody></table>`.value };
  },
  message(r) {
    const text = clean(r.text);
    return { text, html: htmlLines(text).value };
  },
  help(r) {
    const text = clean(r.text);
    return { text, html: html`<pre><code>${text}</code></pre>`.value };
  },
  streamed() {
    return { text: '(done)', html: '<em>(done)</em>' };
  },
};

export function renderMatrix(result: Result): MatrixBody {
  return (matrixRenderers[result.kind] as (r: Result) => MatrixBody)(result);
}

/** `--json`: the same document SSH prints, as a code block. */
export function renderMatrixJson(result: Result): MatrixBody {
  const text = JSON.stringify(resultJson(result), null, 2);
  return { text, html: html`<pre><code class="language-json">${text}</code></pre>`.value };
}

const ERROR_LABELS: Record<ErrorKind, string> = {
  usage: 'usage error',
  permission: 'permission denied',
  not_found: 'not found',
  conflict: 'conflict',
  unavailable: 'unavailable',
  failed: 'failed',
};

/** Typed errors, mapped once to a reply (design §3). */
export function renderError(err: unknown, prefix: string): MatrixBody {
  const kind = errorKind(err);
  let message = clean(publicMessage(err)).replace(/\n/g, ' ');
  if (err instanceof UsageError && err.commandPath) message += ` (see '${prefix} ${err.commandPath.join(' ')} --help')`;
  if (err instanceof UnknownCommand) message += ` (try '${prefix} help')`;
  message = message.replace(/^permission denied: /, '');
  const label = ERROR_LABELS[kind];
  return { text: `${label}: ${message}`, html: html`<strong>${label}:</strong> ${message}`.value };
}

export function plain(text: string): MatrixBody {
  return { text, html: htmlLines(text).value };
}
