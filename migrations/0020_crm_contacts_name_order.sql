-- The CRM book in name order (src/apps/crm/sqlite-store.ts): listing walks it, and so do searches with many matches.
CREATE INDEX `crm_contacts_owner_name` ON `crm_contacts` (`owner_id`,"display_name" collate nocase,`id`);
