DROP INDEX `deliveries_subscriber_run_lesson_unique`;--> statement-breakpoint
ALTER TABLE `deliveries` ADD `course` text DEFAULT 'clear-skin' NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX `deliveries_subscriber_course_run_lesson_unique` ON `deliveries` (`subscriber_id`,`course`,`run`,`lesson_number`);--> statement-breakpoint
PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_enrollments` (
	`subscriber_id` text NOT NULL,
	`course` text DEFAULT 'clear-skin' NOT NULL,
	`run` integer DEFAULT 1 NOT NULL,
	`state` text DEFAULT 'active' NOT NULL,
	`next_lesson` integer DEFAULT 1 NOT NULL,
	`next_send_at` integer,
	`last_sent_at` integer,
	`paused_until` integer,
	`lease_id` text,
	`lease_until` integer,
	`started_at` integer NOT NULL,
	`completed_at` integer,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`subscriber_id`, `course`),
	FOREIGN KEY (`subscriber_id`) REFERENCES `subscribers`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
-- Data move (hand-edited): the previous releases had one course, so every enrollment is of the default course.
INSERT INTO `__new_enrollments`("subscriber_id", "course", "run", "state", "next_lesson", "next_send_at", "last_sent_at", "paused_until", "lease_id", "lease_until", "started_at", "completed_at", "updated_at") SELECT "subscriber_id", 'clear-skin', "run", "state", "next_lesson", "next_send_at", "last_sent_at", "paused_until", "lease_id", "lease_until", "started_at", "completed_at", "updated_at" FROM `enrollments`;--> statement-breakpoint
DROP TABLE `enrollments`;--> statement-breakpoint
ALTER TABLE `__new_enrollments` RENAME TO `enrollments`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE INDEX `enrollments_due_idx` ON `enrollments` (`course`,`state`,`next_send_at`,`subscriber_id`);--> statement-breakpoint
CREATE INDEX `enrollments_paused_until_idx` ON `enrollments` (`state`,`paused_until`);--> statement-breakpoint
CREATE INDEX `enrollments_state_lesson_idx` ON `enrollments` (`state`,`next_lesson`,`next_send_at`);--> statement-breakpoint
ALTER TABLE `subscribers` ADD `source` text DEFAULT 'form' NOT NULL;--> statement-breakpoint
ALTER TABLE `subscribers` ADD `confirmed_via` text;--> statement-breakpoint
-- Data move (hand-edited): everyone the previous releases confirmed did so by clicking a confirmation email.
UPDATE `subscribers` SET `confirmed_via` = 'link' WHERE `confirmed_at` IS NOT NULL;
