/**
 * Turns what someone types into FTS5 queries. Every word must match as a prefix (`jo` finds
 * José: the index folds case and accents, and the query is folded the same way by the tokenizer);
 * the matches come in groups, names first (see ftsTiers).
 * A query that looks like a phone number matches the phones column by its digits, its E.164 form
 * and its national number, so `030 1234567` finds `+49 30 1234567` with or without
 * crm.defaultRegion: every stored E.164 number is indexed by its national significant number too,
 * and a query's digits are also tried without a leading 0 trunk prefix (`00` is the international
 * call prefix in most of the world: `0049 30…` is tried as `49 30…`).
 */
import type { CountryCode } from 'libphonenumber-js';
import { lazyRequire } from '../../core/lazy-require.ts';

const phoneNumbers = lazyRequire<typeof import('libphonenumber-js')>('libphonenumber-js');
import { sortKey } from '../../core/sort-key.ts';

const PHONE_LIKE = /^\+?[\d\s().\-/]{5,}$/;

function quoted(token: string): string {
  return `"${token.replace(/"/g, '""')}"*`;
}

function phoneTerms(text: string, defaultRegion: string | undefined): string[] {
  const digits = text.replace(/\D/g, '');
  const terms = new Set<string>([digits]);
  if (/^00[1-9]/.test(digits)) terms.add(digits.slice(2));
  else if (/^0[1-9]/.test(digits)) terms.add(digits.slice(1));
  const parsed = phoneNumbers().parsePhoneNumberFromString(text, defaultRegion ? { defaultCountry: defaultRegion as CountryCode } : undefined);
  if (parsed) {
    terms.add(parsed.number.slice(1));
    terms.add(parsed.nationalNumber);
  }
  return [...terms].filter((t) => t.length >= 3);
}

/**
 * One group of matches: an FTS5 MATCH expression and the index it is asked of, and the same group
 * as words for an engine that builds its own query (PostgreSQL's tsquery, sql-search-postgres.ts).
 */
export interface SearchTier {
  match: string;
  /** Asked of the names-and-nicknames index (crm_fts_names) instead of the whole one (crm_fts). */
  names?: boolean;
  /** sortKey of the first word: within the group, names that begin with it come first. */
  leading?: string;
  /** The words (or phone digit strings) of the query. */
  terms: string[];
  /** Each term matches as a prefix of an indexed word (else as a whole word). */
  prefix: boolean;
  /** The terms are alternatives over the phones column alone (else every term must match). */
  phones?: boolean;
}

/** The words a text is indexed and searched by (letters and digits, Unicode NFC): both engines split text so. */
export function searchWords(text: string): string[] {
  return text.normalize('NFC').match(/[\p{L}\p{N}]+/gu) ?? [];
}

/**
 * The groups of a typed query, best first, or undefined when nothing searchable is left. Words are
 * ANDed. The groups: every word a whole word of a name or nickname ("ana" finds Ana before Anabel),
 * then every word a prefix of one, then every word a prefix of anything indexed (emails, phones,
 * company, tags, notes too). A phone-like query is one group over the phones column. `region`
 * (crm.defaultRegion) reads national phone numbers.
 */
export function ftsTiers(text: string, region?: string): SearchTier[] | undefined {
  const q = text.trim().slice(0, 200);
  if (PHONE_LIKE.test(q) && q.replace(/\D/g, '').length >= 5) {
    const terms = phoneTerms(q, region);
    if (terms.length) return [{ match: `phones : (${terms.map(quoted).join(' OR ')})`, terms, prefix: true, phones: true }];
  }
  const tokens = searchWords(q).slice(0, 16);
  if (!tokens.length) return undefined;
  const whole = tokens.map((t) => `"${t.replace(/"/g, '""')}"`).join(' AND ');
  const prefix = tokens.map(quoted).join(' AND ');
  const leading = sortKey(tokens[0]!);
  return [
    { match: whole, names: true, leading, terms: tokens, prefix: false },
    { match: prefix, names: true, leading, terms: tokens, prefix: true },
    { match: prefix, terms: tokens, prefix: true },
  ];
}
