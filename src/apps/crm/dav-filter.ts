/**
 * RFC 6352 §10.5 filters for addressbook-query: prop-filter (anyof/allof), text-match (contains,
 * equals, starts-with, ends-with; negate), is-not-defined. A filter is checked and compiled once;
 * each card's properties are then read once into a map by name, so the work per card is its own size
 * plus the filter's, not their product (3,000 prop-filters over 100,000 cards ran 178 s before).
 */
import type { Contact } from './model.ts';
import { contactProps } from './vcard.ts';

/** Bounds of one filter: each costs a lookup per card. */
export const MAX_PROP_FILTERS = 50;
export const MAX_TEXT_MATCHES = 100;
export const MAX_NEEDLE_CHARS = 256;

type Xml = Record<string, unknown>;
type Values = Map<string, string[]>;

const MATCH_TYPES = new Set(['contains', 'equals', 'starts-with', 'ends-with']);

function textMatch(hay: string, needle: string, type: string): boolean {
  return type === 'equals'
    ? hay === needle
    : type === 'starts-with'
      ? hay.startsWith(needle)
      : type === 'ends-with'
        ? hay.endsWith(needle)
        : hay.includes(needle);
}

/** The filter as a test of one contact, or why it is refused (a CARDDAV:supported-filter precondition). */
export function compileFilter(filter: Xml): ((c: Contact) => boolean) | string {
  const propFilters = (filter['prop-filter'] as Xml[] | undefined) ?? [];
  if (!propFilters.length) return () => true;
  if (propFilters.length > MAX_PROP_FILTERS) return `at most ${MAX_PROP_FILTERS} prop-filters in one addressbook-query (this has ${propFilters.length})`;
  let textMatches = 0;
  const names = new Set<string>();
  const tests: ((v: Values) => boolean)[] = [];
  for (const pf of propFilters) {
    const name = String(pf['@_name'] ?? '').toLowerCase();
    names.add(name);
    if ('is-not-defined' in pf) {
      tests.push((v) => !v.get(name)?.length);
      continue;
    }
    const matches = ((pf['text-match'] as (Xml | string)[] | undefined) ?? []).map((m) => (typeof m === 'string' ? { '#text': m } : m));
    textMatches += matches.length;
    if (textMatches > MAX_TEXT_MATCHES) return `at most ${MAX_TEXT_MATCHES} text-matches in one addressbook-query`;
    if (!matches.length) {
      tests.push((v) => !!v.get(name)?.length);
      continue;
    }
    const compiled: ((values: string[]) => boolean)[] = [];
    for (const tm of matches) {
      const needle = String(tm['#text'] ?? '').toLowerCase();
      const type = String(tm['@_match-type'] ?? 'contains');
      if (needle.length > MAX_NEEDLE_CHARS) return `a text-match may be at most ${MAX_NEEDLE_CHARS} characters`;
      if (!MATCH_TYPES.has(type)) return `match-type ${type.slice(0, 40)} is not supported (contains, equals, starts-with, ends-with)`;
      const negate = tm['@_negate-condition'] === 'yes';
      compiled.push((values) => values.some((hay) => textMatch(hay, needle, type)) !== negate);
    }
    const allof = pf['@_test'] === 'allof';
    tests.push((v) => {
      const values = v.get(name) ?? [];
      return allof ? compiled.every((t) => t(values)) : compiled.some((t) => t(values));
    });
  }
  const allof = filter['@_test'] === 'allof';
  return (c) => {
    // Only the properties the filter names, each read once, in lower case.
    const values: Values = new Map();
    for (const p of contactProps(c)) {
      if (!names.has(p[0])) continue;
      const list = values.get(p[0]) ?? [];
      list.push(p.slice(3).flat().map(String).join(' ').toLowerCase());
      values.set(p[0], list);
    }
    return allof ? tests.every((t) => t(values)) : tests.some((t) => t(values));
  };
}
