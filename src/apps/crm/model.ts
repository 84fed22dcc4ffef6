/**
 * The CRM's data, as plain values: what a contact holds, and the rules that normalise what people
 * type (phones to E.164 for matching, emails to lower case, tags, birthdays with an optional year).
 */
import { randomUUID } from 'node:crypto';
import type { CountryCode } from 'libphonenumber-js';
import { lazyRequire } from '../../core/lazy-require.ts';

const phoneNumbers = lazyRequire<typeof import('libphonenumber-js')>('libphonenumber-js');
import { UsageError } from '../../core/errors.ts';

export interface NameParts {
  given?: string;
  family?: string;
  middle?: string;
  prefix?: string;
  suffix?: string;
}

export interface Email {
  value: string;
  type?: string;
}

export interface Phone {
  /** As typed (or as the vCard had it). */
  value: string;
  type?: string;
  /** E.164 (+4930123456), when the number parses; the key for matching and merging. */
  e164?: string;
}

export interface Address {
  type?: string;
  poBox?: string;
  extended?: string;
  street?: string;
  locality?: string;
  region?: string;
  postcode?: string;
  country?: string;
}

export const INTERACTION_KINDS = ['met', 'called', 'messaged', 'wrote'] as const;
export type InteractionKind = (typeof INTERACTION_KINDS)[number];

/** What a contact holds (everything but bookkeeping). */
export interface ContactData {
  uid: string;
  displayName: string;
  name: NameParts;
  nicknames: string[];
  emails: Email[];
  phones: Phone[];
  addresses: Address[];
  /** YYYY-MM-DD, or --MM-DD when the year is unknown. */
  birthday?: string;
  company?: string;
  title?: string;
  howMet?: string;
  notes?: string;
  stayInTouchDays?: number;
  /** A URI (data: or http[s]:), kept exactly as it came. */
  photo?: string;
  tags: string[];
  /** vCard properties labd does not model (jCard), carried through import and export. */
  extra: unknown[];
}

export interface Link {
  id: number;
  displayName: string;
  relation: string;
}

export interface Interaction {
  id: number;
  kind: InteractionKind | 'note';
  at: Date;
  note: string;
}

export interface Contact extends ContactData {
  id: number;
  lastContactedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  /** Address-book revision of the last change: the CardDAV ETag. */
  rev: number;
  /** CardDAV resource name (UID.vcf unless a client chose one). */
  href: string;
  links: Link[];
}

/** A contact's name parts joined, for cards without FN. */
export function joinedName(n: NameParts): string {
  return [n.prefix, n.given, n.middle, n.family, n.suffix].filter((p) => p && p.trim()).join(' ');
}

/** Splits a typed full name into given and family (last word), the way address books do. */
export function splitName(full: string): NameParts {
  const words = full.trim().split(/\s+/);
  if (words.length < 2) return { given: words[0] ?? '' };
  return { given: words.slice(0, -1).join(' '), family: words.at(-1) };
}

export function newUid(): string {
  return randomUUID();
}

export function emptyContact(displayName: string): ContactData {
  return { uid: newUid(), displayName, name: splitName(displayName), nicknames: [], emails: [], phones: [], addresses: [], tags: [], extra: [] };
}

const EMAIL = /^[^\s@]+@[^\s@]+$/;

export function normaliseEmail(value: string): string {
  return value.trim().toLowerCase();
}

export function checkEmail(value: string): Email {
  const v = value.trim();
  if (v.length > 320 || !EMAIL.test(v)) throw new UsageError(`not an email address: '${v.slice(0, 60)}'`);
  return { value: v };
}

/**
 * A phone as typed, with its E.164 form when libphonenumber-js can parse it (an international
 * number, or a national one in the configured default region).
 */
export function phoneOf(value: string, region: string | undefined, type?: string): Phone {
  const v = value.trim();
  if (!v || v.length > 64 || !/\d/.test(v)) throw new UsageError(`not a phone number: '${v.slice(0, 60)}'`);
  const e164 = toE164(v, region);
  return { value: v, ...(type ? { type } : {}), ...(e164 ? { e164 } : {}) };
}

/**
 * A phone typed into a command (`--phone`): as phoneOf, and an international number (`+…`) that is
 * not a possible number is refused rather than stored, e.g. `+44` alone, which is what is left of
 * `--phone "+44 20 7946 0958"` when the rest of the number went elsewhere.
 */
export function typedPhone(value: string, region: string | undefined): Phone {
  const p = phoneOf(value, region);
  if (p.value.startsWith('+') && !p.e164)
    throw new UsageError(
      `not a whole phone number: '${p.value.slice(0, 40)}'${/^\+\d{1,3}$/.test(p.value) ? ' (a country code alone)' : ''}: give the number with its country code, e.g. --phone +44 20 7946 0958`,
    );
  return p;
}

/** Words of a phone number typed with spaces (`+44 20 7946 0958` after ssh joined them): they continue `--phone`. */
export const PHONE_WORD = /^\(?\d[\d().\-/]*$/;

export function toE164(value: string, region: string | undefined): string | undefined {
  const stripped = value.replace(/^tel:/i, '');
  const parsed = phoneNumbers().parsePhoneNumberFromString(stripped, region ? { defaultCountry: region as CountryCode } : undefined);
  return parsed?.isPossible() ? parsed.number : undefined;
}

/** The matching key of a phone: E.164, else its digits. */
export function phoneKey(p: Phone): string {
  return p.e164 ?? p.value.replace(/\D/g, '');
}

/** The national significant number of an E.164 phone (digits after the country code), for search tokens. */
export function nationalDigits(e164: string): string | undefined {
  return phoneNumbers().parsePhoneNumberFromString(e164)?.nationalNumber;
}

const TAG = /^[\p{L}\p{N}][\p{L}\p{N}_.\-/]{0,39}$/u;

export function normaliseTag(tag: string): string {
  const t = tag.trim().replace(/^#/, '').toLowerCase();
  if (!TAG.test(t)) throw new UsageError(`bad tag '${tag.slice(0, 40)}': letters, digits and _ . - /, at most 40`);
  return t;
}

/**
 * A birthday as YYYY-MM-DD or --MM-DD (year unknown). Accepts MM-DD and vCard's basic forms
 * (19800312, --0312) too.
 */
export function normaliseBirthday(text: string): string {
  const t = text.trim();
  let m = /^(\d{4})-?(\d{2})-?(\d{2})$/.exec(t);
  if (m) return checkedDate(`${m[1]}-${m[2]}-${m[3]}`, Number(m[1]), Number(m[2]), Number(m[3]));
  m = /^(?:--)?(\d{2})-?(\d{2})$/.exec(t);
  if (m) return checkedDate(`--${m[1]}-${m[2]}`, 2000, Number(m[1]), Number(m[2]));
  throw new UsageError(`birthday: expected YYYY-MM-DD or MM-DD, got '${t.slice(0, 40)}'`);
}

function checkedDate(text: string, y: number, mo: number, d: number): string {
  const date = new Date(Date.UTC(y, mo - 1, d));
  if (date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) throw new UsageError(`birthday: no such date '${text}'`);
  return text;
}

/** Month and day of a birthday. */
export function birthdayMonthDay(b: string): { month: number; day: number; year?: number } {
  const m = /^(\d{4}|-)-?(\d{2})-(\d{2})$/.exec(b) ?? /^--(\d{2})-(\d{2})$/.exec(b);
  if (!m) return { month: 0, day: 0 };
  if (m.length === 3) return { month: Number(m[1]), day: Number(m[2]) };
  return { month: Number(m[2]), day: Number(m[3]), ...(m[1] !== '-' ? { year: Number(m[1]) } : {}) };
}

/** Days from `now` (UTC date) to the next birthday (0 = today). Feb 29 falls on Mar 1 in other years. */
export function daysToBirthday(b: string, now: Date): number | undefined {
  const { month, day } = birthdayMonthDay(b);
  if (!month) return undefined;
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  for (const year of [now.getUTCFullYear(), now.getUTCFullYear() + 1]) {
    const next = Date.UTC(year, month - 1, day);
    if (next >= today) return Math.round((next - today) / 86400000);
  }
  return undefined;
}

/** Links are stored both ways; each relation has its inverse. */
export const RELATIONS: Record<string, string> = {
  partner: 'partner',
  spouse: 'spouse',
  child: 'parent',
  parent: 'child',
  sibling: 'sibling',
  relative: 'relative',
  friend: 'friend',
  colleague: 'colleague',
  manager: 'report',
  report: 'manager',
  mentor: 'mentee',
  mentee: 'mentor',
  neighbour: 'neighbour',
  contact: 'contact',
};

export function checkRelation(r: string): string {
  const k = r.trim().toLowerCase();
  if (!(k in RELATIONS)) throw new UsageError(`--as: one of ${Object.keys(RELATIONS).join(', ')}`);
  return k;
}

/** Bounded text fields: names and short fields 200 characters, notes 20,000. */
export function boundedText(label: string, value: string, max = 200): string {
  const v = value.trim();
  if (v.length > max) throw new UsageError(`${label}: at most ${max} characters`);
  return v;
}

/** The next time a stay-in-touch contact is due (null when not set). */
export function dueAt(c: Pick<Contact, 'stayInTouchDays' | 'lastContactedAt' | 'createdAt'>): Date | null {
  if (!c.stayInTouchDays) return null;
  const base = c.lastContactedAt ?? c.createdAt;
  return new Date(base.getTime() + c.stayInTouchDays * 86400000);
}
