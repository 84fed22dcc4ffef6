-- The CRM book in name order, accents and case aside (src/core/sort-key.ts): listing walks the index,
-- and so do searches with many matches (src/apps/crm/sqlite-store.ts). sort_key() is that function,
-- registered on every connection by src/db/client.ts, so existing contacts get the same keys new ones do.
ALTER TABLE `crm_contacts` ADD `sort_name` text DEFAULT '' NOT NULL;--> statement-breakpoint
UPDATE `crm_contacts` SET `sort_name` = sort_key(`display_name`);--> statement-breakpoint
CREATE INDEX `crm_contacts_owner_sort` ON `crm_contacts` (`owner_id`,`sort_name`,`id`);
