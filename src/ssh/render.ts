import { escapeJsonControls, stripControl } from '../core/terminal-text.ts';
import { displayWidth, textTable } from '../core/table-layout.ts';
import type { Result } from '../ops/result.ts';
import { resultJson } from '../ops/result.ts';

export function cellText(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') return stripControl(JSON.stringify(value));
  return stripControl(String(value)).replace(/\n/g, ' ');
}

const pad = (s: string, w: number) => s + ' '.repeat(Math.max(0, w - displayWidth(s)));

/** Text renderers for SSH exec, one per result kind. */
export const textRenderers: { [K in Result['kind']]: (r: Extract<Result, { kind: K }>) => string } = {
  table(r) {
    if (!r.rows.length) return (r.empty ?? '(none)') + '\n';
    // Every column at its full width: scripts and pipes get everything.
    return (
      textTable(
        r.columns,
        r.rows.map((row) => r.columns.map((c) => cellText(row[c.key]))),
      ).join('\n') + '\n'
    );
  },
  record(r) {
    const width = Math.max(...r.fields.map((f) => displayWidth(f.label)));
    return (r.title ? stripControl(r.title) + '\n' : '') + r.fields.map((f) => `${pad(f.label + ':', width + 1)} ${cellText(f.value)}`).join('\n') + '\n';
  },
  message(r) {
    return stripControl(r.text) + '\n';
  },
  help(r) {
    return r.text + '\n';
  },
  streamed() {
    return '';
  },
};

export function renderText(result: Result): string {
  return (textRenderers[result.kind] as (r: Result) => string)(result);
}

export function renderJson(result: Result): string {
  return escapeJsonControls(JSON.stringify(resultJson(result), null, 2)) + '\n';
}
