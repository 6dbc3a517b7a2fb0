CREATE TABLE `lesson_votes` (
	`id` text PRIMARY KEY NOT NULL,
	`subscriber_id` text,
	`course_slug` text NOT NULL,
	`run` integer NOT NULL,
	`lesson_number` integer NOT NULL,
	`vote` text NOT NULL,
	`comment` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`subscriber_id`) REFERENCES `subscribers`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `lesson_votes_subscriber_course_run_lesson_unique` ON `lesson_votes` (`subscriber_id`,`course_slug`,`run`,`lesson_number`);--> statement-breakpoint
CREATE INDEX `lesson_votes_course_lesson_idx` ON `lesson_votes` (`course_slug`,`lesson_number`);