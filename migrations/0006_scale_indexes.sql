DROP INDEX `subscribers_confirmed_idx`;--> statement-breakpoint
CREATE INDEX `subscribers_confirmed_idx` ON `subscribers` (`confirmed_at`,`created_at`);