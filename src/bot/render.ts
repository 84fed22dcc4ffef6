/**
 * Matrix renderers, one per result kind: an HTML body (org.matrix.custom.html) and a plain-text
 * fallback. Every value from arguments or data is HTML-escaped; nothing is trusted as markup.
 */
import { errorKind, publicMessage, UsageError, type ErrorKind } from '../core/errors.ts';
import { textTable } from '../core/table-layout.ts';
import { resultJson, type Result } from '../ops/result.ts';

export interface MatrixBody {
  text: string;
  html: string;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/** Control characters carry nothing a chat client can show. */
function clean(text: string): string {
  return text.replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, '');
}

export function valueText(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') return clean(JSON.stringify(value));
  return clean(String(value)).replace(/\n/g, ' ');
}

const cell = (value: unknown) => escapeHtml(valueText(value));

function plainTable(r: Extract<Result, { kind: 'table' }>): string {
  return textTable(r.columns, r.rows.map((row) => r.columns.map((c) => valueText(row[c.key])))).join('\n');
}

export const matrixRenderers: { [K in Result['kind']]: (r: Extract<Result, { kind: K }>) => MatrixBody } = {
  table(r) {
    if (!r.rows.length) {
      const empty = clean(r.empty ?? '(none)');
      return { text: empty, html: `<em>${escapeHtml(empty)}</em>` };
    }
    const head = `<thead><tr>${r.columns.map((c) => `<th>${escapeHtml(c.label)}</th>`).join('')}</tr></thead>`;
    const body = `<tbody>${r.rows.map((row) => `<tr>${r.columns.map((c) => `<td>${cell(row[c.key])}</td>`).join('')}</tr>`).join('')}</tbody>`;
    return { text: plainTable(r), html: `<table>${head}${body}</table>` };
  },
  record(r) {
    const title = r.title ? clean(r.title) : undefined;
    const text = (title ? title + '\n' : '') + r.fields.map((f) => `${f.label}: ${valueText(f.value)}`).join('\n');
    const rows = r.fields.map((f) => `<tr><th>${escapeHtml(f.label)}</th><td>${cell(f.value)}</td></tr>`).join('');
    return { text, html: `${title ? `<strong>${escapeHtml(title)}</strong>` : ''}<table><tbody>${rows}</tbody></table>` };
  },
  message(r) {
    const text = clean(r.text);
    return { text, html: escapeHtml(text).replace(/\n/g, '<br>') };
  },
  help(r) {
    const text = clean(r.text);
    return { text, html: `<pre><code>${escapeHtml(text)}</code></pre>` };
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
  return { text, html: `<pre><code class="language-json">${escapeHtml(text)}</code></pre>` };
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
  message = message.replace(/^permission denied: /, '');
  const label = ERROR_LABELS[kind];
  return { text: `${label}: ${message}`, html: `<strong>${escapeHtml(label)}:</strong> ${escapeHtml(message)}` };
}

export function plain(text: string): MatrixBody {
  return { text, html: escapeHtml(text).replace(/\n/g, '<br>') };
}
