/**
 * vCard 3.0 and 4.0 in and out, with ical.js (it parses and writes jCard, RFC 7095): folded lines,
 * escaping, encodings and many cards per file are its business, not ours. Properties labd does not
 * model ride along in `extra`, so a card exported gives back what was imported.
 */
import type ICALModule from 'ical.js';
import { lazyRequire } from '../../core/lazy-require.ts';

const ical = lazyRequire<typeof ICALModule>('ical.js');
import { UsageError } from '../../core/errors.ts';
import {
  boundedText,
  joinedName,
  newUid,
  normaliseBirthday,
  normaliseTag,
  phoneOf,
  RELATIONS,
  type Address,
  type Contact,
  type ContactData,
  type NameParts,
} from './model.ts';

/** A jCard property: [name, params, type, ...values]. */
export type JProp = [string, Record<string, unknown>, string, ...unknown[]];
type JCard = ['vcard', JProp[], unknown[]];

export interface ParsedCard {
  data: ContactData;
  /** RELATED properties pointing at other cards by UID: linked once every card is in. */
  related: { uid: string; relation: string }[];
}

/** The vCard types RELATED may carry (RFC 6350 §6.6.6), and labd's relations for them. */
const FROM_VCARD_RELATED: Record<string, string> = {
  spouse: 'spouse',
  sweetheart: 'partner',
  child: 'child',
  parent: 'parent',
  sibling: 'sibling',
  kin: 'relative',
  friend: 'friend',
  colleague: 'colleague',
  'co-worker': 'colleague',
  neighbor: 'neighbour',
  contact: 'contact',
};
const TO_VCARD_RELATED: Record<string, string> = {
  spouse: 'spouse',
  partner: 'sweetheart',
  child: 'child',
  parent: 'parent',
  sibling: 'sibling',
  relative: 'kin',
  friend: 'friend',
  colleague: 'colleague',
  neighbour: 'neighbor',
  contact: 'contact',
};

function str(v: unknown): string {
  if (Array.isArray(v)) return v.map(str).join(',');
  return v === null || v === undefined ? '' : String(v);
}

function typeParam(params: Record<string, unknown>): string | undefined {
  const t = params.type;
  const list = (Array.isArray(t) ? t : t === undefined ? [] : [t])
    .map((x) => String(x).toLowerCase())
    .filter((x) => !['internet', 'pref', 'voice', 'x400'].includes(x));
  return list.length ? list.join(',') : undefined;
}

function values(p: JProp): unknown[] {
  return p.slice(3);
}

/** Parses one or many vCards (3.0 or 4.0). Throws UsageError on text that is not vCard. */
export function parseVCards(text: string, region: string | undefined): ParsedCard[] {
  let parsed: unknown;
  try {
    parsed = ical().parse(text);
  } catch (err) {
    throw new UsageError(`not a vCard: ${(err as Error).message.slice(0, 120)}`);
  }
  const cards = (Array.isArray(parsed) && parsed[0] === 'vcard' ? [parsed] : (parsed as unknown[])) as JCard[];
  if (!Array.isArray(cards)) throw new UsageError('not a vCard');
  return cards.filter((c) => Array.isArray(c) && c[0] === 'vcard').map((c) => cardToContact(c, region));
}

/**
 * Parses many vCards a slice at a time (`perSlice` cards), awaiting `pause` between slices so a large
 * import does not hold the event loop for the whole file. A line that starts with BEGIN:VCARD starts
 * a card (a folded line starts with white space, so it never does).
 */
export async function parseVCardsInSlices(text: string, region: string | undefined, perSlice: number, pause: () => Promise<void>): Promise<ParsedCard[]> {
  const starts: number[] = [];
  const begin = /^BEGIN:VCARD/gim;
  for (let m = begin.exec(text); m; m = begin.exec(text)) starts.push(m.index);
  if (starts.length <= perSlice) return parseVCards(text, region);
  const out: ParsedCard[] = [];
  for (let i = 0; i < starts.length; i += perSlice) {
    const end = i + perSlice < starts.length ? starts[i + perSlice] : text.length;
    for (const card of parseVCards(text.slice(i === 0 ? 0 : starts[i], end), region)) out.push(card);
    await pause();
  }
  return out;
}

export function cardToContact(card: JCard, region: string | undefined): ParsedCard {
  const props = card[1];
  const version = str(props.find((p) => p[0] === 'version')?.[3] ?? '4.0');
  const d: ContactData = { uid: '', displayName: '', name: {}, nicknames: [], emails: [], phones: [], addresses: [], tags: [], extra: [] };
  const related: ParsedCard['related'] = [];
  for (const p of props) {
    const [name, params] = p;
    const v = values(p);
    // A writer that leaves commas unescaped in a text value (Google does) makes ical.js see several
    // values: joined again, the text is what was written.
    const first = v.map(str).join(',');
    let kept = true;
    try {
      switch (name) {
        case 'version':
        case 'prodid':
        case 'rev':
          break;
        case 'uid':
          d.uid = first.replace(/^urn:uuid:/i, '');
          break;
        case 'fn':
          d.displayName = boundedText('FN', first);
          break;
        case 'n': {
          const parts = (Array.isArray(v[0]) ? v[0] : first.split(';')) as unknown[];
          const [family, given, middle, prefix, suffix] = parts.map((x) => str(x).replace(/,/g, ' ').trim());
          const n: NameParts = {};
          if (family) n.family = family;
          if (given) n.given = given;
          if (middle) n.middle = middle;
          if (prefix) n.prefix = prefix;
          if (suffix) n.suffix = suffix;
          d.name = n;
          break;
        }
        case 'nickname':
          d.nicknames.push(
            ...v
              .flatMap((x) => str(x).split(','))
              .map((x) => x.trim())
              .filter(Boolean),
          );
          break;
        case 'email':
          if (first.trim()) d.emails.push({ value: first.trim(), ...(typeParam(params) ? { type: typeParam(params) } : {}) });
          break;
        case 'tel':
          if (/\d/.test(first)) d.phones.push(phoneOf(first.replace(/^tel:/i, ''), region, typeParam(params)));
          else kept = false;
          break;
        case 'adr': {
          const parts = (Array.isArray(v[0]) ? v[0] : first.split(';')).map(str);
          const keys: (keyof Address)[] = ['poBox', 'extended', 'street', 'locality', 'region', 'postcode', 'country'];
          const a: Address = {};
          const t = typeParam(params);
          if (t) a.type = t;
          keys.forEach((k, i) => {
            if (parts[i]?.trim()) a[k] = parts[i]!.trim();
          });
          d.addresses.push(a);
          break;
        }
        case 'bday':
          if (d.birthday) kept = false;
          else d.birthday = normaliseBirthday(first.slice(0, first.startsWith('--') ? 7 : 10));
          break;
        case 'org':
          d.company = boundedText('ORG', Array.isArray(v[0]) ? str((v[0] as unknown[])[0]) : first.split(';')[0]!);
          break;
        case 'title':
          d.title = boundedText('TITLE', first);
          break;
        case 'note':
          d.notes = [d.notes, first].filter(Boolean).join('\n');
          break;
        case 'categories':
          for (const t of v.flatMap((x) => str(x).split(','))) {
            const tag = t.trim().replace(/\s+/g, '-');
            if (tag) d.tags.push(normaliseTag(tag));
          }
          break;
        case 'photo':
          if (d.photo) kept = false;
          else d.photo = photoUri(first, params, version);
          break;
        case 'related': {
          const relation = String(params['x-labd-relation'] ?? '') || FROM_VCARD_RELATED[typeParam(params) ?? 'contact'] || 'contact';
          if (/^urn:uuid:/i.test(first) && relation in RELATIONS) related.push({ uid: first.replace(/^urn:uuid:/i, ''), relation });
          else kept = false;
          break;
        }
        case 'x-labd-how-met':
          d.howMet = boundedText('X-LABD-HOW-MET', first, 2000);
          break;
        case 'x-labd-stay-in-touch-days': {
          const n = Number(first);
          if (Number.isInteger(n) && n > 0 && n <= 3650) d.stayInTouchDays = n;
          else kept = false;
          break;
        }
        default:
          kept = false;
      }
    } catch {
      kept = false;
    }
    // Anything not taken into the model (unknown, or a second BDAY or PHOTO) rides along as it came.
    if (!kept) d.extra.push(p);
  }
  if (!d.uid) d.uid = newUid();
  if (!d.displayName) d.displayName = joinedName(d.name) || d.company || d.emails[0]?.value || d.phones[0]?.value || 'unnamed';
  d.tags = [...new Set(d.tags)];
  return { data: d, related };
}

/** A photo as a URI: v4 cards carry one; v3's inline base64 (ENCODING=b) becomes a data: URI, same bytes. */
function photoUri(value: string, params: Record<string, unknown>, version: string): string {
  const encoding = String(params.encoding ?? '').toLowerCase();
  if (encoding === 'b' || encoding === 'base64' || (version.startsWith('3') && !/^[a-z][a-z0-9+.-]*:/i.test(value))) {
    const type = String(params.type ?? 'jpeg').toLowerCase();
    const mime = type.includes('/') ? type : `image/${type}`;
    return `data:${mime};base64,${value.replace(/\s+/g, '')}`;
  }
  return value;
}

/** A contact as a vCard 4.0 (CRLF lines, folded at 75 octets by ical.js). */
export function contactToVCard(
  c: ContactData & Partial<Pick<Contact, 'links' | 'updatedAt'>>,
  uidOf: (id: number) => string | undefined = () => undefined,
): string {
  return ical().stringify(['vcard', contactProps(c, uidOf), []] as unknown as Parameters<typeof ICALModule.stringify>[0]);
}

/** A contact's vCard 4.0 properties as jCard ([name, params, type, ...values]), not yet text. */
export function contactProps(
  c: ContactData & Partial<Pick<Contact, 'links' | 'updatedAt'>>,
  uidOf: (id: number) => string | undefined = () => undefined,
): JProp[] {
  const props: JProp[] = [
    ['version', {}, 'text', '4.0'],
    ['prodid', {}, 'unknown', '-//labd//crm//EN'],
    ['uid', {}, 'text', c.uid],
    ['fn', {}, 'text', c.displayName],
    ['n', {}, 'text', [c.name.family ?? '', c.name.given ?? '', c.name.middle ?? '', c.name.prefix ?? '', c.name.suffix ?? '']],
  ];
  if (c.nicknames.length) props.push(['nickname', {}, 'text', ...c.nicknames]);
  for (const e of c.emails) props.push(['email', e.type ? { type: e.type.split(',') } : {}, 'text', e.value]);
  for (const p of c.phones) props.push(['tel', p.type ? { type: p.type.split(',') } : {}, 'text', p.value]);
  for (const a of c.addresses) {
    props.push([
      'adr',
      a.type ? { type: a.type.split(',') } : {},
      'text',
      [a.poBox ?? '', a.extended ?? '', a.street ?? '', a.locality ?? '', a.region ?? '', a.postcode ?? '', a.country ?? ''],
    ]);
  }
  if (c.birthday) props.push(['bday', {}, c.birthday.startsWith('--') ? 'date-and-or-time' : 'date', c.birthday]);
  if (c.company) props.push(['org', {}, 'text', c.company]);
  if (c.title) props.push(['title', {}, 'text', c.title]);
  if (c.notes) props.push(['note', {}, 'text', c.notes]);
  if (c.tags.length) props.push(['categories', {}, 'text', ...c.tags]);
  if (c.photo) props.push(['photo', {}, 'uri', c.photo]);
  for (const l of c.links ?? []) {
    const uid = uidOf(l.id);
    if (uid) props.push(['related', { type: TO_VCARD_RELATED[l.relation] ?? 'contact', 'x-labd-relation': l.relation }, 'uri', `urn:uuid:${uid}`]);
  }
  if (c.howMet) props.push(['x-labd-how-met', {}, 'text', c.howMet]);
  if (c.stayInTouchDays) props.push(['x-labd-stay-in-touch-days', {}, 'unknown', String(c.stayInTouchDays)]);
  for (const p of c.extra as JProp[]) if (Array.isArray(p) && typeof p[0] === 'string') props.push(p);
  if (c.updatedAt) props.push(['rev', {}, 'timestamp', c.updatedAt.toISOString().replace(/\.\d+Z$/, 'Z')]);
  return props;
}
