/**
 * Turns what someone types into an FTS5 query. Every word must match as a prefix (`jo` finds
 * José: the index folds case and accents, and the query is folded the same way by the tokenizer).
 * A query that looks like a phone number matches the phones column by its digits, its E.164 form
 * and its national number, so `030 1234567` finds `+49 30 1234567`.
 */
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';

const PHONE_LIKE = /^\+?[\d\s().\-/]{5,}$/;

function quoted(token: string): string {
  return `"${token.replace(/"/g, '""')}"*`;
}

function phoneTerms(text: string, defaultRegion: string | undefined): string[] {
  const digits = text.replace(/\D/g, '');
  const terms = new Set<string>([digits]);
  const parsed = parsePhoneNumberFromString(text, defaultRegion ? { defaultCountry: defaultRegion as CountryCode } : undefined);
  if (parsed) {
    terms.add(parsed.number.slice(1));
    terms.add(parsed.nationalNumber);
  }
  return [...terms].filter((t) => t.length >= 3);
}

/**
 * The FTS5 MATCH expression for a typed query, or undefined when nothing searchable is left.
 * `region` (crm.defaultRegion) reads national phone numbers.
 */
export function ftsQuery(text: string, region?: string): string | undefined {
  const q = text.trim().slice(0, 200);
  if (PHONE_LIKE.test(q) && q.replace(/\D/g, '').length >= 5) {
    const terms = phoneTerms(q, region);
    if (terms.length) return `phones : (${terms.map(quoted).join(' OR ')})`;
  }
  const tokens = q.match(/[\p{L}\p{N}]+/gu)?.slice(0, 16) ?? [];
  if (!tokens.length) return undefined;
  return tokens.map(quoted).join(' AND ');
}
