CREATE TABLE `node_inventory` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`mac` text NOT NULL,
	`profile` text NOT NULL,
	`role` text,
	`location` text,
	`token_id` text NOT NULL,
	`token_secret` text,
	`state` text DEFAULT 'provisioned' NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`joined_at` integer,
	`retired_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `node_inventory_live_name_idx` ON `node_inventory` (`name`) WHERE state <> 'retired';--> statement-breakpoint
CREATE UNIQUE INDEX `node_inventory_live_mac_idx` ON `node_inventory` (`mac`) WHERE state <> 'retired';