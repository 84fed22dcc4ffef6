CREATE TABLE `git_collaborators` (
	`repo_id` integer NOT NULL,
	`user_id` integer NOT NULL,
	`level` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`repo_id`) REFERENCES `git_repos`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `git_collaborators_repo_user` ON `git_collaborators` (`repo_id`,`user_id`);--> statement-breakpoint
CREATE INDEX `git_collaborators_user_idx` ON `git_collaborators` (`user_id`);--> statement-breakpoint
CREATE TABLE `git_repos` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`project_name` text DEFAULT '' NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`private` integer DEFAULT false NOT NULL,
	`hidden` integer DEFAULT false NOT NULL,
	`mirror_url` text,
	`created_by` integer,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`updated_at` integer,
	FOREIGN KEY (`created_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `git_repos_name_unique` ON `git_repos` (`name`);--> statement-breakpoint
CREATE TABLE `git_tokens` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`user_id` integer NOT NULL,
	`name` text NOT NULL,
	`hash` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`expires_at` integer,
	`last_used_at` integer,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `git_tokens_hash_unique` ON `git_tokens` (`hash`);--> statement-breakpoint
CREATE UNIQUE INDEX `git_tokens_user_name` ON `git_tokens` (`user_id`,`name`);