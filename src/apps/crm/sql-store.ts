/**
 * The CRM store on SQLite or PostgreSQL (drizzle, one query set for both; the search index is each
 * engine's own: sql-search-sqlite.ts, sql-search-postgres.ts). Every statement filters on owner_id;
 * the search index is rewritten in the same transaction as the contact, so a search never sees a
 * contact half-changed. Every change that shows in the vCard bumps the owner's revision (crm_books),
 * which is the CardDAV ETag and sync token.
 *
 * `+owner_id` (unary plus: the term is checked but no index is chosen for it) where a contact id is
 * the key: without table statistics SQLite weighs an owner index as much as the contact's, and one
 * owner's index holds that owner's whole address book. test/crm-store-plans checks the plans.
 */
import { and, asc, desc, eq, exists, gt, inArray, isNotNull, isNull, lt, or, sql, type SQL, type SQLWrapper } from 'drizzle-orm';
import { Conflict, NotFound } from '../../core/errors.ts';
import { systemClock, type Clock } from '../../core/clock.ts';
import type { SqlDb, SqlHandle, SqlTables } from '../../db/sql.ts';
import { nationalDigits, type Contact, type ContactData, type Interaction, type InteractionKind } from './model.ts';
import { sortKey } from '../../core/sort-key.ts';
import { ftsTiers } from './search.ts';
import type { CsvShape } from './csv.ts';
import { checkQuota, contactBytes, type CrmQuota, type CrmUsage } from './quota.ts';
import type { CrmSearchIndex, SearchDoc } from './sql-search.ts';
import { sqliteCrmSearch } from './sql-search-sqlite.ts';
import { crmQueries, type CrmQueries } from './sql-queries.ts';
import { postgresCrmSearch } from './sql-search-postgres.ts';
import {
  StaleWrite,
  type ChangeCursor,
  type ChangeEntry,
  type Changes,
  type ContactSummary,
  type CrmStore,
  type ReminderSettings,
  type ReminderVia,
  type SearchOptions,
} from './store.ts';

type ContactRow = SqlTables['crmContacts']['$inferSelect'];
type SummaryRow = Pick<
  ContactRow,
  'id' | 'uid' | 'displayName' | 'emails' | 'phones' | 'company' | 'birthday' | 'stayInTouchDays' | 'lastContactedAt' | 'createdAt'
>;

/** The ids an `in (…)` list takes at once (SQLite allows 32,766 parameters, PostgreSQL 65,535). */
const CHUNK = 500;

function chunks<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

function opt<T>(v: T | null): T | undefined {
  return v === null ? undefined : v;
}

/** `+column = value`: checked, but never the index a query is planned by (see the header). */
function unindexed(column: SQLWrapper, value: number): SQL {
  return sql`+${column} = ${value}`;
}

export class SqlCrmStore implements CrmStore {
  private readonly searchIndex: CrmSearchIndex;
  private readonly q: CrmQueries;

  /** `phoneRegion` (crm.defaultRegion) reads national numbers in search queries. */
  constructor(
    private readonly h: SqlHandle,
    private readonly phoneRegion?: string,
    private readonly clock: Clock = systemClock,
  ) {
    this.searchIndex = h.dialect === 'postgres' ? postgresCrmSearch : sqliteCrmSearch;
    this.q = crmQueries(h.t);
  }

  /** A column in byte order (SQLite's BINARY; PostgreSQL's "C" instead of the database's collation). */
  private bytes(column: SQLWrapper): SQL {
    return this.h.dialect === 'postgres' ? sql`${column} collate "C"` : sql`${column}`;
  }

  /** The summary columns: what a list shows, not notes, photo or the vCard's extra properties, which can be large. */
  private summaryColumns() {
    const c = this.h.t.crmContacts;
    return {
      id: c.id,
      uid: c.uid,
      displayName: c.displayName,
      emails: c.emails,
      phones: c.phones,
      company: c.company,
      birthday: c.birthday,
      stayInTouchDays: c.stayInTouchDays,
      lastContactedAt: c.lastContactedAt,
      createdAt: c.createdAt,
    };
  }

  /** Tags of these contacts, sorted, by contact id. */
  private async tagsOf(db: SqlDb, ownerId: number, ids: number[]): Promise<Map<number, string[]>> {
    const t = this.h.t.crmTags;
    const out = new Map<number, string[]>();
    for (const part of chunks(ids)) {
      const rows = await db
        .select({ id: t.contactId, tag: t.tag })
        .from(t)
        .where(and(inArray(t.contactId, part), unindexed(t.ownerId, ownerId)));
      for (const r of rows) {
        const list = out.get(r.id) ?? [];
        list.push(r.tag);
        out.set(r.id, list);
      }
    }
    for (const list of out.values()) list.sort();
    return out;
  }

  private async summariesOf(db: SqlDb, ownerId: number, rows: SummaryRow[]): Promise<ContactSummary[]> {
    const tags = await this.tagsOf(
      db,
      ownerId,
      rows.map((r) => r.id),
    );
    return rows.map((r) => ({
      id: r.id,
      uid: r.uid,
      displayName: r.displayName,
      emails: (JSON.parse(r.emails) as { value: string }[]).map((e) => e.value),
      phones: (JSON.parse(r.phones) as { value: string }[]).map((p) => p.value),
      company: opt(r.company),
      tags: tags.get(r.id) ?? [],
      birthday: opt(r.birthday),
      stayInTouchDays: opt(r.stayInTouchDays),
      lastContactedAt: r.lastContactedAt,
      createdAt: r.createdAt,
    }));
  }

  private async contactsOf(db: SqlDb, ownerId: number, rows: ContactRow[]): Promise<Contact[]> {
    if (!rows.length) return [];
    const ids = rows.map((r) => r.id);
    const tags = await this.tagsOf(db, ownerId, ids);
    const { crmLinks: l, crmContacts: o } = this.h.t;
    const links = new Map<number, Contact['links']>();
    for (const part of chunks(ids)) {
      const found = await db
        .select({ from: l.contactId, id: l.otherId, displayName: o.displayName, relation: l.relation })
        .from(l)
        .innerJoin(o, and(eq(o.id, l.otherId), eq(o.ownerId, l.ownerId)))
        .where(and(unindexed(l.ownerId, ownerId), inArray(l.contactId, part)))
        .orderBy(this.bytes(o.displayName));
      for (const { from, ...link } of found) {
        const list = links.get(from) ?? [];
        list.push(link);
        links.set(from, list);
      }
    }
    return rows.map((r) => ({
      id: r.id,
      uid: r.uid,
      displayName: r.displayName,
      name: JSON.parse(r.nameParts),
      nicknames: JSON.parse(r.nicknames),
      emails: JSON.parse(r.emails),
      phones: JSON.parse(r.phones),
      addresses: JSON.parse(r.addresses),
      birthday: opt(r.birthday),
      company: opt(r.company),
      title: opt(r.title),
      howMet: opt(r.howMet),
      notes: opt(r.notes),
      stayInTouchDays: opt(r.stayInTouchDays),
      photo: opt(r.photo),
      tags: tags.get(r.id) ?? [],
      extra: JSON.parse(r.extra),
      lastContactedAt: r.lastContactedAt,
      createdAt: r.createdAt,
      updatedAt: r.updatedAt,
      rev: r.rev,
      href: r.href ?? `${r.uid}.vcf`,
      links: links.get(r.id) ?? [],
    }));
  }

  /** The contact by id: `+owner_id`, the id is the key. */
  private async byId(db: SqlDb, ownerId: number, id: number): Promise<ContactRow | undefined> {
    return (await this.q.byId(db, { id, ownerId }))[0];
  }

  private async bump(db: SqlDb, ownerId: number): Promise<number> {
    return (await this.q.bump(db, { ownerId }))[0]!.rev;
  }

  /**
   * Rewrites the contact's handles, tags and search document from its data (inside the caller's
   * transaction). `fresh`: a contact just inserted, with nothing to remove first.
   */
  private async index(db: SqlDb, ownerId: number, id: number, d: ContactData, fresh = false): Promise<void> {
    const { crmHandles: hd, crmTags: t } = this.h.t;
    if (!fresh) await db.delete(hd).where(and(eq(hd.contactId, id), unindexed(hd.ownerId, ownerId)));
    const handles = [
      ...d.emails.map((e) => ({ ownerId, contactId: id, kind: 'email' as const, value: e.value.toLowerCase() })),
      ...d.phones.map((p) => ({ ownerId, contactId: id, kind: 'phone' as const, value: p.e164 ?? p.value.replace(/\D/g, '') })),
    ];
    // One prepared row at a time: a card has a handful, and a multi-row insert is new SQL for each count.
    for (const handle of handles) await this.q.insertHandle(db, handle);
    if (!fresh) await db.delete(t).where(and(eq(t.contactId, id), unindexed(t.ownerId, ownerId)));
    for (const tag of d.tags) await this.q.insertTag(db, { ownerId, contactId: id, tag });
    await this.reindex(db, ownerId, id, d, fresh);
  }

  private async reindex(db: SqlDb, ownerId: number, id: number, d: ContactData, fresh = false): Promise<void> {
    const i = this.h.t.crmInteractions;
    const journal = fresh
      ? []
      : await db
          .select({ note: i.note })
          .from(i)
          .where(and(eq(i.contactId, id), unindexed(i.ownerId, ownerId), sql`${i.note} <> ''`));
    const phones = d.phones.flatMap((p) => {
      const digits = p.value.replace(/\D/g, '');
      const e164 = p.e164?.slice(1);
      const national = p.e164 ? nationalDigits(p.e164) : undefined;
      return [p.value, digits, e164, national].filter(Boolean);
    });
    const n = d.name;
    const doc: SearchDoc = {
      names: [d.displayName, n.prefix, n.given, n.middle, n.family, n.suffix].filter(Boolean).join(' '),
      nicknames: d.nicknames.join(' '),
      emails: d.emails.map((e) => e.value).join(' '),
      phones: phones.join(' '),
      company: [d.company, d.title].filter(Boolean).join(' '),
      tags: d.tags.join(' '),
      notes: [d.notes, d.howMet, ...journal.map((j) => j.note)].filter(Boolean).join('\n'),
    };
    await this.searchIndex.write(db, ownerId, id, doc, fresh);
  }

  private columns(d: ContactData) {
    return {
      uid: d.uid,
      displayName: d.displayName,
      sortName: sortKey(d.displayName),
      nameParts: JSON.stringify(d.name),
      nicknames: JSON.stringify(d.nicknames),
      emails: JSON.stringify(d.emails),
      phones: JSON.stringify(d.phones),
      addresses: JSON.stringify(d.addresses),
      birthday: d.birthday ?? null,
      company: d.company ?? null,
      title: d.title ?? null,
      howMet: d.howMet ?? null,
      notes: d.notes ?? null,
      stayInTouchDays: d.stayInTouchDays ?? null,
      photo: d.photo ?? null,
      extra: JSON.stringify(d.extra),
    };
  }

  private async uidTaken(db: SqlDb, ownerId: number, uid: string, exceptId?: number): Promise<boolean> {
    const [r] = await this.q.byUid(db, { ownerId, uid });
    return !!r && r.id !== exceptId;
  }

  /**
   * A card's size as stored: the same fields contactBytes (quota.ts) counts. octet_length reads a
   * value's size without loading it, so summing a book of large photos does not read the photos.
   */
  private async usageNow(db: SqlDb, ownerId: number): Promise<CrmUsage> {
    const c = this.h.t.crmContacts;
    const cols = [
      c.uid,
      c.displayName,
      c.nameParts,
      c.nicknames,
      c.emails,
      c.phones,
      c.addresses,
      c.birthday,
      c.company,
      c.title,
      c.howMet,
      c.notes,
      c.photo,
      c.extra,
    ];
    const bytes = sql.join(
      cols.map((col) => sql`coalesce(octet_length(${col}), 0)`),
      sql` + `,
    );
    const [row] = await db
      .select({ cards: sql<number>`count(*)`.mapWith(Number), bytes: sql<number>`coalesce(sum(${bytes}), 0)`.mapWith(Number) })
      .from(c)
      .where(eq(c.ownerId, ownerId));
    return row ?? { cards: 0, bytes: 0 };
  }

  batch<T>(fn: () => Promise<T>): Promise<T> {
    return this.h.transaction(() => fn());
  }

  async usage(ownerId: number): Promise<CrmUsage> {
    return this.h.run((db) => this.usageNow(db, ownerId));
  }

  async create(ownerId: number, data: ContactData, href?: string, quota?: CrmQuota): Promise<Contact> {
    const id = await this.insert(ownerId, data, href, quota);
    return (await this.get(ownerId, id))!;
  }

  async insert(ownerId: number, data: ContactData, href?: string, quota?: CrmQuota): Promise<number> {
    return this.h.transaction(async (db) => {
      if (await this.uidTaken(db, ownerId, data.uid)) throw new Conflict(`a contact with UID ${data.uid} exists`);
      if (href && (await this.q.byHref(db, { ownerId, href })).length) throw new Conflict(`${href} exists`);
      if (quota) checkQuota(await this.usageNow(db, ownerId), 1, contactBytes(data), quota);
      const rev = await this.bump(db, ownerId);
      const now = this.clock.now();
      const resource = href ?? `${data.uid}.vcf`;
      const [inserted] = await this.q.insertContact(db, { ownerId, ...this.columns(data), createdAt: now, updatedAt: now, rev, href: resource });
      const id = inserted!.id;
      await this.q.dropTombstone(db, { ownerId, href: resource });
      await this.index(db, ownerId, id, data, true);
      return id;
    });
  }

  async update(ownerId: number, id: number, data: ContactData, ifRev?: number, quota?: CrmQuota): Promise<Contact> {
    const c = this.h.t.crmContacts;
    await this.h.transaction(async (db) => {
      const current = await this.byId(db, ownerId, id);
      if (!current) throw new NotFound(`no contact ${id}`);
      if (ifRev !== undefined && current.rev !== ifRev) throw new StaleWrite(`contact ${id} changed meanwhile`);
      if (await this.uidTaken(db, ownerId, data.uid, id)) throw new Conflict(`a contact with UID ${data.uid} exists`);
      if (quota) {
        const [was] = await this.contactsOf(db, ownerId, [current]);
        const grows = contactBytes(data) - contactBytes(was!);
        if (grows > 0) checkQuota(await this.usageNow(db, ownerId), 0, grows, quota);
      }
      const rev = await this.bump(db, ownerId);
      await db
        .update(c)
        .set({ ...this.columns(data), updatedAt: this.clock.now(), rev })
        .where(and(eq(c.id, id), unindexed(c.ownerId, ownerId)));
      await this.index(db, ownerId, id, data);
    });
    return (await this.get(ownerId, id))!;
  }

  async get(ownerId: number, id: number): Promise<Contact | undefined> {
    return this.h.run(async (db) => {
      const r = await this.byId(db, ownerId, id);
      return r ? (await this.contactsOf(db, ownerId, [r]))[0] : undefined;
    });
  }

  async getByUid(ownerId: number, uid: string): Promise<Contact | undefined> {
    return this.h.run(async (db) => {
      const [r] = await this.q.byUid(db, { ownerId, uid });
      return r ? (await this.contactsOf(db, ownerId, [r]))[0] : undefined;
    });
  }

  async getByHref(ownerId: number, href: string): Promise<Contact | undefined> {
    return this.h.run(async (db) => {
      const [r] = await this.q.byHref(db, { ownerId, href });
      return r ? (await this.contactsOf(db, ownerId, [r]))[0] : undefined;
    });
  }

  async findByName(ownerId: number, name: string): Promise<ContactSummary[]> {
    const c = this.h.t.crmContacts;
    return this.h.run(async (db) => {
      const rows = await db
        .select(this.summaryColumns())
        .from(c)
        .where(and(eq(c.ownerId, ownerId), sql`lower(${c.displayName}) = lower(${name.trim()})`))
        .orderBy(asc(c.id))
        .limit(20);
      return this.summariesOf(db, ownerId, rows);
    });
  }

  /**
   * Matches come in the groups ftsTiers gives (whole-word name matches, then name prefixes, then
   * anything), each group in name order, names that begin with the first word first, each contact
   * once. Only ids are found per group; the rows (and their tags) are read for the page alone.
   */
  async search(ownerId: number, opts: SearchOptions): Promise<ContactSummary[]> {
    const limit = Math.min(opts.limit ?? 50, 1000);
    const { crmContacts: c, crmTags: t } = this.h.t;
    return this.h.run(async (db) => {
      if (!opts.query) {
        const tagged = opts.tag
          ? exists(
              db
                .select({ one: sql`1` })
                .from(t)
                .where(and(eq(t.contactId, c.id), eq(t.ownerId, c.ownerId), eq(t.tag, opts.tag))),
            )
          : undefined;
        const rows = await db
          .select(this.summaryColumns())
          .from(c)
          .where(and(eq(c.ownerId, ownerId), tagged))
          .orderBy(asc(c.sortName), asc(c.id))
          .limit(limit);
        return this.summariesOf(db, ownerId, rows);
      }
      const tiers = ftsTiers(opts.query, this.phoneRegion);
      if (!tiers) return [];
      const ids = await this.searchIndex.find(db, ownerId, tiers, opts.tag, limit);
      if (!ids.length) return [];
      const rows = await db
        .select(this.summaryColumns())
        .from(c)
        .where(and(inArray(c.id, ids), unindexed(c.ownerId, ownerId)));
      const byId = new Map(rows.map((r) => [r.id, r]));
      return this.summariesOf(
        db,
        ownerId,
        ids.flatMap((id) => byId.get(id) ?? []),
      );
    });
  }

  async withReminders(ownerId: number): Promise<ContactSummary[]> {
    const c = this.h.t.crmContacts;
    return this.h.run(async (db) => {
      const rows = await db
        .select(this.summaryColumns())
        .from(c)
        .where(and(eq(c.ownerId, ownerId), or(isNotNull(c.birthday), isNotNull(c.stayInTouchDays))));
      return this.summariesOf(db, ownerId, rows);
    });
  }

  async findByHandles(ownerId: number, emails: string[], phones: string[]): Promise<number[]> {
    const hd = this.h.t.crmHandles;
    return this.h.run(async (db) => {
      const ids = new Set<number>();
      const look = async (kind: 'email' | 'phone', values: string[]) => {
        for (const part of chunks(values.filter(Boolean))) {
          const rows = await db
            .select({ id: hd.contactId })
            .from(hd)
            .where(and(eq(hd.ownerId, ownerId), eq(hd.kind, kind), inArray(hd.value, part)));
          for (const r of rows) ids.add(r.id);
        }
      };
      await look('email', emails);
      await look('phone', phones);
      return [...ids].sort((a, b) => a - b);
    });
  }

  async remove(ownerId: number, id: number, ifRev?: number): Promise<boolean> {
    const { crmContacts: c, crmLinks: l, crmTombstones: tomb } = this.h.t;
    return this.h.transaction(async (db) => {
      const r = await this.byId(db, ownerId, id);
      if (!r) return false;
      if (ifRev !== undefined && r.rev !== ifRev) throw new StaleWrite(`contact ${id} changed meanwhile`);
      const rev = await this.bump(db, ownerId);
      // The contacts it was linked to lose a RELATED line: they change too.
      await db
        .update(c)
        .set({ rev })
        .where(
          and(
            unindexed(c.ownerId, ownerId),
            inArray(
              c.id,
              db
                .select({ id: l.otherId })
                .from(l)
                .where(and(unindexed(l.ownerId, ownerId), eq(l.contactId, id))),
            ),
          ),
        );
      await db.delete(c).where(and(eq(c.id, id), unindexed(c.ownerId, ownerId)));
      await db
        .insert(tomb)
        .values({ ownerId, href: r.href ?? `${r.uid}.vcf`, rev })
        .onConflictDoUpdate({ target: [tomb.ownerId, tomb.href], set: { rev } });
      return true;
    });
  }

  async addInteraction(ownerId: number, id: number, kind: InteractionKind | 'note', at: Date, note: string): Promise<Interaction> {
    const { crmContacts: c, crmInteractions: i } = this.h.t;
    return this.h.transaction(async (db) => {
      const r = await this.byId(db, ownerId, id);
      if (!r) throw new NotFound(`no contact ${id}`);
      const [inserted] = await db.insert(i).values({ ownerId, contactId: id, kind, at, note }).returning({ id: i.id });
      if (kind !== 'note' && (r.lastContactedAt === null || r.lastContactedAt.getTime() < at.getTime())) {
        await db
          .update(c)
          .set({ lastContactedAt: at })
          .where(and(eq(c.id, id), unindexed(c.ownerId, ownerId)));
      }
      if (note) await this.reindex(db, ownerId, id, (await this.contactsOf(db, ownerId, [r]))[0]!);
      return { id: inserted!.id, kind, at, note };
    });
  }

  async interactions(ownerId: number, id: number, limit: number): Promise<Interaction[]> {
    const i = this.h.t.crmInteractions;
    return this.h.run((db) =>
      db
        .select({ id: i.id, kind: i.kind, at: i.at, note: i.note })
        .from(i)
        .where(and(unindexed(i.ownerId, ownerId), eq(i.contactId, id)))
        .orderBy(desc(i.at), desc(i.id))
        .limit(limit),
    );
  }

  async link(ownerId: number, id: number, otherId: number, relation: string, inverse: string): Promise<void> {
    const { crmContacts: c, crmLinks: l } = this.h.t;
    await this.h.transaction(async (db) => {
      for (const cid of [id, otherId]) if (!(await this.byId(db, ownerId, cid))) throw new NotFound(`no contact ${cid}`);
      await db
        .insert(l)
        .values([
          { ownerId, contactId: id, otherId, relation },
          { ownerId, contactId: otherId, otherId: id, relation: inverse },
        ])
        .onConflictDoNothing();
      const rev = await this.bump(db, ownerId);
      await db
        .update(c)
        .set({ rev, updatedAt: this.clock.now() })
        .where(and(unindexed(c.ownerId, ownerId), inArray(c.id, [id, otherId])));
    });
  }

  async unlink(ownerId: number, id: number, otherId: number): Promise<number> {
    const { crmContacts: c, crmLinks: l } = this.h.t;
    return this.h.transaction(async (db) => {
      const gone = await db
        .delete(l)
        .where(and(unindexed(l.ownerId, ownerId), or(and(eq(l.contactId, id), eq(l.otherId, otherId)), and(eq(l.contactId, otherId), eq(l.otherId, id)))))
        .returning({ id: l.contactId });
      if (gone.length) {
        const rev = await this.bump(db, ownerId);
        await db
          .update(c)
          .set({ rev, updatedAt: this.clock.now() })
          .where(and(unindexed(c.ownerId, ownerId), inArray(c.id, [id, otherId])));
      }
      return gone.length;
    });
  }

  /**
   * Writes every contact's search index again, from its stored fields: after rows were copied in
   * without going through this store (`labd migrate --from-sqlite`; PostgreSQL's search columns are
   * not in the copied schema). Runs on the caller's transaction. Returns the contacts indexed.
   */
  async rebuildSearch(): Promise<number> {
    const c = this.h.t.crmContacts;
    return this.h.run(async (db) => {
      const owners = await db.selectDistinct({ ownerId: c.ownerId }).from(c);
      let n = 0;
      for (const { ownerId } of owners) {
        for (const contact of await this.all(ownerId)) {
          await this.reindex(db, ownerId, contact.id, contact);
          n++;
        }
      }
      return n;
    });
  }

  async all(ownerId: number): Promise<Contact[]> {
    const c = this.h.t.crmContacts;
    return this.h.run(async (db) => {
      const rows = await db.select().from(c).where(eq(c.ownerId, ownerId)).orderBy(asc(c.id));
      return this.contactsOf(db, ownerId, rows);
    });
  }

  /**
   * Walks the table by id (`+owner_id`: no owner index has ids in order, and sorting the owner's
   * whole book for each page made a listing quadratic): one pass over the table in all. Ids only:
   * the caller reads one contact at a time, so a page of 1 MiB photos is never in memory at once.
   */
  async pageIds(ownerId: number, afterId: number, limit: number): Promise<number[]> {
    const c = this.h.t.crmContacts;
    const rows = await this.h.run((db) =>
      db
        .select({ id: c.id })
        .from(c)
        .where(and(unindexed(c.ownerId, ownerId), gt(c.id, afterId)))
        .orderBy(asc(c.id))
        .limit(limit),
    );
    return rows.map((r) => r.id);
  }

  /**
   * Contacts take even sequence numbers (id * 2), removals odd ones (tombstone rowid * 2 + 1; on
   * PostgreSQL the tombstone's seq column), so one (rev, seq) order runs through both and a page can
   * end anywhere in it, even inside one revision.
   */
  async changePage(ownerId: number, after: ChangeCursor, limit: number, withRemoved: boolean): Promise<ChangeEntry[]> {
    const { crmContacts: c, crmTombstones: tomb } = this.h.t;
    return this.h.run(async (db) => {
      const contacts = await db
        .select({ rev: c.rev, id: c.id })
        .from(c)
        .where(and(eq(c.ownerId, ownerId), sql`${c.rev} >= ${after.rev}`, or(gt(c.rev, after.rev), gt(sql`${c.id} * 2`, after.seq))))
        .orderBy(asc(c.rev), asc(c.id))
        .limit(limit);
      const entries: ChangeEntry[] = contacts.map((r) => ({ rev: r.rev, seq: r.id * 2, id: r.id, href: null }));
      if (withRemoved) {
        const rowid = this.h.dialect === 'postgres' ? sql<number>`${tomb}.seq` : sql<number>`${tomb}.rowid`;
        const seq = sql<number>`${rowid} * 2 + 1`.mapWith(Number);
        const removed = await db
          .select({ rev: tomb.rev, seq, href: tomb.href })
          .from(tomb)
          .where(and(eq(tomb.ownerId, ownerId), sql`${tomb.rev} >= ${after.rev}`, or(gt(tomb.rev, after.rev), sql`${rowid} * 2 + 1 > ${after.seq}`)))
          .orderBy(asc(tomb.rev), asc(rowid))
          .limit(limit);
        for (const r of removed) entries.push({ rev: r.rev, seq: r.seq, id: null, href: r.href });
      }
      return entries.sort((a, b) => a.rev - b.rev || a.seq - b.seq).slice(0, limit);
    });
  }

  async csvShape(ownerId: number): Promise<CsvShape> {
    const c = this.h.t.crmContacts;
    const length = (col: SQLWrapper) =>
      sql<number>`coalesce(max(json_array_length(${this.h.dialect === 'postgres' ? sql`${col}::json` : col})), 0)`.mapWith(Number);
    const [row] = await this.h.run((db) =>
      db
        .select({ emails: length(c.emails), phones: length(c.phones), addresses: length(c.addresses) })
        .from(c)
        .where(eq(c.ownerId, ownerId)),
    );
    return row ?? { emails: 0, phones: 0, addresses: 0 };
  }

  async count(ownerId: number): Promise<number> {
    const c = this.h.t.crmContacts;
    const [row] = await this.h.run((db) =>
      db
        .select({ n: sql<number>`count(*)`.mapWith(Number) })
        .from(c)
        .where(eq(c.ownerId, ownerId)),
    );
    return row?.n ?? 0;
  }

  async unreminded(day: string): Promise<({ ownerId: number; name: string } & ReminderSettings)[]> {
    const { users: u, crmBooks: b, crmContacts: c } = this.h.t;
    return this.h.run((db) =>
      db
        .select({ ownerId: u.id, name: u.name, via: sql<ReminderVia>`coalesce(${b.remindVia}, 'auto')`, room: b.remindRoom })
        .from(u)
        .leftJoin(b, eq(b.ownerId, u.id))
        .where(
          and(
            or(isNull(b.remindedOn), lt(b.remindedOn, day)),
            exists(
              db
                .select({ one: sql`1` })
                .from(c)
                .where(and(eq(c.ownerId, u.id), or(isNotNull(c.birthday), isNotNull(c.stayInTouchDays)))),
            ),
          ),
        )
        .orderBy(asc(u.id)),
    );
  }

  async reminderSettings(ownerId: number): Promise<ReminderSettings> {
    const b = this.h.t.crmBooks;
    const [row] = await this.h.run((db) => db.select({ via: b.remindVia, room: b.remindRoom }).from(b).where(eq(b.ownerId, ownerId)).limit(1));
    return row ? { via: row.via as ReminderVia, room: row.room } : { via: 'auto', room: null };
  }

  async setReminderSettings(ownerId: number, settings: ReminderSettings): Promise<void> {
    const b = this.h.t.crmBooks;
    await this.h.run((db) =>
      db
        .insert(b)
        .values({ ownerId, rev: 0, remindVia: settings.via, remindRoom: settings.room })
        .onConflictDoUpdate({ target: b.ownerId, set: { remindVia: settings.via, remindRoom: settings.room } }),
    );
  }

  async markReminded(ownerId: number, day: string): Promise<void> {
    const b = this.h.t.crmBooks;
    await this.h.run((db) =>
      db
        .insert(b)
        .values({ ownerId, rev: 0, remindedOn: day })
        .onConflictDoUpdate({ target: b.ownerId, set: { remindedOn: day } }),
    );
  }

  private async revisionIn(db: SqlDb, ownerId: number): Promise<number> {
    const b = this.h.t.crmBooks;
    const [row] = await db.select({ rev: b.rev }).from(b).where(eq(b.ownerId, ownerId)).limit(1);
    return row?.rev ?? 0;
  }

  async revision(ownerId: number): Promise<number> {
    return this.h.run((db) => this.revisionIn(db, ownerId));
  }

  async changesSince(ownerId: number, rev: number): Promise<Changes> {
    const { crmContacts: c, crmTombstones: tomb } = this.h.t;
    return this.h.transaction(async (db) => {
      const current = await this.revisionIn(db, ownerId);
      const rows = await db
        .select()
        .from(c)
        .where(and(eq(c.ownerId, ownerId), gt(c.rev, rev)))
        .orderBy(asc(c.rev));
      const removed = await db
        .select({ href: tomb.href })
        .from(tomb)
        .where(and(eq(tomb.ownerId, ownerId), gt(tomb.rev, rev)));
      return { rev: current, changed: await this.contactsOf(db, ownerId, rows), removed: removed.map((r) => r.href) };
    });
  }
}
