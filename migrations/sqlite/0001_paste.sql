CREATE TABLE `pastes` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`user_id` integer NOT NULL,
	`name` text NOT NULL,
	`blob` text NOT NULL,
	`size` integer NOT NULL,
	`binary` integer NOT NULL,
	`hidden` integer NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`expires_at` integer,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `pastes_blob_unique` ON `pastes` (`blob`);--> statement-breakpoint
CREATE UNIQUE INDEX `pastes_user_name` ON `pastes` (`user_id`,`name`);--> statement-breakpoint
CREATE INDEX `pastes_expires_idx` ON `pastes` (`expires_at`);