-- Full-text search over each contact (src/apps/crm/sqlite-store.ts keeps it in the contact's transaction).
-- rowid = crm_contacts.id. unicode61 with remove_diacritics 2 folds case and accents (José = jose);
-- the prefix indexes make `jo*` and `jos*` queries cheap.
CREATE VIRTUAL TABLE `crm_fts` USING fts5(
  `owner_id` UNINDEXED,
  `names`,
  `nicknames`,
  `emails`,
  `phones`,
  `company`,
  `tags`,
  `notes`,
  tokenize = 'unicode61 remove_diacritics 2',
  prefix = '1 2 3'
);
--> statement-breakpoint
-- A removed contact leaves the index too, also when a removed user's contacts go by cascade.
CREATE TRIGGER `crm_contacts_fts_delete` AFTER DELETE ON `crm_contacts` BEGIN
  DELETE FROM `crm_fts` WHERE rowid = old.id;
END;
