CREATE TABLE `admin_actions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` integer NOT NULL,
	`operator_email` text NOT NULL,
	`session_ref` text NOT NULL,
	`action` text NOT NULL,
	`subscriber_id` text,
	`outcome` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `admin_actions_subscriber_idx` ON `admin_actions` (`subscriber_id`,`at`);--> statement-breakpoint
CREATE TABLE `admin_sessions` (
	`id_hash` text PRIMARY KEY NOT NULL,
	`email` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`revoked_at` integer
);
--> statement-breakpoint
CREATE TABLE `admin_sign_in_tokens` (
	`token_hash` text PRIMARY KEY NOT NULL,
	`email` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`used_at` integer
);
--> statement-breakpoint
CREATE TABLE `import_jobs` (
	`id` text PRIMARY KEY NOT NULL,
	`course_slug` text NOT NULL,
	`operator_email` text NOT NULL,
	`created_at` integer NOT NULL,
	`status` text DEFAULT 'uploaded' NOT NULL,
	`headers` text NOT NULL,
	`mapping` text,
	`mode` text,
	`source_note` text,
	`total` integer DEFAULT 0 NOT NULL,
	`done` integer DEFAULT 0 NOT NULL,
	`imported` integer DEFAULT 0 NOT NULL,
	`existing` integer DEFAULT 0 NOT NULL,
	`suppressed` integer DEFAULT 0 NOT NULL,
	`rejected` integer DEFAULT 0 NOT NULL,
	`lease_until` integer,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `import_rows` (
	`job_id` text NOT NULL,
	`row_number` integer NOT NULL,
	`cells` text NOT NULL,
	`outcome` text,
	`reason` text,
	`subscriber_id` text,
	FOREIGN KEY (`job_id`) REFERENCES `import_jobs`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `import_rows_job_row_unique` ON `import_rows` (`job_id`,`row_number`);--> statement-breakpoint
CREATE INDEX `import_rows_outcome_idx` ON `import_rows` (`job_id`,`outcome`,`row_number`);--> statement-breakpoint
CREATE INDEX `import_rows_subscriber_idx` ON `import_rows` (`subscriber_id`) WHERE "import_rows"."subscriber_id" is not null;--> statement-breakpoint
ALTER TABLE `deliveries` ADD `delivered_at` integer;--> statement-breakpoint
ALTER TABLE `deliveries` ADD `opened_at` integer;--> statement-breakpoint
ALTER TABLE `deliveries` ADD `clicked_at` integer;--> statement-breakpoint
ALTER TABLE `deliveries` ADD `bounced_at` integer;--> statement-breakpoint
ALTER TABLE `deliveries` ADD `complained_at` integer;--> statement-breakpoint
CREATE INDEX `deliveries_funnel_idx` ON `deliveries` (`lesson_number`,`status`,`delivered_at`,`opened_at`,`clicked_at`,`bounced_at`,`complained_at`);--> statement-breakpoint
CREATE INDEX `deliveries_status_idx` ON `deliveries` (`status`,`updated_at`);--> statement-breakpoint
CREATE INDEX `enrollments_state_lesson_idx` ON `enrollments` (`state`,`next_lesson`,`next_send_at`);--> statement-breakpoint
CREATE INDEX `subscribers_created_idx` ON `subscribers` (`created_at`,`confirmed_at`);--> statement-breakpoint
CREATE INDEX `subscribers_confirmed_idx` ON `subscribers` (`confirmed_at`);--> statement-breakpoint
-- Data carried forward (console first-seen times): a delivery whose status already says it got at
-- least this far gets the time of its last status change as its first-seen time, the best record kept.
UPDATE `deliveries` SET `delivered_at` = `updated_at` WHERE `status` IN ('delivered', 'opened', 'clicked', 'complained');--> statement-breakpoint
UPDATE `deliveries` SET `opened_at` = `updated_at` WHERE `status` IN ('opened', 'clicked');--> statement-breakpoint
UPDATE `deliveries` SET `clicked_at` = `updated_at` WHERE `status` = 'clicked';--> statement-breakpoint
UPDATE `deliveries` SET `bounced_at` = `updated_at` WHERE `status` = 'bounced';--> statement-breakpoint
UPDATE `deliveries` SET `complained_at` = `updated_at` WHERE `status` = 'complained';
