CREATE TABLE `deliveries` (
	`id` text PRIMARY KEY NOT NULL,
	`subscriber_id` text NOT NULL,
	`run` integer NOT NULL,
	`lesson_number` integer NOT NULL,
	`status` text DEFAULT 'sending' NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`batch_key` text,
	`provider_message_id` text,
	`last_error` text,
	`created_at` integer NOT NULL,
	`sent_at` integer,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`subscriber_id`) REFERENCES `subscribers`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `deliveries_subscriber_run_lesson_unique` ON `deliveries` (`subscriber_id`,`run`,`lesson_number`);--> statement-breakpoint
CREATE INDEX `deliveries_provider_message_idx` ON `deliveries` (`provider_message_id`);--> statement-breakpoint
CREATE INDEX `deliveries_batch_key_idx` ON `deliveries` (`batch_key`) WHERE "deliveries"."batch_key" is not null;--> statement-breakpoint
CREATE TABLE `enrollments` (
	`subscriber_id` text PRIMARY KEY NOT NULL,
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
	FOREIGN KEY (`subscriber_id`) REFERENCES `subscribers`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `enrollments_due_idx` ON `enrollments` (`state`,`next_send_at`,`subscriber_id`);--> statement-breakpoint
CREATE INDEX `enrollments_paused_until_idx` ON `enrollments` (`state`,`paused_until`);--> statement-breakpoint
CREATE TABLE `rate_limits` (
	`key` text PRIMARY KEY NOT NULL,
	`window_start` integer NOT NULL,
	`count` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `subscribers` (
	`id` text PRIMARY KEY NOT NULL,
	`email` text NOT NULL,
	`first_name` text,
	`time_zone` text DEFAULT 'UTC' NOT NULL,
	`status` text DEFAULT 'pending' NOT NULL,
	`created_at` integer NOT NULL,
	`confirmed_at` integer,
	`unsubscribed_at` integer,
	`confirmation_nonce` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `subscribers_email_unique` ON `subscribers` (`email`);--> statement-breakpoint
CREATE TABLE `suppressions` (
	`email_hash` text PRIMARY KEY NOT NULL,
	`reason` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `webhook_events` (
	`id` text PRIMARY KEY NOT NULL,
	`type` text NOT NULL,
	`received_at` integer NOT NULL
);
