CREATE TABLE `app_tokens` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`user_id` integer NOT NULL,
	`name` text NOT NULL,
	`scope` text NOT NULL,
	`hash` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`last_used_at` integer,
	`revoked_at` integer,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `app_tokens_hash_unique` ON `app_tokens` (`hash`);--> statement-breakpoint
CREATE UNIQUE INDEX `app_tokens_user_name` ON `app_tokens` (`user_id`,`name`);--> statement-breakpoint
CREATE TABLE `crm_books` (
	`owner_id` integer PRIMARY KEY NOT NULL,
	`rev` integer DEFAULT 0 NOT NULL,
	FOREIGN KEY (`owner_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `crm_contacts` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`owner_id` integer NOT NULL,
	`uid` text NOT NULL,
	`display_name` text NOT NULL,
	`name_parts` text DEFAULT '{}' NOT NULL,
	`nicknames` text DEFAULT '[]' NOT NULL,
	`emails` text DEFAULT '[]' NOT NULL,
	`phones` text DEFAULT '[]' NOT NULL,
	`addresses` text DEFAULT '[]' NOT NULL,
	`birthday` text,
	`company` text,
	`title` text,
	`how_met` text,
	`notes` text,
	`stay_in_touch_days` integer,
	`photo` text,
	`extra` text DEFAULT '[]' NOT NULL,
	`last_contacted_at` integer,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`updated_at` integer NOT NULL,
	`rev` integer NOT NULL,
	`href` text,
	FOREIGN KEY (`owner_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `crm_contacts_owner_uid` ON `crm_contacts` (`owner_id`,`uid`);--> statement-breakpoint
CREATE UNIQUE INDEX `crm_contacts_owner_href` ON `crm_contacts` (`owner_id`,`href`);--> statement-breakpoint
CREATE INDEX `crm_contacts_owner_rev` ON `crm_contacts` (`owner_id`,`rev`);--> statement-breakpoint
CREATE TABLE `crm_handles` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`owner_id` integer NOT NULL,
	`contact_id` integer NOT NULL,
	`kind` text NOT NULL,
	`value` text NOT NULL,
	FOREIGN KEY (`owner_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`contact_id`) REFERENCES `crm_contacts`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `crm_handles_owner_value` ON `crm_handles` (`owner_id`,`kind`,`value`);--> statement-breakpoint
CREATE INDEX `crm_handles_contact` ON `crm_handles` (`contact_id`);--> statement-breakpoint
CREATE TABLE `crm_interactions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`owner_id` integer NOT NULL,
	`contact_id` integer NOT NULL,
	`kind` text NOT NULL,
	`at` integer NOT NULL,
	`note` text DEFAULT '' NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`owner_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`contact_id`) REFERENCES `crm_contacts`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `crm_interactions_contact` ON `crm_interactions` (`contact_id`,`at`);--> statement-breakpoint
CREATE INDEX `crm_interactions_owner` ON `crm_interactions` (`owner_id`);--> statement-breakpoint
CREATE TABLE `crm_links` (
	`owner_id` integer NOT NULL,
	`contact_id` integer NOT NULL,
	`other_id` integer NOT NULL,
	`relation` text NOT NULL,
	FOREIGN KEY (`owner_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`contact_id`) REFERENCES `crm_contacts`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`other_id`) REFERENCES `crm_contacts`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `crm_links_pair` ON `crm_links` (`contact_id`,`other_id`,`relation`);--> statement-breakpoint
CREATE INDEX `crm_links_owner` ON `crm_links` (`owner_id`);--> statement-breakpoint
CREATE TABLE `crm_tags` (
	`owner_id` integer NOT NULL,
	`contact_id` integer NOT NULL,
	`tag` text NOT NULL,
	FOREIGN KEY (`owner_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`contact_id`) REFERENCES `crm_contacts`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `crm_tags_contact_tag` ON `crm_tags` (`contact_id`,`tag`);--> statement-breakpoint
CREATE INDEX `crm_tags_owner_tag` ON `crm_tags` (`owner_id`,`tag`);--> statement-breakpoint
CREATE TABLE `crm_tombstones` (
	`owner_id` integer NOT NULL,
	`href` text NOT NULL,
	`rev` integer NOT NULL,
	FOREIGN KEY (`owner_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `crm_tombstones_owner_href` ON `crm_tombstones` (`owner_id`,`href`);--> statement-breakpoint
CREATE INDEX `crm_tombstones_owner_rev` ON `crm_tombstones` (`owner_id`,`rev`);