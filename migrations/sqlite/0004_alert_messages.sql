CREATE TABLE `matrix_alert_messages` (
	`group_id` integer PRIMARY KEY NOT NULL,
	`room_id` text NOT NULL,
	`post_txn_id` text NOT NULL,
	`event_id` text,
	`revision` integer DEFAULT 0 NOT NULL,
	`last_txn_id` text NOT NULL,
	`rendered_hash` text NOT NULL,
	`escalated_for` integer,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `matrix_alert_messages_post_txn_id_unique` ON `matrix_alert_messages` (`post_txn_id`);