ALTER TABLE `crm_books` ADD `remind_via` text DEFAULT 'auto' NOT NULL;--> statement-breakpoint
ALTER TABLE `crm_books` ADD `remind_room` text;