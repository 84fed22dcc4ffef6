/**
 * CRM search on PostgreSQL: the contact's document is three text columns of crm_contacts
 * (search_names, search_phones, search_other, written by the store in the contact's transaction)
 * and three tsvector columns generated from them (names_tsv, phones_tsv, all_tsv) through
 * crm_unaccent, an IMMUTABLE wrapper of unaccent, under the 'simple' configuration (lower case, no
 * stemming), each with a GIN index (migrations/postgres, crm_search). The text is split into words
 * in JS as SQLite's unicode61 splits it (searchWords), so both engines see the same words; a word is
 * found whole (`'ana'`) or as a prefix (`'ana':*`), as FTS5's `"ana"` and `"ana"*`.
 *
 * The groups and their order are SQLite's (sql-search-sqlite.ts): sort_name is `collate "C"` on
 * PostgreSQL, so names order by the bytes of the key sortKey made in JS, as on SQLite. Whether a group
 * is sorted or walked along crm_contacts_owner_sort is the planner's choice (table statistics).
 */
import { sql, type SQL } from 'drizzle-orm';
import type { PgDatabase } from 'drizzle-orm/pg-core';
import type { SqlDb } from '../../db/sql.ts';
import { prefixEnd } from '../../core/sort-key.ts';
import { searchWords, type SearchTier } from './search.ts';
import type { CrmSearchIndex, SearchDoc } from './sql-search.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Pg = PgDatabase<any>;

async function rows<T>(db: SqlDb, query: SQL): Promise<T[]> {
  const result = (await (db as unknown as Pg).execute(query)) as unknown as { rows: T[] };
  return result.rows;
}

/** Text as the words searchWords finds, one space between: what the generated tsvectors are made of. */
function words(...texts: string[]): string {
  return texts.flatMap((t) => searchWords(t)).join(' ');
}

/** A tsquery of the tier's words: `'a':* & 'b':*`, whole words without `:*`, phone alternatives with `|`. */
function tsquery(tier: SearchTier): string {
  const terms = tier.terms.flatMap((t) => searchWords(t)).map((t) => `'${t}'${tier.prefix ? ':*' : ''}`);
  return terms.join(tier.phones ? ' | ' : ' & ');
}

/** Stateless: the store picks it by the handle's dialect (the handle is the adapter app.ts builds). */
export const postgresCrmSearch: CrmSearchIndex = {
  async write(db: SqlDb, ownerId: number, id: number, d: SearchDoc): Promise<void> {
    await rows(
      db,
      sql`update crm_contacts set search_names = ${words(d.names, d.nicknames)}, search_phones = ${words(d.phones)},
            search_other = ${words(d.emails, d.company, d.tags, d.notes)} where id = ${id} and owner_id = ${ownerId}`,
    );
  },

  async find(db: SqlDb, ownerId: number, tiers: SearchTier[], tag: string | undefined, limit: number): Promise<number[]> {
    const tagJoin = tag ? sql`and exists (select 1 from crm_tags t where t.contact_id = c.id and t.owner_id = c.owner_id and t.tag = ${tag})` : sql``;
    const ids: number[] = [];
    // `sorted`: the matches are few (a phone number): find them all through the GIN index first, then
    // sort them. Else the planner chooses, and for a broad word walks the name index instead.
    const find = async (where: SQL, sorted = false) => {
      const seen = ids.length ? sql`and c.id <> all(${`{${ids.join(',')}}`}::int[])` : sql``;
      const matches = sql`from crm_contacts c where c.owner_id = ${ownerId} and ${where} ${tagJoin} ${seen}`;
      const found = await rows<{ id: number }>(
        db,
        sorted
          ? sql`with m as materialized (select c.id, c.sort_name ${matches}) select m.id as id from m order by m.sort_name, m.id limit ${limit - ids.length}`
          : sql`select c.id as id ${matches} order by c.sort_name, c.id limit ${limit - ids.length}`,
      );
      for (const r of found) ids.push(Number(r.id));
    };
    for (const tier of tiers) {
      if (ids.length >= limit) break;
      const q = tsquery(tier);
      if (!q) continue;
      const column = sql.raw(tier.phones ? 'c.phones_tsv' : tier.names ? 'c.names_tsv' : 'c.all_tsv');
      const matched = tier.phones ? sql`${column} @@ to_tsquery('simple', ${q})` : sql`${column} @@ to_tsquery('simple', crm_unaccent(${q}))`;
      if (tier.leading !== undefined) await find(sql`${matched} and c.sort_name >= ${tier.leading} and c.sort_name < ${prefixEnd(tier.leading)}`);
      if (ids.length < limit) await find(matched, tier.phones);
    }
    return ids;
  },
};
