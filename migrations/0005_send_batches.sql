CREATE TABLE `send_batches` (
	`id` text PRIMARY KEY NOT NULL,
	`course` text NOT NULL,
	`lesson` integer,
	`status` text DEFAULT 'pending' NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer,
	`lease_id` text,
	`lease_until` integer,
	`created_at` integer NOT NULL,
	`first_attempt_at` integer,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `send_batches_due_idx` ON `send_batches` (`course`,`status`,`next_attempt_at`);--> statement-breakpoint
ALTER TABLE `deliveries` ADD `batch_id` text;--> statement-breakpoint
CREATE INDEX `deliveries_batch_id_idx` ON `deliveries` (`batch_id`) WHERE "deliveries"."batch_id" is not null;--> statement-breakpoint
-- Data move (hand-edited): a batch the previous release left uncertain (members still 'sending' or
-- 'retrying' under a `batch_key`) becomes a row, so the new dispatcher resends it from that row with
-- the same key, exactly once: Resend still knows the key if the first attempt went out. Its first
-- attempt is taken as its members' latest update, so one older than 23 hours is held, not resent.
INSERT INTO `send_batches` (`id`, `course`, `lesson`, `status`, `attempts`, `next_attempt_at`, `lease_id`, `lease_until`, `created_at`, `first_attempt_at`, `updated_at`)
SELECT `batch_key`, min(`course`), CASE WHEN min(`lesson_number`) = max(`lesson_number`) THEN min(`lesson_number`) END,
  'retrying', max(`attempts`), 0, NULL, NULL, min(`created_at`), min(`updated_at`), max(`updated_at`)
FROM `deliveries` WHERE `batch_key` IS NOT NULL AND `status` IN ('sending', 'retrying') GROUP BY `batch_key`;--> statement-breakpoint
-- Data move (hand-edited): those members name their batch.
UPDATE `deliveries` SET `batch_id` = `batch_key` WHERE `batch_key` IS NOT NULL AND `status` IN ('sending', 'retrying');
