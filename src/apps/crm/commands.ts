/**
 * `crm …`: the personal CRM's commands. Each user's CRM is their own: no command takes a user, every
 * store call passes the actor's own id, and each command's `authorize` refuses an actor without an
 * account and answers "not found" for a contact that is not in the actor's own book (admins too).
 */
import { z } from 'zod';
import { NotFound, PermissionDenied, UsageError } from '../../core/errors.ts';
import type { CommandContext } from '../../ops/context.ts';
import { commandHandle, defineCommand, type AnyCommand, type ResultOf } from '../../ops/registry.ts';
import type { Result } from '../../ops/result.ts';
import { readStdinText } from '../../ops/stdin.ts';
import { parseContactsCsvInSlices } from './csv.ts';
import { contactJson, writeExport } from './export.ts';
import {
  boundedText,
  checkEmail,
  checkRelation,
  daysToBirthday,
  dueAt,
  emptyContact,
  normaliseBirthday,
  normaliseTag,
  phoneKey,
  PHONE_WORD,
  typedPhone,
  RELATIONS,
  splitName,
  birthdayMonthDay,
  type Contact,
  type ContactData,
  type Interaction,
  type InteractionKind,
} from './model.ts';
import { REMINDER_CHANNELS, type ContactSummary, type CrmStore } from './store.ts';
import { contactToVCard, parseVCards, parseVCardsInSlices, type ParsedCard } from './vcard.ts';
import { CardTooLarge, checkCardSize, checkQuota, contactBytes, QuotaExceeded, type CrmLimits, type CrmUsage } from './quota.ts';

export interface CrmDeps {
  store: CrmStore;
  /** crm.defaultRegion: national phone numbers are read in this region (ISO 3166 code, e.g. DE). */
  region?: string;
  /** crm.maxImportBytes: the most `crm import` / `crm add` read from stdin. */
  maxImportBytes: number;
  /** The channels labd has for daily reminders (empty: none configured). */
  reminderChannels?: readonly ('matrix' | 'apprise')[];
  /** crm.quota and crm.maxCardBytes (default: none). */
  limits?: CrmLimits;
}

/** The actor's own user id: the only owner any CRM command reads or writes. */
export function crmOwner(ctx: CommandContext): number {
  if (ctx.actor.userId === null) throw new PermissionDenied('permission denied: the CRM belongs to a labd user, and this actor has none');
  return ctx.actor.userId;
}

/** A contact by ID, or by exact name, or by a search that finds exactly one, in the owner's own book. */
export async function resolveContact(store: CrmStore, owner: number, ref: string): Promise<Contact> {
  const text = ref.trim();
  if (/^\d+$/.test(text)) {
    const c = await store.get(owner, Number(text));
    if (!c) throw new NotFound(`no contact ${text}`);
    return c;
  }
  let found = await store.findByName(owner, text);
  if (!found.length) found = await store.search(owner, { query: text, limit: 6 });
  if (found.length === 1) return (await store.get(owner, found[0]!.id))!;
  if (!found.length) throw new NotFound(`no contact '${text.slice(0, 60)}'`);
  throw new UsageError(
    `'${text.slice(0, 60)}' is more than one contact: ${found
      .slice(0, 5)
      .map((c) => `${c.id} ${c.displayName}`)
      .join(', ')}; give the ID`,
  );
}

const idArg = z.string().min(1).max(200).describe('the contact: its ID, or its name');
const words = z.array(z.string()).default([]);

function ago(d: Date | null, now: Date): string {
  if (!d) return 'never';
  const days = Math.floor((now.getTime() - d.getTime()) / 86400000);
  return days <= 0 ? 'today' : days === 1 ? 'yesterday' : `${days}d ago`;
}

function summaryJson(c: ContactSummary) {
  return {
    id: c.id,
    uid: c.uid,
    name: c.displayName,
    emails: c.emails,
    phones: c.phones,
    company: c.company ?? null,
    tags: c.tags,
    birthday: c.birthday ?? null,
    stayInTouchDays: c.stayInTouchDays ?? null,
    lastContactedAt: c.lastContactedAt?.toISOString() ?? null,
  };
}

function dataOf(c: Contact): ContactData {
  const { uid, displayName, name, nicknames, emails, phones, addresses, birthday, company, title, howMet, notes, stayInTouchDays, photo, tags, extra } = c;
  return { uid, displayName, name, nicknames, emails, phones, addresses, birthday, company, title, howMet, notes, stayInTouchDays, photo, tags, extra };
}

/** What is due: overdue (or soon due) stay-in-touch contacts and birthdays in the next `days`. */
export async function dueList(store: CrmStore, owner: number, now: Date, days: number) {
  const out: { id: number; name: string; why: string; kind: 'overdue' | 'soon' | 'birthday'; inDays: number }[] = [];
  for (const c of await store.withReminders(owner)) {
    const due = dueAt({ stayInTouchDays: c.stayInTouchDays, lastContactedAt: c.lastContactedAt, createdAt: c.createdAt });
    if (due) {
      const inDays = Math.ceil((due.getTime() - now.getTime()) / 86400000);
      if (inDays <= 0)
        out.push({
          id: c.id,
          name: c.displayName,
          kind: 'overdue',
          inDays,
          why: `overdue${inDays < 0 ? ` by ${-inDays}d` : ''} (every ${c.stayInTouchDays}d, last ${ago(c.lastContactedAt, now)})`,
        });
      else if (inDays <= days)
        out.push({
          id: c.id,
          name: c.displayName,
          kind: 'soon',
          inDays,
          why: `due in ${inDays}d (every ${c.stayInTouchDays}d, last ${ago(c.lastContactedAt, now)})`,
        });
    }
    if (c.birthday) {
      const inDays = daysToBirthday(c.birthday, now);
      if (inDays !== undefined && inDays <= days) {
        const { year } = birthdayMonthDay(c.birthday);
        const turns = year ? ` (turns ${now.getUTCFullYear() + (now.getUTCMonth() + 1 > birthdayMonthDay(c.birthday).month ? 1 : 0) - year})` : '';
        out.push({ id: c.id, name: c.displayName, kind: 'birthday', inDays, why: `${inDays === 0 ? 'birthday today' : `birthday in ${inDays}d`}${turns}` });
      }
    }
  }
  return out.sort((a, b) => a.inDays - b.inDays || a.name.localeCompare(b.name));
}

/** Folds a card into an existing contact: lists are joined without duplicates, empty fields filled. */
export function mergeInto(base: ContactData, add: ContactData): ContactData {
  const uniq = <T>(list: T[], key: (x: T) => string) => {
    const seen = new Set<string>();
    return list.filter((x) => {
      const k = key(x);
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  };
  const notes =
    base.notes && add.notes && base.notes !== add.notes && !base.notes.includes(add.notes) ? `${base.notes}\n${add.notes}` : (base.notes ?? add.notes);
  return {
    ...base,
    name: Object.keys(base.name).length ? base.name : add.name,
    nicknames: uniq([...base.nicknames, ...add.nicknames], (x) => x.toLowerCase()),
    emails: uniq([...base.emails, ...add.emails], (e) => e.value.toLowerCase()),
    phones: uniq([...base.phones, ...add.phones], phoneKey),
    addresses: uniq([...base.addresses, ...add.addresses], (a) => JSON.stringify([a.street, a.locality, a.postcode, a.country])),
    birthday: base.birthday ?? add.birthday,
    company: base.company ?? add.company,
    title: base.title ?? add.title,
    howMet: base.howMet ?? add.howMet,
    notes,
    stayInTouchDays: base.stayInTouchDays ?? add.stayInTouchDays,
    photo: base.photo ?? add.photo,
    tags: uniq([...base.tags, ...add.tags], (t) => t),
    extra: uniq([...base.extra, ...add.extra], (x) => JSON.stringify(x)),
  };
}

export interface ImportReport {
  created: { id: number; name: string }[];
  merged: { id: number; name: string; by: string }[];
  linked: number;
}

export interface ImportOptions {
  /** Told how many cards are done, every PROGRESS_EVERY cards. */
  progress?: (done: number) => void;
  /** Each card is checked against crm.maxCardBytes up front, and the import stops at the quota. */
  limits?: CrmLimits;
}

/** Cards parsed at a time, and written between two reads of the owner's usage. */
export const IMPORT_BATCH = 200;
/** The longest stretch an import holds the event loop before it lets others in. */
const SLICE_MS = 30;
const PROGRESS_EVERY = 1000;

/** Lets the event loop answer others (timers, sockets) before the next batch. */
export const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Runs `step(0)` … `step(n - 1)` in slices: each slice is one transaction of the store, at most about
 * SLICE_MS long, with a turn of the event loop between two. A transaction per card cost a commit per
 * card, most of an import's time; a throw rolls back the slice it happened in.
 */
async function inSlices(store: CrmStore, n: number, step: (i: number) => Promise<void>, stopped: () => boolean): Promise<void> {
  let i = 0;
  while (i < n && !stopped()) {
    if (i > 0) await yieldToLoop();
    await store.batch(async () => {
      const since = performance.now();
      do await step(i++);
      while (i < n && !stopped() && performance.now() - since < SLICE_MS);
    });
  }
}

/**
 * Adds cards to the owner's book, merging each into a contact with the same UID, email or phone.
 * Writes in slices of SLICE_MS, one transaction each, with a turn of the event loop between them.
 * With limits, a card over crm.maxCardBytes refuses the whole import before anything is written; at
 * the quota the import stops (QuotaExceeded, saying how many were imported): what came before stays,
 * nothing after it is stored.
 */
export async function importCards(store: CrmStore, owner: number, cards: ParsedCard[], opts: ImportOptions = {}): Promise<ImportReport> {
  const { limits, progress } = opts;
  const sizes = limits ? cards.map((c) => checkCardSize(c.data, limits.maxCardBytes)) : [];
  const report: ImportReport = { created: [], merged: [], linked: 0 };
  const idByUid = new Map<string, number>();
  let used: CrmUsage | undefined;
  // Set at the quota: the slice so far is committed, and the import stops there.
  let refused: Error | undefined;
  const stopped = () => refused !== undefined;
  await inSlices(
    store,
    cards.length,
    async (n) => {
      // Re-read each batch: other writes (CardDAV, another session) count too.
      if (limits && n % IMPORT_BATCH === 0) used = await store.usage(owner);
      const d = cards[n]!.data;
      let existing = await store.getByUid(owner, d.uid);
      let by = 'uid';
      if (!existing) {
        const ids = await store.findByHandles(
          owner,
          d.emails.map((e) => e.value.toLowerCase()),
          d.phones.map(phoneKey),
        );
        if (ids.length) {
          existing = await store.get(owner, ids[0]!);
          const email = d.emails.find((e) => existing!.emails.some((x) => x.value.toLowerCase() === e.value.toLowerCase()));
          const phone = d.phones.find((p) => existing!.phones.some((x) => phoneKey(x) === phoneKey(p)));
          by = email ? `email ${email.value}` : phone ? `phone ${phone.value}` : 'email or phone';
        }
      }
      try {
        if (existing) {
          const before = dataOf(existing);
          const merged = mergeInto(before, d);
          if (JSON.stringify(merged) !== JSON.stringify(before)) {
            if (limits && used) {
              const grows = checkCardSize(merged, limits.maxCardBytes) - contactBytes(before);
              checkQuota(used, 0, grows, limits.quota);
              used.bytes += Math.max(0, grows);
            }
            await store.update(owner, existing.id, merged);
          }
          report.merged.push({ id: existing.id, name: existing.displayName, by });
          idByUid.set(d.uid, existing.id);
        } else {
          if (limits && used) {
            checkQuota(used, 1, sizes[n]!, limits.quota);
            used.cards++;
            used.bytes += sizes[n]!;
          }
          const id = await store.insert(owner, d);
          report.created.push({ id, name: d.displayName });
          idByUid.set(d.uid, id);
        }
      } catch (err) {
        if (!(err instanceof QuotaExceeded) && !(err instanceof CardTooLarge)) throw err;
        refused = new QuotaExceeded(
          `${err.message.replace(/; nothing was stored$/, '')}: imported ${n} of ${cards.length} cards (${report.created.length} created, ${report.merged.length} merged); nothing from card ${n + 1} on was stored`,
        );
        return;
      }
      if ((n + 1) % PROGRESS_EVERY === 0) progress?.(n + 1);
    },
    stopped,
  );
  if (refused) throw refused;
  await inSlices(
    store,
    cards.length,
    async (n) => {
      const card = cards[n]!;
      const from = idByUid.get(card.data.uid)!;
      for (const r of card.related) {
        const to = idByUid.get(r.uid) ?? (await store.getByUid(owner, r.uid))?.id;
        if (to === undefined || to === from) continue;
        const existing = (await store.get(owner, from))!.links.some((l) => l.id === to && l.relation === r.relation);
        if (!existing) {
          await store.link(owner, from, to, r.relation, RELATIONS[r.relation]!);
          report.linked++;
        }
      }
    },
    () => false,
  );
  return report;
}

const EDITABLE = {
  name: z.string().max(200).optional().describe('display name (also sets given and family)'),
  given: z.string().max(200).optional().describe('given name'),
  family: z.string().max(200).optional().describe('family name'),
  nickname: z.array(z.string().max(100)).optional().describe('nicknames (replaces them; repeat or comma-separate)'),
  email: z.array(z.string()).optional().describe('emails (replaces them; repeat or comma-separate)'),
  phone: z.array(z.string()).optional().describe('phones (replaces them; repeat or comma-separate)'),
  company: z.string().max(200).optional().describe('company (none clears)'),
  title: z.string().max(200).optional().describe('job title (none clears)'),
  birthday: z.string().max(20).optional().describe('YYYY-MM-DD, or MM-DD without the year (none clears)'),
  howMet: z.string().max(2000).optional().describe('how you met (none clears)'),
  notes: z.string().max(20000).optional().describe('notes (none clears)'),
  stayInTouch: z.string().max(10).optional().describe('stay in touch every N days (none clears)'),
};

type Edits = { [K in keyof typeof EDITABLE]?: z.infer<(typeof EDITABLE)[K]> };

/** Applies `--field value` edits to a contact's data ('none' clears an optional field). */
export function applyEdits(d: ContactData, e: Edits, region: string | undefined): ContactData {
  const out: ContactData = { ...d };
  const clear = (v: string) => v.trim() === '' || v.trim().toLowerCase() === 'none';
  if (e.name !== undefined) {
    out.displayName = boundedText('--name', e.name);
    if (!out.displayName) throw new UsageError('--name: a contact needs a name');
    out.name = splitName(out.displayName);
  }
  if (e.given !== undefined) out.name = { ...out.name, given: boundedText('--given', e.given) || undefined };
  if (e.family !== undefined) out.name = { ...out.name, family: boundedText('--family', e.family) || undefined };
  if (e.nickname) out.nicknames = e.nickname.map((n) => n.trim()).filter(Boolean);
  if (e.email) out.emails = e.email.filter((x) => !clear(x)).map(checkEmail);
  if (e.phone) out.phones = e.phone.filter((x) => !clear(x)).map((p) => typedPhone(p, region));
  for (const key of ['company', 'title', 'howMet', 'notes'] as const) {
    const v = e[key];
    if (v !== undefined) out[key] = clear(v) ? undefined : boundedText(`--${key}`, v, key === 'notes' ? 20000 : key === 'howMet' ? 2000 : 200);
  }
  if (e.birthday !== undefined) out.birthday = clear(e.birthday) ? undefined : normaliseBirthday(e.birthday);
  if (e.stayInTouch !== undefined) {
    if (clear(e.stayInTouch)) out.stayInTouchDays = undefined;
    else {
      const n = Number(e.stayInTouch.replace(/d$/, ''));
      if (!Number.isInteger(n) || n < 1 || n > 3650) throw new UsageError('--stay-in-touch: a number of days from 1 to 3650, or none');
      out.stayInTouchDays = n;
    }
  }
  return out;
}

function showResult(c: Contact, interactions: Interaction[], now: Date): ResultOf<'record', ReturnType<typeof contactJson>> {
  const fields: { label: string; value: unknown }[] = [{ label: 'ID', value: c.id }];
  const name = [c.name.prefix, c.name.given, c.name.middle, c.name.family, c.name.suffix].filter(Boolean).join(' ');
  if (name && name !== c.displayName) fields.push({ label: 'Full name', value: name });
  if (c.nicknames.length) fields.push({ label: 'Nicknames', value: c.nicknames.join(', ') });
  for (const e of c.emails) fields.push({ label: 'Email', value: e.type ? `${e.value} (${e.type})` : e.value });
  for (const p of c.phones)
    fields.push({ label: 'Phone', value: [p.value, p.e164 && p.e164 !== p.value ? `= ${p.e164}` : '', p.type ? `(${p.type})` : ''].filter(Boolean).join(' ') });
  for (const a of c.addresses)
    fields.push({
      label: 'Address',
      value: [a.poBox, a.extended, a.street, a.locality, a.region, a.postcode, a.country].filter(Boolean).join(', ') + (a.type ? ` (${a.type})` : ''),
    });
  if (c.birthday) fields.push({ label: 'Birthday', value: c.birthday });
  if (c.company || c.title) fields.push({ label: 'Work', value: [c.title, c.company].filter(Boolean).join(' at ') });
  if (c.tags.length) fields.push({ label: 'Tags', value: c.tags.join(' ') });
  if (c.howMet) fields.push({ label: 'How we met', value: c.howMet });
  if (c.stayInTouchDays) fields.push({ label: 'Stay in touch', value: `every ${c.stayInTouchDays}d` });
  fields.push({ label: 'Last contacted', value: ago(c.lastContactedAt, now) });
  for (const l of c.links) fields.push({ label: 'Link', value: `${l.relation}: ${l.displayName} (${l.id})` });
  if (c.photo)
    fields.push({
      label: 'Photo',
      value: c.photo.startsWith('data:') ? `${c.photo.slice(5, c.photo.indexOf(';'))}, ${Math.round((c.photo.length * 3) / 4 / 1024)} KiB` : c.photo,
    });
  if (c.notes) fields.push({ label: 'Notes', value: c.notes });
  for (const i of interactions) fields.push({ label: i.at.toISOString().slice(0, 10), value: `${i.kind}${i.note ? ': ' + i.note : ''}` });
  return { kind: 'record', title: c.displayName, fields, json: contactJson(c, interactions) };
}

const VIA: Record<string, InteractionKind> = {
  meet: 'met',
  met: 'met',
  call: 'called',
  called: 'called',
  message: 'messaged',
  messaged: 'messaged',
  text: 'messaged',
  write: 'wrote',
  wrote: 'wrote',
  letter: 'wrote',
  email: 'wrote',
};

function parseDay(text: string, now: Date): Date {
  if (text === 'today') return now;
  if (text === 'yesterday') return new Date(now.getTime() - 86400000);
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  const d = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), 12)) : undefined;
  if (!d || Number.isNaN(d.getTime()) || d.getUTCDate() !== Number(m![3]))
    throw new UsageError(`--on: expected YYYY-MM-DD, today or yesterday; got '${text.slice(0, 30)}'`);
  if (d.getTime() > now.getTime() + 86400000) throw new UsageError('--on: that day has not come yet');
  return d;
}

type SummaryJson = ReturnType<typeof summaryJson>;
export type ContactJson = ReturnType<typeof contactJson>;
type ShowResult = ResultOf<'record', ContactJson>;
type InteractionJson = { contact: number; id: number; kind: Interaction['kind']; at: string; note: Interaction['note'] };
type DueJson = Awaited<ReturnType<typeof dueList>>[number];

/**
 * The typed handles of the commands the TUI's Contacts screen calls: the screen passes typed
 * arguments and reads typed results, so a renamed command or field breaks the build, not the screen.
 */
export const crmLs = commandHandle({
  path: ['crm', 'ls'],
  args: z.object({
    query: words.describe('words to search for'),
    tag: z.string().max(40).optional().describe('only contacts with this tag'),
    due: z.boolean().default(false).describe('only people you are overdue to get in touch with'),
    limit: z.coerce.number().int().min(1).max(1000).default(100).describe('at most this many (default 100)'),
  }),
}).returns<ResultOf<'table', SummaryJson[]>>();

export const crmAdd = commandHandle({
  path: ['crm', 'add'],
  args: z.object({
    name: words.describe('the contact’s name'),
    email: z.array(z.string()).default([]).describe('an email (repeat for more)'),
    phone: z.array(z.string()).default([]).describe('a phone number (repeat for more)'),
    tag: z.array(z.string()).default([]).describe('a tag (repeat for more)'),
    company: z.string().max(200).optional().describe('company'),
    title: z.string().max(200).optional().describe('job title'),
    birthday: z.string().max(20).optional().describe('YYYY-MM-DD, or MM-DD'),
    howMet: z.string().max(2000).optional().describe('how you met'),
    stayInTouch: z.string().max(10).optional().describe('stay in touch every N days'),
  }),
}).returns<ShowResult | ResultOf<'message', ContactJson & { merged: boolean }>>();

export const crmShow = commandHandle({
  path: ['crm', 'show'],
  args: z.object({ contact: words.describe('the contact: its ID, or its name') }),
}).returns<ShowResult>();

export const crmEdit = commandHandle({
  path: ['crm', 'edit'],
  args: z.object({ contact: idArg, ...EDITABLE }),
}).returns<ShowResult>();

export const crmRm = commandHandle({
  path: ['crm', 'rm'],
  args: z.object({ contact: idArg }),
}).returns<ResultOf<'message', { id: number; name: string; removed: boolean }>>();

export const crmNote = commandHandle({
  path: ['crm', 'note'],
  args: z.object({ contact: idArg, text: words.describe('the note') }),
}).returns<ResultOf<'message', InteractionJson>>();

export const crmMet = commandHandle({
  path: ['crm', 'met'],
  args: z.object({
    contact: idArg,
    text: words.describe('what happened (optional)'),
    on: z.string().max(20).optional().describe('the day: YYYY-MM-DD, today (default) or yesterday'),
    via: z.string().max(20).default('meet').describe('meet, call, message or write'),
  }),
}).returns<ResultOf<'message', InteractionJson>>();

export const crmDue = commandHandle({
  path: ['crm', 'due'],
  args: z.object({ days: z.coerce.number().int().min(0).max(366).default(14).describe('look this many days ahead (default 14)') }),
}).returns<ResultOf<'table', DueJson[]>>();

export const crmTag = commandHandle({
  path: ['crm', 'tag'],
  args: z.object({ contact: idArg, changes: words.describe('+TAG to add, -TAG to remove') }),
}).returns<ResultOf<'message', { id: number; tags: string[] }>>();

export function crmCommands(deps: CrmDeps): AnyCommand[] {
  const { store, region, limits } = deps;
  const quota = limits?.quota;
  const sized = (d: ContactData) => {
    if (limits) checkCardSize(d, limits.maxCardBytes);
    return d;
  };
  /** The per-command rule: the actor has an account, and a named contact is in the actor's own book. */
  const own = async (ctx: CommandContext, ref?: string) => {
    const owner = crmOwner(ctx);
    if (ref !== undefined && !ref.trim()) throw new UsageError('missing CONTACT (an ID or a name)');
    if (ref !== undefined) await resolveContact(store, owner, ref);
  };
  // Offered over SSH and in the TUI only: a chat room is read by others, and a user's CRM is theirs alone.
  const base = { permission: 'crm' as const, surfaces: ['ssh', 'tui'] as const };

  const ls = defineCommand(crmLs, {
    ...base,
    summary: 'List or search your contacts',
    details:
      'Every word must match the start of a word in a name, nickname, email, phone, company, tag or note; case and accents do not matter. Name matches come first (whole words before prefixes), each group by name.\nexample: crm ls jo --tag work',
    positionals: ['query'],
    mutating: false,
    results: ['table'],
    authorize: (ctx) => own(ctx),
    async run(ctx, args) {
      const owner = crmOwner(ctx);
      const now = ctx.clock.now();
      let list = await store.search(owner, {
        query: args.query.join(' ') || undefined,
        tag: args.tag ? normaliseTag(args.tag) : undefined,
        limit: args.due ? 1000 : args.limit,
      });
      if (args.due) {
        const overdue = new Set((await dueList(store, owner, now, 0)).filter((d) => d.kind === 'overdue').map((d) => d.id));
        list = list.filter((c) => overdue.has(c.id)).slice(0, args.limit);
      }
      const rows = list.map((c) => ({
        id: c.id,
        name: c.displayName,
        email: c.emails[0] ?? '',
        phone: c.phones[0] ?? '',
        tags: c.tags.join(' '),
        last: ago(c.lastContactedAt, now),
      }));
      return {
        kind: 'table',
        columns: [
          { key: 'id', label: 'ID' },
          { key: 'name', label: 'NAME' },
          { key: 'email', label: 'EMAIL' },
          { key: 'phone', label: 'PHONE' },
          { key: 'tags', label: 'TAGS' },
          { key: 'last', label: 'LAST CONTACT' },
        ],
        rows,
        empty:
          args.query.length || args.tag || args.due
            ? 'no contacts match'
            : 'no contacts yet (add one with: crm add NAME --email …, or crm import < contacts.vcf)',
        json: list.map(summaryJson),
      };
    },
  });

  const add = defineCommand(crmAdd, {
    ...base,
    summary: 'Add a contact (or the vCard on stdin when no NAME is given)',
    details: [
      'example: crm add Ada Lovelace --email ada@example.org --phone +44 20 7946 0958 --tag friends',
      'example: crm add < ada.vcf',
      'A phone number may be typed with spaces: the words after --phone that are digits belong to it.',
    ].join('\n'),
    positionals: ['name'],
    continued: { phone: PHONE_WORD },
    mutating: true,
    results: ['record', 'message'],
    authorize: (ctx) => own(ctx),
    async run(ctx, args) {
      const owner = crmOwner(ctx);
      const name = args.name.join(' ').trim();
      if (!name) {
        if (!ctx.io) throw new UsageError('give a NAME (or a vCard on stdin)');
        const text = await readStdinText(ctx, deps.maxImportBytes);
        if (!text.trim()) throw new UsageError('give a NAME, or a vCard on stdin (example: crm add Ada Lovelace --email ada@example.org)');
        const cards = parseVCards(text, region);
        if (cards.length !== 1) throw new UsageError(`crm add takes one vCard; this has ${cards.length} (use crm import)`);
        const report = await importCards(store, owner, cards, { limits });
        const id = report.created[0]?.id ?? report.merged[0]!.id;
        const c = (await store.get(owner, id))!;
        if (report.merged.length)
          return { kind: 'message', text: `merged into ${c.id} ${c.displayName} (same ${report.merged[0]!.by})`, json: { ...contactJson(c), merged: true } };
        return showResult(c, [], ctx.clock.now());
      }
      let d = emptyContact(boundedText('NAME', name));
      d = applyEdits(
        d,
        {
          email: args.email,
          phone: args.phone,
          company: args.company,
          title: args.title,
          birthday: args.birthday,
          howMet: args.howMet,
          stayInTouch: args.stayInTouch,
        },
        region,
      );
      d.tags = [...new Set(args.tag.map(normaliseTag))];
      const c = await store.create(owner, sized(d), undefined, quota);
      return showResult(c, [], ctx.clock.now());
    },
  });

  const show = defineCommand(crmShow, {
    ...base,
    summary: 'Show a contact, with its links and recent interactions',
    positionals: ['contact'],
    mutating: false,
    results: ['record'],
    authorize: (ctx, args) => own(ctx, args.contact.join(' ')),
    async run(ctx, args) {
      const owner = crmOwner(ctx);
      const c = await resolveContact(store, owner, args.contact.join(' '));
      return showResult(c, await store.interactions(owner, c.id, 20), ctx.clock.now());
    },
  });

  const edit = defineCommand(crmEdit, {
    ...base,
    summary: 'Change fields of a contact',
    details: `example: ssh HOST crm edit 12 --company "'Analytical Engines'" --birthday 12-10 --stay-in-touch 30 (a value with spaces is quoted twice: ssh joins the words, labd splits them again)`,
    positionals: ['contact'],
    continued: { phone: PHONE_WORD },
    mutating: true,
    results: ['record'],
    authorize: (ctx, args) => own(ctx, args.contact),
    async run(ctx, args) {
      const owner = crmOwner(ctx);
      const c = await resolveContact(store, owner, args.contact);
      const { contact: _ref, ...edits } = args;
      if (!Object.values(edits).some((v) => v !== undefined)) throw new UsageError('nothing to change: give a --FIELD VALUE (see crm edit --help)');
      const updated = await store.update(owner, c.id, sized(applyEdits(dataOf(c), edits, region)), undefined, quota);
      return showResult(updated, await store.interactions(owner, c.id, 20), ctx.clock.now());
    },
  });

  const rm = defineCommand(crmRm, {
    ...base,
    summary: 'Delete a contact',
    positionals: ['contact'],
    mutating: true,
    destructive: true,
    results: ['message'],
    authorize: (ctx, args) => own(ctx, args.contact),
    async run(ctx, args) {
      const owner = crmOwner(ctx);
      const c = await resolveContact(store, owner, args.contact);
      await store.remove(owner, c.id);
      return { kind: 'message', text: `removed ${c.id} ${c.displayName}`, json: { id: c.id, name: c.displayName, removed: true } };
    },
  });

  const note = defineCommand(crmNote, {
    ...base,
    summary: 'Add a dated note to a contact',
    details: 'example: crm note 12 moving to Lisbon in May',
    positionals: ['contact', 'text'],
    dashWords: true,
    mutating: true,
    results: ['message'],
    authorize: (ctx, args) => own(ctx, args.contact),
    async run(ctx, args) {
      const owner = crmOwner(ctx);
      const c = await resolveContact(store, owner, args.contact);
      const text = boundedText('TEXT', args.text.join(' '), 20000);
      if (!text) throw new UsageError('missing TEXT (example: crm note 12 moving to Lisbon in May)');
      const i = await store.addInteraction(owner, c.id, 'note', ctx.clock.now(), text);
      return {
        kind: 'message',
        text: `noted on ${c.id} ${c.displayName}`,
        json: { contact: c.id, id: i.id, kind: i.kind, at: i.at.toISOString(), note: i.note },
      };
    },
  });

  const met = defineCommand(crmMet, {
    ...base,
    summary: 'Record that you met, called, messaged or wrote to someone (sets last contacted)',
    details: 'example: crm met 12 --via call --on 2026-03-01 talked about the trip',
    positionals: ['contact', 'text'],
    mutating: true,
    results: ['message'],
    authorize: (ctx, args) => own(ctx, args.contact),
    async run(ctx, args) {
      const owner = crmOwner(ctx);
      const kind = VIA[args.via.toLowerCase()];
      if (!kind) throw new UsageError('--via: meet, call, message or write');
      const c = await resolveContact(store, owner, args.contact);
      const now = ctx.clock.now();
      const at = args.on ? parseDay(args.on, now) : now;
      const i = await store.addInteraction(owner, c.id, kind, at, boundedText('TEXT', args.text.join(' '), 20000));
      return {
        kind: 'message',
        text: `${kind} ${c.displayName} on ${at.toISOString().slice(0, 10)}`,
        json: { contact: c.id, id: i.id, kind: i.kind, at: i.at.toISOString(), note: i.note },
      };
    },
  });

  const due = defineCommand(crmDue, {
    ...base,
    summary: 'People to catch up with, and birthdays coming up',
    mutating: false,
    results: ['table'],
    authorize: (ctx) => own(ctx),
    async run(ctx, args) {
      const list = await dueList(store, crmOwner(ctx), ctx.clock.now(), args.days);
      return {
        kind: 'table',
        columns: [
          { key: 'id', label: 'ID' },
          { key: 'name', label: 'NAME' },
          { key: 'why', label: 'WHY' },
        ],
        rows: list,
        empty: `nobody due in the next ${args.days} days`,
        json: list,
      };
    },
  });

  const remind = defineCommand({
    ...base,
    path: ['crm', 'remind'],
    summary: 'Show or choose where your daily reminder goes',
    details: `Once a day (crm.remindAt, UTC) labd tells you who is overdue and whose birthday it is.
--via auto    every channel labd has for you (default)
--via matrix  only the Matrix bot: a direct chat, or the room given with --room
--via apprise only the lab's Apprise (tagged with your user name)
--via off     no reminder
--room ROOM   a Matrix room id (!id:server) or alias (#name:server) instead of the direct chat; --room none: the direct chat again
example: crm remind --via matrix --room '#me:example.org'`,
    args: z.object({
      via: z.enum(REMINDER_CHANNELS).optional().describe('auto, matrix, apprise or off'),
      room: z
        .string()
        .max(255)
        .regex(/^(none|[!#][^:\s]{1,200}:[A-Za-z0-9.-]+(:\d{1,5})?)$/, 'expected a Matrix room id (!id:server), an alias (#name:server), or none')
        .optional()
        .describe('a Matrix room for the reminder instead of a direct chat (none: the direct chat)'),
    }),
    mutating: true,
    results: ['message'],
    authorize: (ctx) => own(ctx),
    async run(ctx, args) {
      const owner = crmOwner(ctx);
      let settings = await store.reminderSettings(owner);
      if (args.via !== undefined || args.room !== undefined) {
        settings = { via: args.via ?? settings.via, room: args.room === undefined ? settings.room : args.room === 'none' ? null : args.room };
        await store.setReminderSettings(owner, settings);
      }
      const available = deps.reminderChannels ?? [];
      const where =
        settings.via === 'off'
          ? 'off'
          : (settings.via === 'auto' ? ['matrix', 'apprise'] : [settings.via])
              .map((c) => (c === 'matrix' ? `Matrix (${settings.room ?? 'a direct chat with the bot'})` : 'Apprise'))
              .join(' and ');
      const missing = settings.via === 'off' ? [] : (settings.via === 'auto' ? [] : [settings.via]).filter((c) => !available.includes(c));
      const note = !available.length
        ? '\nnote: this lab has no reminder channel configured (Matrix bot or crm.remindersApprise), so none goes out'
        : missing.length
          ? `\nnote: this lab has no ${missing.join(', ')} channel configured`
          : '';
      return { kind: 'message', text: `daily reminder: ${where}${note}`, json: { ...settings, available } };
    },
  });

  const tag = defineCommand(crmTag, {
    ...base,
    summary: 'Add (+tag) and remove (-tag) tags',
    details: 'example: crm tag 12 +climbing -work',
    positionals: ['contact', 'changes'],
    dashWords: true,
    mutating: true,
    results: ['message'],
    authorize: (ctx, args) => own(ctx, args.contact),
    async run(ctx, args) {
      const owner = crmOwner(ctx);
      const c = await resolveContact(store, owner, args.contact);
      if (!args.changes.length) throw new UsageError('give +TAG or -TAG (example: crm tag 12 +climbing -work)');
      const tags = new Set(c.tags);
      for (const w of args.changes) {
        if (w.startsWith('-')) tags.delete(normaliseTag(w.slice(1)));
        else tags.add(normaliseTag(w.replace(/^\+/, '')));
      }
      const updated = await store.update(owner, c.id, sized({ ...dataOf(c), tags: [...tags].sort() }), undefined, quota);
      return { kind: 'message', text: `${updated.displayName}: ${updated.tags.join(' ') || '(no tags)'}`, json: { id: updated.id, tags: updated.tags } };
    },
  });

  const link = defineCommand({
    ...base,
    path: ['crm', 'link'],
    summary: 'Link two contacts (both ways: partner ↔ partner, child ↔ parent, …)',
    details: `example: crm link 12 14 --as partner\nrelations: ${Object.keys(RELATIONS).join(', ')}`,
    args: z.object({ contact: idArg, other: idArg, as: z.string().max(20).describe('what OTHER is to CONTACT: partner, child, parent, colleague, …') }),
    positionals: ['contact', 'other'],
    mutating: true,
    results: ['message'],
    async authorize(ctx, args) {
      await own(ctx, args.contact);
      await own(ctx, args.other);
    },
    async run(ctx, args) {
      const owner = crmOwner(ctx);
      const relation = checkRelation(args.as);
      const a = await resolveContact(store, owner, args.contact);
      const b = await resolveContact(store, owner, args.other);
      if (a.id === b.id) throw new UsageError('a contact cannot be linked to itself');
      await store.link(owner, a.id, b.id, relation, RELATIONS[relation]!);
      return {
        kind: 'message',
        text: `${b.displayName} is ${a.displayName}'s ${relation}; ${a.displayName} is ${b.displayName}'s ${RELATIONS[relation]}`,
        json: { contact: a.id, other: b.id, relation, inverse: RELATIONS[relation] },
      };
    },
  });

  const unlink = defineCommand({
    ...base,
    path: ['crm', 'unlink'],
    summary: 'Remove the links between two contacts',
    args: z.object({ contact: idArg, other: idArg }),
    positionals: ['contact', 'other'],
    mutating: true,
    results: ['message'],
    async authorize(ctx, args) {
      await own(ctx, args.contact);
      await own(ctx, args.other);
    },
    async run(ctx, args) {
      const owner = crmOwner(ctx);
      const a = await resolveContact(store, owner, args.contact);
      const b = await resolveContact(store, owner, args.other);
      const n = await store.unlink(owner, a.id, b.id);
      return {
        kind: 'message',
        text: n ? `unlinked ${a.displayName} and ${b.displayName}` : 'they were not linked',
        json: { contact: a.id, other: b.id, removed: n },
      };
    },
  });

  const importCmd = defineCommand({
    ...base,
    path: ['crm', 'import'],
    summary: 'Import contacts from stdin: vCard 3.0/4.0 (many cards), or Google/Outlook CSV with --csv',
    details:
      'Cards with the UID, an email or a phone of a contact you have are merged into it.\nexample: crm import < contacts.vcf\nexample: crm import --csv < google.csv',
    args: z.object({ csv: z.boolean().default(false).describe('stdin is a Google or Outlook CSV export') }),
    needsIO: true,
    mutating: true,
    results: ['record'],
    authorize: (ctx) => own(ctx),
    async run(ctx, args) {
      const owner = crmOwner(ctx);
      const text = await readStdinText(ctx, deps.maxImportBytes);
      if (!text.trim()) throw new UsageError('nothing on stdin (example: crm import < contacts.vcf)');
      const cards: ParsedCard[] = args.csv
        ? (await parseContactsCsvInSlices(text, region, yieldToLoop)).map((data) => ({ data, related: [] }))
        : await parseVCardsInSlices(text, region, IMPORT_BATCH, yieldToLoop);
      if (!cards.length) throw new UsageError(args.csv ? 'no contacts in that CSV' : 'no vCards on stdin (BEGIN:VCARD … END:VCARD)');
      if (cards.length > IMPORT_BATCH) ctx.progress(`importing ${cards.length} cards`);
      const report = await importCards(store, owner, cards, { limits, progress: (n) => ctx.progress(`${n} of ${cards.length}`) });
      const mergedText = report.merged.map((m) => `${m.id} ${m.name} (same ${m.by})`);
      return {
        kind: 'record',
        title: `imported ${cards.length} card${cards.length === 1 ? '' : 's'}`,
        fields: [
          { label: 'Created', value: report.created.length },
          { label: 'Merged', value: report.merged.length },
          { label: 'Links', value: report.linked },
          ...mergedText.slice(0, 50).map((t) => ({ label: 'Merged into', value: t })),
          ...(mergedText.length > 50 ? [{ label: 'Merged into', value: `… and ${mergedText.length - 50} more` }] : []),
        ],
        json: { cards: cards.length, ...report },
      };
    },
  });

  const exportCmd = defineCommand({
    ...base,
    path: ['crm', 'export'],
    summary: 'Write all your contacts to stdout as vCard 4.0, Google CSV or JSON',
    args: z.object({ format: z.enum(['vcf', 'csv', 'json']).default('vcf').describe('vcf (default), csv or json') }),
    mutating: false,
    results: ['streamed', 'message'],
    authorize: (ctx) => own(ctx),
    async run(ctx, args) {
      const owner = crmOwner(ctx);
      const format = ctx.json ? 'json' : args.format;
      if (ctx.io) {
        // Over SSH the book goes out a page at a time as the client reads it: never one string.
        const contacts = await writeExport(store, owner, format, ctx.io.stdout, ctx.signal);
        return { kind: 'streamed', json: { format, contacts } };
      }
      // Without a stream (the TUI), a summary only.
      return { kind: 'message', text: `${await store.count(owner)} contacts; export over SSH: ssh HOST crm export > contacts.vcf`, json: { format } };
    },
  });

  return [ls, add, show, edit, rm, note, met, due, remind, tag, link, unlink, importCmd, exportCmd];
}
