/**
 * The CRM store on SQLite. Every statement filters on owner_id; the FTS5 indexes (crm_fts over
 * everything, crm_fts_names over names and nicknames alone; rowid = contact id) are rewritten in the
 * same transaction as the contact, so a search never sees a contact half-changed. Every change that shows in the vCard bumps the owner's revision
 * (crm_books), which is the CardDAV ETag and sync token.
 */
import type { Statement } from 'better-sqlite3';
import { Conflict, NotFound } from '../../core/errors.ts';
import type { Db } from '../../db/client.ts';
import { nationalDigits, type Contact, type ContactData, type Interaction, type InteractionKind } from './model.ts';
import { prefixEnd, sortKey } from '../../core/sort-key.ts';
import { ftsTiers } from './search.ts';
import type { CsvShape } from './csv.ts';
import { checkQuota, contactBytes, type CrmQuota, type CrmUsage } from './quota.ts';
import {
  StaleWrite,
  type ChangeCursor,
  type ChangeEntry,
  type Changes,
  type ContactSummary,
  type CrmStore,
  type ReminderSettings,
  type SearchOptions,
} from './store.ts';

interface ContactRow {
  id: number;
  owner_id: number;
  uid: string;
  display_name: string;
  name_parts: string;
  nicknames: string;
  emails: string;
  phones: string;
  addresses: string;
  birthday: string | null;
  company: string | null;
  title: string | null;
  how_met: string | null;
  notes: string | null;
  stay_in_touch_days: number | null;
  photo: string | null;
  extra: string;
  last_contacted_at: number | null;
  created_at: number;
  updated_at: number;
  rev: number;
  href: string | null;
  tags: string | null;
}

/**
 * Above this many index matches, a search group walks the owner's contacts in name order and keeps
 * those in the match set, instead of sorting every match by name: at 100,000 contacts a family
 * name matches thousands, and sorting (or bm25-ranking) each of them costs more than the walk.
 */
const SORT_MATCHES_UP_TO = 1000;
const TAGS = `(select group_concat(tag, char(31)) from crm_tags t where t.contact_id = c.id) as tags`;
/** What a list shows (summaryOf): not notes, photo or the vCard's extra properties, which can be large. */
const SUMMARY = `c.id, c.uid, c.display_name, c.emails, c.phones, c.company, c.birthday, c.stay_in_touch_days, c.last_contacted_at, c.created_at, ${TAGS}`;
type SummaryRow = Pick<
  ContactRow,
  'id' | 'uid' | 'display_name' | 'emails' | 'phones' | 'company' | 'birthday' | 'stay_in_touch_days' | 'last_contacted_at' | 'created_at' | 'tags'
>;

/**
 * A card's size as stored: the same fields contactBytes (quota.ts) counts. octet_length reads a
 * value's size without loading it, so summing a book of large photos does not read the photos.
 */
const STORED_BYTES_SQL = [
  'uid',
  'display_name',
  'name_parts',
  'nicknames',
  'emails',
  'phones',
  'addresses',
  'birthday',
  'company',
  'title',
  'how_met',
  'notes',
  'photo',
  'extra',
]
  .map((col) => `coalesce(octet_length(c.${col}), 0)`)
  .join(' + ');

function opt<T>(v: T | null): T | undefined {
  return v === null ? undefined : v;
}

function splitTags(t: string | null): string[] {
  return t ? t.split('\x1f').sort() : [];
}

function summaryOf(r: SummaryRow): ContactSummary {
  return {
    id: r.id,
    uid: r.uid,
    displayName: r.display_name,
    emails: (JSON.parse(r.emails) as { value: string }[]).map((e) => e.value),
    phones: (JSON.parse(r.phones) as { value: string }[]).map((p) => p.value),
    company: opt(r.company),
    tags: splitTags(r.tags),
    birthday: opt(r.birthday),
    stayInTouchDays: opt(r.stay_in_touch_days),
    lastContactedAt: r.last_contacted_at === null ? null : new Date(r.last_contacted_at),
    createdAt: new Date(r.created_at),
  };
}

export class SqliteCrmStore implements CrmStore {
  private readonly sql: Db['$client'];

  /** `phoneRegion` (crm.defaultRegion) reads national numbers in search queries. */
  constructor(
    db: Db,
    private readonly phoneRegion?: string,
  ) {
    this.sql = db.$client;
    const wrapper = this.sql.transaction((fn: () => unknown) => fn());
    this.inTx = <T>(fn: () => T) => wrapper(fn) as T;
  }

  /** One transaction wrapper for every method (better-sqlite3 prepares BEGIN/COMMIT per wrapper). */
  private readonly inTx: <T>(fn: () => T) => T;

  /**
   * Prepared statements by SQL text: compiling a statement costs more than running it.
   *
   * `+owner_id` (SQLite's unary plus: the term is checked but no index is chosen for it) where a
   * contact id is the key: without table statistics SQLite weighs an owner index as much as the
   * contact's, and one owner's index holds that owner's whole address book. test/crm-store-plans
   * checks the plans.
   */
  private readonly statements = new Map<string, Statement<unknown[], unknown>>();

  private q(sql: string): Statement<unknown[], unknown> {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.sql.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  private bump(ownerId: number): number {
    const row = this.q('insert into crm_books (owner_id, rev) values (?, 1) on conflict(owner_id) do update set rev = rev + 1 returning rev').get(ownerId) as {
      rev: number;
    };
    return row.rev;
  }

  private row(ownerId: number, where: string, value: unknown): ContactRow | undefined {
    return this.q(`select c.*, ${TAGS} from crm_contacts c where c.owner_id = ? and ${where}`).get(ownerId, value) as ContactRow | undefined;
  }

  private contactOf(r: ContactRow): Contact {
    const links = this.q(
      'select l.other_id as id, o.display_name as displayName, l.relation from crm_links l join crm_contacts o on o.id = l.other_id and o.owner_id = l.owner_id where +l.owner_id = ? and l.contact_id = ? order by o.display_name',
    ).all(r.owner_id, r.id) as Contact['links'];
    return {
      id: r.id,
      uid: r.uid,
      displayName: r.display_name,
      name: JSON.parse(r.name_parts),
      nicknames: JSON.parse(r.nicknames),
      emails: JSON.parse(r.emails),
      phones: JSON.parse(r.phones),
      addresses: JSON.parse(r.addresses),
      birthday: opt(r.birthday),
      company: opt(r.company),
      title: opt(r.title),
      howMet: opt(r.how_met),
      notes: opt(r.notes),
      stayInTouchDays: opt(r.stay_in_touch_days),
      photo: opt(r.photo),
      tags: splitTags(r.tags),
      extra: JSON.parse(r.extra),
      lastContactedAt: r.last_contacted_at === null ? null : new Date(r.last_contacted_at),
      createdAt: new Date(r.created_at),
      updatedAt: new Date(r.updated_at),
      rev: r.rev,
      href: r.href ?? `${r.uid}.vcf`,
      links,
    };
  }

  /** Rewrites the contact's handles, tags and search row from its data (inside the caller's transaction). */
  private index(ownerId: number, id: number, d: ContactData): void {
    this.q('delete from crm_handles where contact_id = ? and +owner_id = ?').run(id, ownerId);
    const handle = this.q('insert into crm_handles (owner_id, contact_id, kind, value) values (?, ?, ?, ?)');
    for (const e of d.emails) handle.run(ownerId, id, 'email', e.value.toLowerCase());
    for (const p of d.phones) handle.run(ownerId, id, 'phone', p.e164 ?? p.value.replace(/\D/g, ''));
    this.q('delete from crm_tags where contact_id = ? and +owner_id = ?').run(id, ownerId);
    const tag = this.q('insert or ignore into crm_tags (owner_id, contact_id, tag) values (?, ?, ?)');
    for (const t of d.tags) tag.run(ownerId, id, t);
    this.reindex(ownerId, id, d);
  }

  private reindex(ownerId: number, id: number, d: ContactData): void {
    const journal = this.q("select note from crm_interactions where contact_id = ? and +owner_id = ? and note <> ''").all(id, ownerId) as { note: string }[];
    const phones = d.phones.flatMap((p) => {
      const digits = p.value.replace(/\D/g, '');
      const e164 = p.e164?.slice(1);
      const national = p.e164 ? nationalDigits(p.e164) : undefined;
      return [p.value, digits, e164, national].filter(Boolean);
    });
    const n = d.name;
    const names = [d.displayName, n.prefix, n.given, n.middle, n.family, n.suffix].filter(Boolean).join(' ');
    const nicknames = d.nicknames.join(' ');
    this.q('delete from crm_fts where rowid = ?').run(id);
    this.q('delete from crm_fts_names where rowid = ?').run(id);
    this.q('insert into crm_fts_names (rowid, names, nicknames) values (?, ?, ?)').run(id, names, nicknames);
    this.sql
      .prepare('insert into crm_fts (rowid, owner_id, names, nicknames, emails, phones, company, tags, notes) values (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(
        id,
        ownerId,
        names,
        nicknames,
        d.emails.map((e) => e.value).join(' '),
        phones.join(' '),
        [d.company, d.title].filter(Boolean).join(' '),
        d.tags.join(' '),
        [d.notes, d.howMet, ...journal.map((j) => j.note)].filter(Boolean).join('\n'),
      );
  }

  private columns(d: ContactData) {
    return {
      uid: d.uid,
      display_name: d.displayName,
      sort_name: sortKey(d.displayName),
      name_parts: JSON.stringify(d.name),
      nicknames: JSON.stringify(d.nicknames),
      emails: JSON.stringify(d.emails),
      phones: JSON.stringify(d.phones),
      addresses: JSON.stringify(d.addresses),
      birthday: d.birthday ?? null,
      company: d.company ?? null,
      title: d.title ?? null,
      how_met: d.howMet ?? null,
      notes: d.notes ?? null,
      stay_in_touch_days: d.stayInTouchDays ?? null,
      photo: d.photo ?? null,
      extra: JSON.stringify(d.extra),
    };
  }

  private uidTaken(ownerId: number, uid: string, exceptId?: number): boolean {
    const r = this.q('select id from crm_contacts where owner_id = ? and uid = ?').get(ownerId, uid) as { id: number } | undefined;
    return !!r && r.id !== exceptId;
  }

  private usageNow(ownerId: number): CrmUsage {
    return this.q(`select count(*) as cards, coalesce(sum(${STORED_BYTES_SQL}), 0) as bytes from crm_contacts c where c.owner_id = ?`).get(ownerId) as CrmUsage;
  }

  async usage(ownerId: number): Promise<CrmUsage> {
    return this.usageNow(ownerId);
  }

  async create(ownerId: number, data: ContactData, href?: string, quota?: CrmQuota): Promise<Contact> {
    const id = this.inTx(() => {
      if (this.uidTaken(ownerId, data.uid)) throw new Conflict(`a contact with UID ${data.uid} exists`);
      if (href && this.row(ownerId, 'c.href = ?', href)) throw new Conflict(`${href} exists`);
      if (quota) checkQuota(this.usageNow(ownerId), 1, contactBytes(data), quota);
      const rev = this.bump(ownerId);
      const now = Date.now();
      const cols = this.columns(data);
      const keys = Object.keys(cols);
      const info = this.sql
        .prepare(
          `insert into crm_contacts (owner_id, ${keys.join(', ')}, created_at, updated_at, rev, href) values (?, ${keys.map(() => '?').join(', ')}, ?, ?, ?, ?)`,
        )
        .run(ownerId, ...Object.values(cols), now, now, rev, href ?? `${data.uid}.vcf`);
      const id = Number(info.lastInsertRowid);
      this.q('delete from crm_tombstones where owner_id = ? and href = ?').run(ownerId, href ?? `${data.uid}.vcf`);
      this.index(ownerId, id, data);
      return id;
    });
    return (await this.get(ownerId, id))!;
  }

  async update(ownerId: number, id: number, data: ContactData, ifRev?: number, quota?: CrmQuota): Promise<Contact> {
    this.inTx(() => {
      const current = this.row(ownerId, 'c.id = ?', id);
      if (!current) throw new NotFound(`no contact ${id}`);
      if (ifRev !== undefined && current.rev !== ifRev) throw new StaleWrite(`contact ${id} changed meanwhile`);
      if (this.uidTaken(ownerId, data.uid, id)) throw new Conflict(`a contact with UID ${data.uid} exists`);
      if (quota) {
        const grows = contactBytes(data) - contactBytes(this.contactOf(current));
        if (grows > 0) checkQuota(this.usageNow(ownerId), 0, grows, quota);
      }
      const rev = this.bump(ownerId);
      const cols = this.columns(data);
      const keys = Object.keys(cols);
      this.q(`update crm_contacts set ${keys.map((k) => `${k} = ?`).join(', ')}, updated_at = ?, rev = ? where id = ? and owner_id = ?`).run(
        ...Object.values(cols),
        Date.now(),
        rev,
        id,
        ownerId,
      );
      this.index(ownerId, id, data);
    });
    return (await this.get(ownerId, id))!;
  }

  async get(ownerId: number, id: number): Promise<Contact | undefined> {
    const r = this.row(ownerId, 'c.id = ?', id);
    return r ? this.contactOf(r) : undefined;
  }

  async getByUid(ownerId: number, uid: string): Promise<Contact | undefined> {
    const r = this.row(ownerId, 'c.uid = ?', uid);
    return r ? this.contactOf(r) : undefined;
  }

  async getByHref(ownerId: number, href: string): Promise<Contact | undefined> {
    const r = this.row(ownerId, 'c.href = ?', href);
    return r ? this.contactOf(r) : undefined;
  }

  async findByName(ownerId: number, name: string): Promise<ContactSummary[]> {
    const rows = this.q(`select ${SUMMARY} from crm_contacts c where c.owner_id = ? and c.display_name = ? collate nocase order by c.id limit 20`).all(
      ownerId,
      name.trim(),
    ) as SummaryRow[];
    return rows.map(summaryOf);
  }

  /**
   * Matches come in the groups ftsTiers gives (whole-word name matches, then name prefixes, then
   * anything), each group in name order, names that begin with the first word first, each contact
   * once. Only ids are found per group; the rows (and their tags) are read for the page alone.
   */
  async search(ownerId: number, opts: SearchOptions): Promise<ContactSummary[]> {
    const limit = Math.min(opts.limit ?? 50, 1000);
    const tagJoin = opts.tag ? 'and exists (select 1 from crm_tags t where t.contact_id = c.id and t.owner_id = c.owner_id and t.tag = @tag)' : '';
    if (!opts.query) {
      const rows = this.q(`select ${SUMMARY} from crm_contacts c where c.owner_id = @owner ${tagJoin} order by c.sort_name, c.id limit @limit`).all({
        owner: ownerId,
        tag: opts.tag,
        limit,
      }) as SummaryRow[];
      return rows.map(summaryOf);
    }
    const tiers = ftsTiers(opts.query, this.phoneRegion);
    if (!tiers) return [];
    const ids: number[] = [];
    const find = (sql: string, params: Record<string, unknown>) => {
      const found = this.q(`select c.id ${sql} ${tagJoin} and c.id not in (select value from json_each(@seen)) order by c.sort_name, c.id limit @limit`).all({
        ...params,
        owner: ownerId,
        tag: opts.tag,
        seen: JSON.stringify(ids),
        limit: limit - ids.length,
      }) as { id: number }[];
      for (const r of found) ids.push(r.id);
    };
    for (const { match, names, leading } of tiers) {
      if (ids.length >= limit) break;
      const fts = names ? 'crm_fts_names' : 'crm_fts';
      // How many rows match in the whole index (every owner), counted no further than the cut-over.
      const { n } = this.q(`select count(*) as n from (select rowid from ${fts} where ${fts} match ? limit ${SORT_MATCHES_UP_TO + 1})`).get(match) as {
        n: number;
      };
      if (!n) continue;
      const lead = leading === undefined ? undefined : { lo: leading, hi: prefixEnd(leading) };
      if (n <= SORT_MATCHES_UP_TO) {
        // Few matches: read each and sort them by name. Names that begin with the first word lead.
        const matched = `from (select rowid as id from ${fts} where ${fts} match @match) m cross join crm_contacts c on c.id = m.id where c.owner_id = @owner`;
        if (lead) find(`${matched} and c.sort_name >= @lo and c.sort_name < @hi`, { match, ...lead });
        if (ids.length < limit) find(matched, { match });
        continue;
      }
      // Many matches: walk the owner's name index, keeping what is in the match set (built once from
      // the index alone). Names that begin with the first word are one stretch of the index: seek to it
      // first, since such names cluster (a given name), and a walk from the start could pass the whole book.
      const walked = `from crm_contacts c indexed by crm_contacts_owner_sort where c.owner_id = @owner and c.id in (select rowid from ${fts} where ${fts} match @match)`;
      if (lead) find(`${walked} and c.sort_name >= @lo and c.sort_name < @hi`, { match, ...lead });
      if (ids.length < limit) find(walked, { match });
    }
    if (!ids.length) return [];
    const rows = this.q(`select ${SUMMARY} from json_each(?) j cross join crm_contacts c on c.id = j.value where +c.owner_id = ? order by j.key`).all(
      JSON.stringify(ids),
      ownerId,
    ) as SummaryRow[];
    return rows.map(summaryOf);
  }

  async withReminders(ownerId: number): Promise<ContactSummary[]> {
    const rows = this.q(`select ${SUMMARY} from crm_contacts c where c.owner_id = ? and (c.birthday is not null or c.stay_in_touch_days is not null)`).all(
      ownerId,
    ) as SummaryRow[];
    return rows.map(summaryOf);
  }

  async findByHandles(ownerId: number, emails: string[], phones: string[]): Promise<number[]> {
    const ids = new Set<number>();
    const q = this.q('select contact_id as id from crm_handles where owner_id = ? and kind = ? and value = ?');
    for (const e of emails) for (const r of q.all(ownerId, 'email', e) as { id: number }[]) ids.add(r.id);
    for (const p of phones) if (p) for (const r of q.all(ownerId, 'phone', p) as { id: number }[]) ids.add(r.id);
    return [...ids].sort((a, b) => a - b);
  }

  async remove(ownerId: number, id: number, ifRev?: number): Promise<boolean> {
    return this.inTx(() => {
      const r = this.row(ownerId, 'c.id = ?', id);
      if (!r) return false;
      if (ifRev !== undefined && r.rev !== ifRev) throw new StaleWrite(`contact ${id} changed meanwhile`);
      const rev = this.bump(ownerId);
      // The contacts it was linked to lose a RELATED line: they change too.
      this.q('update crm_contacts set rev = ? where +owner_id = ? and id in (select other_id from crm_links where +owner_id = ? and contact_id = ?)').run(
        rev,
        ownerId,
        ownerId,
        id,
      );
      this.q('delete from crm_contacts where id = ? and owner_id = ?').run(id, ownerId);
      const href = r.href ?? `${r.uid}.vcf`;
      this.q('insert into crm_tombstones (owner_id, href, rev) values (?, ?, ?) on conflict(owner_id, href) do update set rev = excluded.rev').run(
        ownerId,
        href,
        rev,
      );
      return true;
    });
  }

  async addInteraction(ownerId: number, id: number, kind: InteractionKind | 'note', at: Date, note: string): Promise<Interaction> {
    return this.inTx(() => {
      const r = this.row(ownerId, 'c.id = ?', id);
      if (!r) throw new NotFound(`no contact ${id}`);
      const info = this.q('insert into crm_interactions (owner_id, contact_id, kind, at, note) values (?, ?, ?, ?, ?)').run(
        ownerId,
        id,
        kind,
        at.getTime(),
        note,
      );
      if (kind !== 'note') {
        this.q('update crm_contacts set last_contacted_at = max(coalesce(last_contacted_at, 0), ?) where id = ? and owner_id = ?').run(
          at.getTime(),
          id,
          ownerId,
        );
      }
      if (note) this.reindex(ownerId, id, this.contactOf(r));
      return { id: Number(info.lastInsertRowid), kind, at, note };
    });
  }

  async interactions(ownerId: number, id: number, limit: number): Promise<Interaction[]> {
    const rows = this.q('select id, kind, at, note from crm_interactions where +owner_id = ? and contact_id = ? order by at desc, id desc limit ?').all(
      ownerId,
      id,
      limit,
    ) as { id: number; kind: Interaction['kind']; at: number; note: string }[];
    return rows.map((r) => ({ ...r, at: new Date(r.at) }));
  }

  async link(ownerId: number, id: number, otherId: number, relation: string, inverse: string): Promise<void> {
    this.inTx(() => {
      for (const cid of [id, otherId]) if (!this.row(ownerId, 'c.id = ?', cid)) throw new NotFound(`no contact ${cid}`);
      const ins = this.q('insert or ignore into crm_links (owner_id, contact_id, other_id, relation) values (?, ?, ?, ?)');
      ins.run(ownerId, id, otherId, relation);
      ins.run(ownerId, otherId, id, inverse);
      const rev = this.bump(ownerId);
      this.q('update crm_contacts set rev = ?, updated_at = ? where +owner_id = ? and id in (?, ?)').run(rev, Date.now(), ownerId, id, otherId);
    });
  }

  async unlink(ownerId: number, id: number, otherId: number): Promise<number> {
    return this.inTx(() => {
      const info = this.q('delete from crm_links where +owner_id = ? and ((contact_id = ? and other_id = ?) or (contact_id = ? and other_id = ?))').run(
        ownerId,
        id,
        otherId,
        otherId,
        id,
      );
      if (info.changes) {
        const rev = this.bump(ownerId);
        this.q('update crm_contacts set rev = ?, updated_at = ? where +owner_id = ? and id in (?, ?)').run(rev, Date.now(), ownerId, id, otherId);
      }
      return info.changes;
    });
  }

  async all(ownerId: number): Promise<Contact[]> {
    const rows = this.q(`select c.*, ${TAGS} from crm_contacts c where c.owner_id = ? order by c.id`).all(ownerId) as ContactRow[];
    return rows.map((r) => this.contactOf(r));
  }

  /**
   * Walks the table by id (`+owner_id`: no owner index has ids in order, and sorting the owner's
   * whole book for each page made a listing quadratic): one pass over the table in all. Ids only:
   * the caller reads one contact at a time, so a page of 1 MiB photos is never in memory at once.
   */
  async pageIds(ownerId: number, afterId: number, limit: number): Promise<number[]> {
    return (
      this.q('select c.id from crm_contacts c where +c.owner_id = ? and c.id > ? order by c.id limit ?').all(ownerId, afterId, limit) as { id: number }[]
    ).map((r) => r.id);
  }

  async changePage(ownerId: number, after: ChangeCursor, limit: number, withRemoved: boolean): Promise<ChangeEntry[]> {
    // Contacts take even sequence numbers (id * 2), removals odd ones (tombstone rowid * 2 + 1), so one
    // (rev, seq) order runs through both and a page can end anywhere in it, even inside one revision.
    return this.q(
      `select rev, seq, id, href from (
         select * from (select c.rev as rev, c.id * 2 as seq, c.id as id, null as href from crm_contacts c
           where c.owner_id = @owner and c.rev >= @rev and (c.rev > @rev or c.id * 2 > @seq) order by c.rev, c.id limit @limit)
         union all
         select * from (select t.rev as rev, t.rowid * 2 + 1 as seq, null as id, t.href as href from crm_tombstones t
           where @removed and t.owner_id = @owner and t.rev >= @rev and (t.rev > @rev or t.rowid * 2 + 1 > @seq) order by t.rev, t.rowid limit @limit)
       ) order by rev, seq limit @limit`,
    ).all({ owner: ownerId, rev: after.rev, seq: after.seq, removed: withRemoved ? 1 : 0, limit }) as ChangeEntry[];
  }

  async csvShape(ownerId: number): Promise<CsvShape> {
    return this.q(
      'select coalesce(max(json_array_length(emails)), 0) as emails, coalesce(max(json_array_length(phones)), 0) as phones, coalesce(max(json_array_length(addresses)), 0) as addresses from crm_contacts where owner_id = ?',
    ).get(ownerId) as CsvShape;
  }

  async count(ownerId: number): Promise<number> {
    return (this.q('select count(*) as n from crm_contacts where owner_id = ?').get(ownerId) as { n: number }).n;
  }

  async unreminded(day: string): Promise<({ ownerId: number; name: string } & ReminderSettings)[]> {
    return this.q(
      `select u.id as ownerId, u.name as name, coalesce(b.remind_via, 'auto') as via, b.remind_room as room
       from users u left join crm_books b on b.owner_id = u.id
       where (b.reminded_on is null or b.reminded_on < ?)
         and exists (select 1 from crm_contacts c where c.owner_id = u.id and (c.birthday is not null or c.stay_in_touch_days is not null))
       order by u.id`,
    ).all(day) as ({ ownerId: number; name: string } & ReminderSettings)[];
  }

  async reminderSettings(ownerId: number): Promise<ReminderSettings> {
    const row = this.q('select remind_via as via, remind_room as room from crm_books where owner_id = ?').get(ownerId) as ReminderSettings | undefined;
    return row ?? { via: 'auto', room: null };
  }

  async setReminderSettings(ownerId: number, settings: ReminderSettings): Promise<void> {
    this.q(
      'insert into crm_books (owner_id, rev, remind_via, remind_room) values (?, 0, ?, ?) on conflict(owner_id) do update set remind_via = excluded.remind_via, remind_room = excluded.remind_room',
    ).run(ownerId, settings.via, settings.room);
  }

  async markReminded(ownerId: number, day: string): Promise<void> {
    this.q('insert into crm_books (owner_id, rev, reminded_on) values (?, 0, ?) on conflict(owner_id) do update set reminded_on = excluded.reminded_on').run(
      ownerId,
      day,
    );
  }

  async revision(ownerId: number): Promise<number> {
    return (this.q('select rev from crm_books where owner_id = ?').get(ownerId) as { rev: number } | undefined)?.rev ?? 0;
  }

  async changesSince(ownerId: number, rev: number): Promise<Changes> {
    return this.inTx(() => {
      const current = (this.q('select rev from crm_books where owner_id = ?').get(ownerId) as { rev: number } | undefined)?.rev ?? 0;
      const rows = this.q(`select c.*, ${TAGS} from crm_contacts c where c.owner_id = ? and c.rev > ? order by c.rev`).all(ownerId, rev) as ContactRow[];
      const removed = (this.q('select href from crm_tombstones where owner_id = ? and rev > ?').all(ownerId, rev) as { href: string }[]).map((r) => r.href);
      return { rev: current, changed: rows.map((r) => this.contactOf(r)), removed };
    });
  }
}
