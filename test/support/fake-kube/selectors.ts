/** Label and field selectors with the real API server's grammar (k8s.io/apimachinery labels/fields). */
import { errors } from './status.ts';

type Labels = Record<string, string>;
export type LabelRequirement =
  { op: '=' | '!='; key: string; value: string } | { op: 'in' | 'notin'; key: string; values: string[] } | { op: 'exists' | '!exists'; key: string };

const KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

/** Splits on commas that are not inside parentheses. */
function splitTop(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

function checkKey(key: string, selector: string): string {
  if (!KEY.test(key)) throw errors.badRequest(`unable to parse requirement: invalid label key "${key}" in selector "${selector}"`);
  return key;
}
function checkValue(value: string, selector: string): string {
  if (!VALUE.test(value) || value.length > 63)
    throw errors.badRequest(`unable to parse requirement: invalid label value: "${value}" in selector "${selector}"`);
  return value;
}

export function parseLabelSelector(selector: string | null): LabelRequirement[] {
  if (!selector) return [];
  return splitTop(selector).map((part): LabelRequirement => {
    let m = /^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(part);
    if (m) return { op: m[2] as 'in' | 'notin', key: checkKey(m[1]!, selector), values: m[3]!.split(',').map((v) => checkValue(v.trim(), selector)) };
    m = /^(!?)\s*([^=!\s]+)$/.exec(part);
    if (m) return { op: m[1] ? '!exists' : 'exists', key: checkKey(m[2]!, selector) };
    m = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(part);
    if (m) return { op: m[2] === '!=' ? '!=' : '=', key: checkKey(m[1]!, selector), value: checkValue(m[3]!, selector) };
    throw errors.badRequest(`unable to parse requirement: found '${part}', expected: in, notin, =, ==, !=, !`);
  });
}

export function labelsMatch(reqs: LabelRequirement[], labels: Labels | undefined): boolean {
  const l = labels ?? {};
  return reqs.every((r) => {
    const has = Object.hasOwn(l, r.key);
    switch (r.op) {
      case '=':
        return has && l[r.key] === r.value;
      case '!=':
        return !has || l[r.key] !== r.value;
      case 'in':
        return has && r.values.includes(l[r.key]!);
      case 'notin':
        return !has || !r.values.includes(l[r.key]!);
      case 'exists':
        return has;
      case '!exists':
        return !has;
    }
  });
}

/** A LabelSelector object ({matchLabels, matchExpressions}) as used by Deployments and PDBs. */
export function selectorObjectMatches(
  selector: { matchLabels?: Labels; matchExpressions?: { key: string; operator: string; values?: string[] }[] } | undefined,
  labels: Labels | undefined,
): boolean {
  if (!selector) return false;
  const reqs: LabelRequirement[] = Object.entries(selector.matchLabels ?? {}).map(([key, value]) => ({ op: '=', key, value }));
  for (const e of selector.matchExpressions ?? []) {
    const op = e.operator.toLowerCase();
    if (op === 'in' || op === 'notin') reqs.push({ op, key: e.key, values: e.values ?? [] });
    else if (op === 'exists') reqs.push({ op: 'exists', key: e.key });
    else if (op === 'doesnotexist') reqs.push({ op: '!exists', key: e.key });
  }
  return labelsMatch(reqs, labels);
}

export interface FieldRequirement {
  field: string;
  op: '=' | '!=';
  value: string;
}

export function parseFieldSelector(selector: string | null, allowed: readonly string[], kind: string): FieldRequirement[] {
  if (!selector) return [];
  return splitTop(selector).map((part) => {
    const m = /^([^=!]+?)\s*(==|=|!=)\s*(.*)$/.exec(part);
    if (!m) throw errors.badRequest(`invalid selector: '${selector}'; can't understand '${part}'`);
    const field = m[1]!;
    if (!['metadata.name', 'metadata.namespace', ...allowed].includes(field)) throw errors.badRequest(`field label not supported: ${field}`);
    void kind;
    return { field, op: m[2] === '!=' ? '!=' : '=', value: m[3]! } as FieldRequirement;
  });
}

function fieldValue(obj: Record<string, unknown>, path: string): string {
  let cur: unknown = obj;
  for (const key of path.split('.')) cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[key] : undefined;
  // Unset fields compare as their zero value, as the API server's field sets do.
  if (cur === undefined || cur === null) return path === 'spec.unschedulable' || path === 'spec.hostNetwork' ? 'false' : '';
  if (path === 'source' && typeof cur === 'object') return String((cur as { component?: string }).component ?? '');
  return String(cur);
}

export function fieldsMatch(reqs: FieldRequirement[], obj: Record<string, unknown>): boolean {
  return reqs.every((r) => (fieldValue(obj, r.field) === r.value) === (r.op === '='));
}
