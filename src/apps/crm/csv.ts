/**
 * Google Contacts and Outlook CSV exports in (csv-parse reads quoting and embedded newlines), and
 * Google's CSV out. Columns are found by header name, so either of Google's two layouts works.
 */
import { lazyRequire } from '../../core/lazy-require.ts';

const csvStream = lazyRequire<typeof import('csv-parse')>('csv-parse');
const csvSync = lazyRequire<typeof import('csv-parse/sync')>('csv-parse/sync');
import { UsageError } from '../../core/errors.ts';
import { boundedText, emptyContact, joinedName, normaliseBirthday, normaliseTag, phoneOf, type Address, type Contact, type ContactData } from './model.ts';

type Row = Record<string, string>;

/** Google separates several values in one cell with " ::: ". */
function multi(v: string | undefined): string[] {
  return (v ?? '')
    .split(':::')
    .map((x) => x.trim())
    .filter(Boolean);
}

function pick(row: Row, ...names: string[]): string | undefined {
  for (const n of names) {
    const v = row[n]?.trim();
    if (v) return v;
  }
  return undefined;
}

function numbered(row: Row, prefix: string): number[] {
  const out = new Set<number>();
  for (const k of Object.keys(row)) {
    const m = new RegExp(`^${prefix} (\\d+) - `).exec(k);
    if (m) out.add(Number(m[1]));
  }
  return [...out].sort((a, b) => a - b);
}

const OUTLOOK_EMAILS = ['E-mail Address', 'E-mail 2 Address', 'E-mail 3 Address'];
const OUTLOOK_PHONES: [string, string][] = [
  ['Mobile Phone', 'cell'],
  ['Home Phone', 'home'],
  ['Home Phone 2', 'home'],
  ['Business Phone', 'work'],
  ['Business Phone 2', 'work'],
  ['Other Phone', ''],
  ['Primary Phone', ''],
];
const OUTLOOK_ADDRESSES: [string, string][] = [
  ['Home', 'home'],
  ['Business', 'work'],
  ['Other', ''],
];

const CSV_OPTIONS = { columns: true, skip_empty_lines: true, relax_column_count: true, trim: false, max_record_size: 1024 * 1024 } as const;

export function parseContactsCsv(text: string, region: string | undefined): ContactData[] {
  let rows: Row[];
  try {
    rows = csvSync().parse(text.replace(/^\uFEFF/, ''), CSV_OPTIONS) as Row[];
  } catch (err) {
    throw new UsageError(`not a CSV file: ${(err as Error).message.slice(0, 120)}`);
  }
  return rows.map((row) => rowToContact(row, region)).filter((d): d is ContactData => d !== undefined);
}

/** Text fed to the streaming parser at a time, with `pause` between. */
const CSV_SLICE_CHARS = 64 * 1024;

/**
 * parseContactsCsv for a large file: the text goes to csv-parse's streaming parser a slice at a time
 * and rows become contacts as they come, awaiting `pause` between slices, so a 32 MiB import does
 * not hold the event loop for the whole file.
 */
export async function parseContactsCsvInSlices(text: string, region: string | undefined, pause: () => Promise<void>): Promise<ContactData[]> {
  const out: ContactData[] = [];
  const parser = csvStream().parse(CSV_OPTIONS);
  let failed: Error | undefined;
  // A row that is no contact (a name too long) fails the import as the sync parser does; it must not
  // escape from the event handler.
  let refused: unknown;
  parser.on('error', (err: Error) => (failed ??= err));
  parser.on('readable', () => {
    for (let row = parser.read() as Row | null; row !== null && refused === undefined; row = parser.read() as Row | null) {
      try {
        const d = rowToContact(row, region);
        if (d) out.push(d);
      } catch (err) {
        refused = err;
      }
    }
  });
  const body = text.replace(/^\uFEFF/, '');
  for (let i = 0; i < body.length && !failed && refused === undefined; i += CSV_SLICE_CHARS) {
    parser.write(body.slice(i, i + CSV_SLICE_CHARS));
    await pause();
  }
  const ended = new Promise<void>((resolve) => parser.once('end', resolve).once('error', () => resolve()));
  if (!failed) {
    parser.end();
    await ended;
  }
  if (refused !== undefined) throw refused;
  if (failed) throw new UsageError(`not a CSV file: ${failed.message.slice(0, 120)}`);
  return out;
}

/** One row of a Google or Outlook export as a contact; undefined for a row without any name. */
function rowToContact(row: Row, region: string | undefined): ContactData | undefined {
  const given = pick(row, 'First Name', 'Given Name');
  const family = pick(row, 'Last Name', 'Family Name');
  const middle = pick(row, 'Middle Name', 'Additional Name');
  const prefix = pick(row, 'Name Prefix', 'Title');
  const suffix = pick(row, 'Name Suffix', 'Suffix');
  const name = Object.fromEntries(Object.entries({ given, family, middle, prefix, suffix }).filter(([, v]) => v)) as ContactData['name'];
  const d = emptyContact('');
  d.name = name;
  const company = pick(row, 'Organization Name', 'Organization 1 - Name', 'Company');
  const title = pick(row, 'Organization Title', 'Organization 1 - Title', 'Job Title');
  if (company) d.company = boundedText('company', company);
  if (title) d.title = boundedText('title', title);
  d.nicknames = multi(pick(row, 'Nickname'));
  const notes = pick(row, 'Notes');
  if (notes) d.notes = notes;
  const bday = pick(row, 'Birthday');
  if (bday) {
    try {
      d.birthday = normaliseBirthday(bday);
    } catch {
      /* an unreadable birthday (Outlook's 0/0/00) is left out */
    }
  }
  for (const label of multi(pick(row, 'Labels', 'Group Membership', 'Categories')).flatMap((l) => l.split(/[;,]/))) {
    const t = label.trim().replace(/^\*\s*/, '');
    if (!t || /^mycontacts$/i.test(t)) continue;
    try {
      d.tags.push(normaliseTag(t.replace(/\s+/g, '-')));
    } catch {
      /* a label that is no tag is skipped */
    }
  }
  for (const i of numbered(row, 'E-mail')) {
    const type = pick(row, `E-mail ${i} - Label`, `E-mail ${i} - Type`)
      ?.replace(/^\*\s*/, '')
      .toLowerCase();
    for (const v of multi(row[`E-mail ${i} - Value`])) d.emails.push({ value: v, ...(type ? { type } : {}) });
  }
  for (const k of OUTLOOK_EMAILS) if (row[k]?.trim()) d.emails.push({ value: row[k]!.trim() });
  for (const i of numbered(row, 'Phone')) {
    const type = pick(row, `Phone ${i} - Label`, `Phone ${i} - Type`)
      ?.replace(/^\*\s*/, '')
      .toLowerCase();
    for (const v of multi(row[`Phone ${i} - Value`])) if (/\d/.test(v)) d.phones.push(phoneOf(v, region, type === 'mobile' ? 'cell' : type));
  }
  for (const [k, type] of OUTLOOK_PHONES) if (row[k] && /\d/.test(row[k]!)) d.phones.push(phoneOf(row[k]!, region, type || undefined));
  for (const i of numbered(row, 'Address')) {
    const a: Address = {};
    const type = pick(row, `Address ${i} - Label`, `Address ${i} - Type`)
      ?.replace(/^\*\s*/, '')
      .toLowerCase();
    if (type) a.type = type;
    const fields: [keyof Address, string][] = [
      ['street', 'Street'],
      ['locality', 'City'],
      ['poBox', 'PO Box'],
      ['region', 'Region'],
      ['postcode', 'Postal Code'],
      ['country', 'Country'],
      ['extended', 'Extended Address'],
    ];
    for (const [key, col] of fields) {
      const v = row[`Address ${i} - ${col}`]?.trim();
      if (v) a[key] = v;
    }
    if (Object.keys(a).some((k) => k !== 'type')) d.addresses.push(a);
  }
  for (const [prefixWord, type] of OUTLOOK_ADDRESSES) {
    const a: Address = {};
    if (type) a.type = type;
    const fields: [keyof Address, string][] = [
      ['street', 'Street'],
      ['locality', 'City'],
      ['region', 'State'],
      ['postcode', 'Postal Code'],
      ['country', 'Country/Region'],
      ['poBox', 'PO Box'],
    ];
    for (const [key, col] of fields) {
      const v = row[`${prefixWord} ${col}`]?.trim();
      if (v) a[key] = v;
    }
    if (Object.keys(a).some((k) => k !== 'type')) d.addresses.push(a);
  }
  d.displayName = boundedText(
    'name',
    pick(row, 'Name', 'File As', 'Display Name') ?? (joinedName(name) || company || d.emails[0]?.value || d.phones[0]?.value || ''),
  );
  d.tags = [...new Set(d.tags)];
  return d.displayName ? d : undefined;
}

function cell(v: string | undefined): string {
  const s = v ?? '';
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** How many emails, phones and addresses the widest contact has: the CSV's column groups. */
export interface CsvShape {
  emails: number;
  phones: number;
  addresses: number;
}

/** Google Contacts CSV (the layout Google's import reads), a line at a time: the header, then one line per contact. */
export function csvWriter(shape: CsvShape): { header: string; row: (c: Contact) => string } {
  const maxE = Math.max(1, shape.emails);
  const maxP = Math.max(1, shape.phones);
  const maxA = Math.max(1, shape.addresses);
  const header = [
    'Name',
    'First Name',
    'Middle Name',
    'Last Name',
    'Name Prefix',
    'Name Suffix',
    'Nickname',
    'Organization Name',
    'Organization Title',
    'Birthday',
    'Notes',
    'Labels',
  ];
  for (let i = 1; i <= maxE; i++) header.push(`E-mail ${i} - Label`, `E-mail ${i} - Value`);
  for (let i = 1; i <= maxP; i++) header.push(`Phone ${i} - Label`, `Phone ${i} - Value`);
  for (let i = 1; i <= maxA; i++)
    header.push(...['Label', 'Street', 'City', 'PO Box', 'Region', 'Postal Code', 'Country', 'Extended Address'].map((f) => `Address ${i} - ${f}`));
  const row = (c: Contact) => {
    const cells = [
      c.displayName,
      c.name.given,
      c.name.middle,
      c.name.family,
      c.name.prefix,
      c.name.suffix,
      c.nicknames.join(' ::: '),
      c.company,
      c.title,
      c.birthday,
      c.notes,
      c.tags.join(' ::: '),
    ];
    for (let i = 0; i < maxE; i++) cells.push(c.emails[i]?.type, c.emails[i]?.value);
    for (let i = 0; i < maxP; i++) cells.push(c.phones[i]?.type, c.phones[i]?.value);
    for (let i = 0; i < maxA; i++) {
      const a = c.addresses[i];
      cells.push(a?.type, a?.street, a?.locality, a?.poBox, a?.region, a?.postcode, a?.country, a?.extended);
    }
    return cells.map(cell).join(',') + '\r\n';
  };
  return { header: header.map(cell).join(',') + '\r\n', row };
}

/** Contacts as Google Contacts CSV. */
export function contactsToCsv(contacts: Contact[]): string {
  const w = csvWriter({
    emails: Math.max(0, ...contacts.map((c) => c.emails.length)),
    phones: Math.max(0, ...contacts.map((c) => c.phones.length)),
    addresses: Math.max(0, ...contacts.map((c) => c.addresses.length)),
  });
  return w.header + contacts.map(w.row).join('');
}
