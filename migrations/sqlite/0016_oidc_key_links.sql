ALTER TABLE `ssh_keys` ADD `expires_at` integer;--> statement-breakpoint
ALTER TABLE `ssh_keys` ADD `claims` text;