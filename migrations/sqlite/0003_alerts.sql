CREATE TABLE `alert_groups` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`group_key` text NOT NULL,
	`receiver` text NOT NULL,
	`status` text NOT NULL,
	`group_labels` text NOT NULL,
	`common_labels` text NOT NULL,
	`common_annotations` text NOT NULL,
	`external_url` text DEFAULT '' NOT NULL,
	`first_seen_at` integer NOT NULL,
	`changed_at` integer NOT NULL,
	`firing_since` integer,
	`resolved_at` integer,
	`acked_by` text,
	`acked_by_user_id` integer,
	`acked_at` integer,
	`ack_until` integer,
	`ack_comment` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `alert_groups_group_key_unique` ON `alert_groups` (`group_key`);--> statement-breakpoint
CREATE INDEX `alert_groups_status_idx` ON `alert_groups` (`status`);--> statement-breakpoint
CREATE TABLE `alert_silences` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`group_id` integer NOT NULL,
	`fingerprint` text NOT NULL,
	`silence_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`ends_at` integer NOT NULL,
	`ended_at` integer,
	FOREIGN KEY (`group_id`) REFERENCES `alert_groups`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `alert_silences_group_idx` ON `alert_silences` (`group_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `alert_silences_silence_id` ON `alert_silences` (`silence_id`);--> statement-breakpoint
CREATE TABLE `alert_transitions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`group_id` integer NOT NULL,
	`fingerprint` text NOT NULL,
	`status` text NOT NULL,
	`starts_at` integer NOT NULL,
	`source` text NOT NULL,
	`at` integer NOT NULL,
	FOREIGN KEY (`group_id`) REFERENCES `alert_groups`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `alert_transitions_dedupe` ON `alert_transitions` (`group_id`,`fingerprint`,`status`,`starts_at`);--> statement-breakpoint
CREATE TABLE `alerts` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`group_id` integer NOT NULL,
	`fingerprint` text NOT NULL,
	`status` text NOT NULL,
	`labels` text NOT NULL,
	`annotations` text NOT NULL,
	`starts_at` integer NOT NULL,
	`ends_at` integer,
	`generator_url` text DEFAULT '' NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`group_id`) REFERENCES `alert_groups`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `alerts_group_fingerprint` ON `alerts` (`group_id`,`fingerprint`);