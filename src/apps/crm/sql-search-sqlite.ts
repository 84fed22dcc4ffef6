/**
 * CRM search on SQLite: FTS5 (crm_fts over everything, crm_fts_names over names and nicknames alone;
 * rowid = contact id), kept by the store in the contact's transaction. unicode61 with
 * remove_diacritics 2 folds case and accents; ftsTiers (search.ts) writes the MATCH expressions.
 */
import { sql, type SQL } from 'drizzle-orm';
import type { BaseSQLiteDatabase } from 'drizzle-orm/sqlite-core';
import type { SqlDb } from '../../db/sql.ts';
import { prefixEnd } from '../../core/sort-key.ts';
import type { SearchTier } from './search.ts';
import type { CrmSearchIndex, SearchDoc } from './sql-search.ts';

/**
 * Above this many index matches, a search group walks the owner's contacts in name order and keeps
 * those in the match set, instead of sorting every match by name: at 100,000 contacts a family
 * name matches thousands, and sorting (or bm25-ranking) each of them costs more than the walk.
 */
const SORT_MATCHES_UP_TO = 1000;

// SQLite's own database type: raw statements (FTS5 has no drizzle table) run through all/run.
type Lite = BaseSQLiteDatabase<'sync', unknown>;
const lite = (db: SqlDb) => db as unknown as Lite;

/** Stateless: the store picks it by the handle's dialect (the handle is the adapter app.ts builds). */
export const sqliteCrmSearch: CrmSearchIndex = {
  async write(db: SqlDb, ownerId: number, id: number, d: SearchDoc, fresh: boolean): Promise<void> {
    const l = lite(db);
    if (!fresh) {
      l.run(sql`delete from crm_fts where rowid = ${id}`);
      l.run(sql`delete from crm_fts_names where rowid = ${id}`);
    }
    l.run(sql`insert into crm_fts_names (rowid, names, nicknames) values (${id}, ${d.names}, ${d.nicknames})`);
    l.run(
      sql`insert into crm_fts (rowid, owner_id, names, nicknames, emails, phones, company, tags, notes) values (${id}, ${ownerId}, ${d.names}, ${d.nicknames}, ${d.emails}, ${d.phones}, ${d.company}, ${d.tags}, ${d.notes})`,
    );
  },

  async find(db: SqlDb, ownerId: number, tiers: SearchTier[], tag: string | undefined, limit: number): Promise<number[]> {
    const l = lite(db);
    const tagJoin = tag ? sql`and exists (select 1 from crm_tags t where t.contact_id = c.id and t.owner_id = c.owner_id and t.tag = ${tag})` : sql``;
    const ids: number[] = [];
    const find = (from: SQL) => {
      const found = l.all<{ id: number }>(
        sql`select c.id as id ${from} ${tagJoin} and c.id not in (select value from json_each(${JSON.stringify(ids)})) order by c.sort_name, c.id limit ${limit - ids.length}`,
      );
      for (const r of found) ids.push(r.id);
    };
    for (const { match, names, leading } of tiers) {
      if (ids.length >= limit) break;
      const fts = sql.raw(names ? 'crm_fts_names' : 'crm_fts');
      // How many rows match in the whole index (every owner), counted no further than the cut-over.
      const counted = l.get<{ n: number }>(
        sql`select count(*) as n from (select rowid from ${fts} where ${fts} match ${match} limit ${SORT_MATCHES_UP_TO + 1})`,
      );
      if (!counted?.n) continue;
      const lead = leading === undefined ? undefined : sql`and c.sort_name >= ${leading} and c.sort_name < ${prefixEnd(leading)}`;
      if (counted.n <= SORT_MATCHES_UP_TO) {
        // Few matches: read each and sort them by name. Names that begin with the first word lead.
        const matched = sql`from (select rowid as id from ${fts} where ${fts} match ${match}) m cross join crm_contacts c on c.id = m.id where c.owner_id = ${ownerId}`;
        if (lead) find(sql`${matched} ${lead}`);
        if (ids.length < limit) find(matched);
        continue;
      }
      // Many matches: walk the owner's name index, keeping what is in the match set (built once from
      // the index alone). Names that begin with the first word are one stretch of the index: seek to it
      // first, since such names cluster (a given name), and a walk from the start could pass the whole book.
      const walked = sql`from crm_contacts c indexed by crm_contacts_owner_sort where c.owner_id = ${ownerId} and c.id in (select rowid from ${fts} where ${fts} match ${match})`;
      if (lead) find(sql`${walked} ${lead}`);
      if (ids.length < limit) find(walked);
    }
    return ids;
  },
};
