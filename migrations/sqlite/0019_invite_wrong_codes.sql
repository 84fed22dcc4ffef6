CREATE TABLE `invite_wrong_codes` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`counter` text NOT NULL,
	`at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `invite_wrong_codes_counter_at` ON `invite_wrong_codes` (`counter`,`at`);