CREATE TABLE `matrix_confirmations` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`room_id` text NOT NULL,
	`sender` text NOT NULL,
	`argv` text NOT NULL,
	`request_event_id` text NOT NULL,
	`prompt_txn_id` text NOT NULL,
	`expires_at` integer NOT NULL,
	`state` text DEFAULT 'pending' NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `matrix_confirmations_prompt_txn_id_unique` ON `matrix_confirmations` (`prompt_txn_id`);--> statement-breakpoint
CREATE TABLE `matrix_events` (
	`event_id` text PRIMARY KEY NOT NULL,
	`room_id` text NOT NULL,
	`sender` text NOT NULL,
	`event` text NOT NULL,
	`origin_server_ts` integer NOT NULL,
	`state` text NOT NULL,
	`command` text,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL
);
--> statement-breakpoint
CREATE INDEX `matrix_events_state_idx` ON `matrix_events` (`state`);--> statement-breakpoint
CREATE TABLE `matrix_outbox` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`txn_id` text NOT NULL,
	`room_id` text NOT NULL,
	`event_type` text NOT NULL,
	`content` text NOT NULL,
	`state` text DEFAULT 'pending' NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer NOT NULL,
	`event_id` text,
	`last_error` text,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`sent_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `matrix_outbox_txn_id_unique` ON `matrix_outbox` (`txn_id`);--> statement-breakpoint
CREATE INDEX `matrix_outbox_state_idx` ON `matrix_outbox` (`state`,`id`);--> statement-breakpoint
CREATE INDEX `matrix_outbox_event_idx` ON `matrix_outbox` (`event_id`);--> statement-breakpoint
CREATE TABLE `matrix_state` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL
);
