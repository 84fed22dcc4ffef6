CREATE TABLE `seats` (
	`name` text PRIMARY KEY NOT NULL,
	`public_key` text NOT NULL,
	`address` text NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`rotated_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `seats_address_unique` ON `seats` (`address`);