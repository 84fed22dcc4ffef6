-- One token store: git's HTTP clone tokens become app tokens of scope 'git' (same SHA-256 hashes, so
-- every token keeps working); a git token whose name a CardDAV token of the same user already has is
-- renamed NAME-git.
ALTER TABLE `app_tokens` ADD `expires_at` integer;--> statement-breakpoint
INSERT INTO `app_tokens` (`user_id`, `name`, `scope`, `hash`, `created_at`, `expires_at`, `last_used_at`)
SELECT g.`user_id`,
       CASE WHEN EXISTS (SELECT 1 FROM `app_tokens` a WHERE a.`user_id` = g.`user_id` AND a.`name` = g.`name`) THEN substr(g.`name`, 1, 36) || '-git' ELSE g.`name` END,
       'git', g.`hash`, g.`created_at`, g.`expires_at`, g.`last_used_at`
FROM `git_tokens` g;--> statement-breakpoint
DROP TABLE `git_tokens`;
