-- Names and nicknames again, in an index of their own (src/apps/crm/sqlite-store.ts keeps it in the
-- contact's transaction, beside crm_fts). A name search then reads name words only: in crm_fts the
-- prefix "an" also lists every "and" of every note, which a column filter reads and drops one by one.
CREATE VIRTUAL TABLE `crm_fts_names` USING fts5(
  `names`,
  `nicknames`,
  tokenize = 'unicode61 remove_diacritics 2',
  prefix = '1 2 3'
);
--> statement-breakpoint
INSERT INTO `crm_fts_names` (rowid, names, nicknames) SELECT rowid, names, nicknames FROM `crm_fts`;
--> statement-breakpoint
CREATE TRIGGER `crm_contacts_fts_names_delete` AFTER DELETE ON `crm_contacts` BEGIN
  DELETE FROM `crm_fts_names` WHERE rowid = old.id;
END;
