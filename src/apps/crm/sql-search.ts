/**
 * The CRM's search index, one per engine: SQLite's FTS5 tables (sql-search-sqlite.ts) or PostgreSQL's
 * tsvector columns (sql-search-postgres.ts). The store (sql-store.ts) writes a contact's document in
 * the contact's own transaction and asks for the ids of a search; both engines give the same
 * contacts in the same order (test/store-crm.test.ts).
 */
import type { SqlDb } from '../../db/sql.ts';
import type { SearchTier } from './search.ts';

/** What a contact is found by, one text per column of the index. */
export interface SearchDoc {
  names: string;
  nicknames: string;
  emails: string;
  phones: string;
  company: string;
  tags: string;
  notes: string;
}

export interface CrmSearchIndex {
  /** Replaces the contact's document (inside the caller's transaction); `fresh`: the contact has none yet. */
  write(db: SqlDb, ownerId: number, id: number, doc: SearchDoc, fresh: boolean): Promise<void>;
  /**
   * Ids of the owner's contacts matching the tiers, group after group, each group in name order
   * (sort_name as bytes, then id) with names that begin with the tier's leading word first, each
   * contact once, at most `limit`; with `tag`, only contacts carrying it.
   */
  find(db: SqlDb, ownerId: number, tiers: SearchTier[], tag: string | undefined, limit: number): Promise<number[]>;
}
