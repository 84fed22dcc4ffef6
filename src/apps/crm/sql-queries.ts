/**
 * The CRM store's queries that run once per card (an import writes thousands), prepared: built once
 * and run with the values of their placeholders (preparedQuery, src/db/sql.ts). Built each time, drizzle
 * spent more on writing their SQL than the engine spent running it: about three quarters of a 4,000-card
 * import's CPU. Each lookup matches a unique key, so none needs `limit 1` (a bound LIMIT is planned anew
 * on every run by SQLite).
 */
import { and, eq, sql } from 'drizzle-orm';
import { preparedQuery, type SqlTables } from '../../db/sql.ts';

const p = sql.placeholder;

/** Every column of a contact row a write sets, as placeholders of the same names. */
const CONTACT_COLUMNS = [
  'ownerId',
  'uid',
  'displayName',
  'sortName',
  'nameParts',
  'nicknames',
  'emails',
  'phones',
  'addresses',
  'birthday',
  'company',
  'title',
  'howMet',
  'notes',
  'stayInTouchDays',
  'photo',
  'extra',
  'createdAt',
  'updatedAt',
  'rev',
  'href',
] as const;

export type CrmQueries = ReturnType<typeof crmQueries>;

export function crmQueries(t: SqlTables) {
  const { crmContacts: c, crmBooks: b, crmTombstones: tomb, crmHandles: hd, crmTags: tag } = t;
  // drizzle types insert values and `set` without placeholders, but maps one through its column like a value.
  const contactValues = Object.fromEntries(CONTACT_COLUMNS.map((k) => [k, p(k)])) as unknown as typeof c.$inferInsert;
  return {
    /** The owner's contact with this UID (unique per owner). */
    byUid: preparedQuery('crm_contact_by_uid', (db) =>
      db
        .select()
        .from(c)
        .where(and(eq(c.ownerId, p('ownerId')), eq(c.uid, p('uid')))),
    ),
    /** The owner's contact at this CardDAV href (unique per owner). */
    byHref: preparedQuery('crm_contact_by_href', (db) =>
      db
        .select()
        .from(c)
        .where(and(eq(c.ownerId, p('ownerId')), eq(c.href, p('href')))),
    ),
    /** The contact by id, checked to be the owner's (`+owner_id`: the id is the key, see sql-store.ts). */
    byId: preparedQuery('crm_contact_by_id', (db) =>
      db
        .select()
        .from(c)
        .where(and(eq(c.id, p('id')), sql`+${c.ownerId} = ${p('ownerId')}`)),
    ),
    /** The book's next revision (a write's sync token), made on the owner's first write. */
    bump: preparedQuery('crm_bump', (db) =>
      db
        .insert(b)
        .values({ ownerId: p('ownerId') as unknown as number, rev: 1 })
        .onConflictDoUpdate({ target: b.ownerId, set: { rev: sql`${b.rev} + 1` } })
        .returning({ rev: b.rev }),
    ),
    insertContact: preparedQuery('crm_insert_contact', (db) => db.insert(c).values(contactValues).returning({ id: c.id })),
    /** A removed contact's tombstone at this href goes once a contact is written there again. */
    dropTombstone: preparedQuery('crm_drop_tombstone', (db) => db.delete(tomb).where(and(eq(tomb.ownerId, p('ownerId')), eq(tomb.href, p('href'))))),
    insertHandle: preparedQuery('crm_insert_handle', (db) =>
      db.insert(hd).values({
        ownerId: p('ownerId') as unknown as number,
        contactId: p('contactId') as unknown as number,
        kind: p('kind') as unknown as 'email',
        value: p('value') as unknown as string,
      }),
    ),
    insertTag: preparedQuery('crm_insert_tag', (db) =>
      db
        .insert(tag)
        .values({ ownerId: p('ownerId') as unknown as number, contactId: p('contactId') as unknown as number, tag: p('tag') as unknown as string })
        .onConflictDoNothing(),
    ),
  };
}
