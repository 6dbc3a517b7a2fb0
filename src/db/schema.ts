import { sql } from "drizzle-orm";

import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/**
 * Times are integer milliseconds since the epoch (UTC). Column names are snake_case in SQL
 * (drizzle `casing: "snake_case"`), camelCase here.
 */

/** Consent: "bounced" and "complained" are stopped like "unsubscribed", by the provider's word (src/lifecycle). */
export const subscriberStatuses = ["pending", "active", "unsubscribed", "bounced", "complained"] as const;
export type SubscriberStatus = (typeof subscriberStatuses)[number];

export const subscribers = sqliteTable(
  "subscribers",
  {
    id: text().primaryKey(),
    /** Normalised (trimmed, lower-case); unique. */
    email: text().notNull(),
    firstName: text(),
    /** IANA zone as given by the browser, validated; "UTC" when unknown. */
    timeZone: text().notNull().default("UTC"),
    /** Local hour (0–23) the subscriber chose for lessons on the manage page; null = the configured SEND_HOUR. */
    sendHour: integer(),
    status: text({ enum: subscriberStatuses }).notNull().default("pending"),
    createdAt: integer().notNull(),
    confirmedAt: integer(),
    unsubscribedAt: integer(),
    /** Bumped whenever a fresh confirmation is required, so older confirmation links stop working. */
    confirmationNonce: integer().notNull().default(0),
  },
  (t) => [uniqueIndex("subscribers_email_unique").on(t.email)],
);

/** "stopped": the person left mid-course (the lifecycle calls it "left"). */
export const enrollmentStates = ["active", "paused", "completed", "failed", "stopped"] as const;
export type EnrollmentState = (typeof enrollmentStates)[number];

/** A subscriber's progress through the course: one row per subscriber. */
export const enrollments = sqliteTable(
  "enrollments",
  {
    subscriberId: text()
      .primaryKey()
      .references(() => subscribers.id, { onDelete: "cascade" }),
    /** Incremented on restart so each pass through the course has its own delivery rows. */
    run: integer().notNull().default(1),
    state: text({ enum: enrollmentStates }).notNull().default("active"),
    /** The lesson to send next (1-based). */
    nextLesson: integer().notNull().default(1),
    /** When the next lesson is due; null when nothing is scheduled (paused, completed). */
    nextSendAt: integer(),
    lastSentAt: integer(),
    /** A timed pause ends by itself at this instant; null with state "paused" means "until I resume". */
    pausedUntil: integer(),
    /** Dispatcher lease: a pass owns the row until this instant. */
    leaseId: text(),
    leaseUntil: integer(),
    startedAt: integer().notNull(),
    completedAt: integer(),
    updatedAt: integer().notNull(),
  },
  (t) => [
    // "Who is due now": active rows ordered by due time.
    index("enrollments_due_idx").on(t.state, t.nextSendAt, t.subscriberId),
    index("enrollments_paused_until_idx").on(t.state, t.pausedUntil),
  ],
);

export const deliveryStatuses = [
  "sending",
  "retrying",
  "sent",
  "delivered",
  "delivery_delayed",
  "opened",
  "clicked",
  "bounced",
  "complained",
  "failed",
  "cancelled",
] as const;
export type DeliveryStatus = (typeof deliveryStatuses)[number];

/** One row per (subscriber, course run, lesson): written before sending, so a lesson goes out once. */
export const deliveries = sqliteTable(
  "deliveries",
  {
    id: text().primaryKey(),
    subscriberId: text()
      .notNull()
      .references(() => subscribers.id, { onDelete: "cascade" }),
    run: integer().notNull(),
    lessonNumber: integer().notNull(),
    status: text({ enum: deliveryStatuses }).notNull().default("sending"),
    attempts: integer().notNull().default(0),
    /** The batch this delivery was last sent in: a retry regroups the same members where it can. */
    batchKey: text(),
    providerMessageId: text(),
    lastError: text(),
    createdAt: integer().notNull(),
    sentAt: integer(),
    updatedAt: integer().notNull(),
  },
  (t) => [
    uniqueIndex("deliveries_subscriber_run_lesson_unique").on(t.subscriberId, t.run, t.lessonNumber),
    index("deliveries_provider_message_idx").on(t.providerMessageId),
    // Settling a batch's answer finds its rows by key; only rows that were ever batched have one.
    index("deliveries_batch_key_idx").on(t.batchKey).where(sql`${t.batchKey} is not null`),
  ],
);

export const suppressionReasons = ["unsubscribed", "deleted", "bounced", "complained"] as const;
export type SuppressionReason = (typeof suppressionReasons)[number];

/**
 * Addresses we must not mail. Only a one-way hash of the address is kept, so a deleted person's
 * address is not stored, yet a new signup with it can be recognised.
 */
export const suppressions = sqliteTable("suppressions", {
  emailHash: text().primaryKey(),
  reason: text({ enum: suppressionReasons }).notNull(),
  createdAt: integer().notNull(),
});

/** Resend webhook event ids already processed (webhooks are delivered at least once). */
export const webhookEvents = sqliteTable("webhook_events", {
  id: text().primaryKey(),
  type: text().notNull(),
  receivedAt: integer().notNull(),
});

/** Fixed-window counters for signup rate limits; keys hold hashes, never raw addresses or IPs. */
export const rateLimits = sqliteTable("rate_limits", {
  key: text().primaryKey(),
  windowStart: integer().notNull(),
  count: integer().notNull(),
});

export const lessonVoteValues = ["helpful", "not_helpful"] as const;
export type LessonVoteValue = (typeof lessonVoteValues)[number];

/**
 * "Was this lesson helpful?": one row per (subscriber, course, run, lesson); a later click changes
 * the row. When the subscriber is deleted the row stays as an anonymous count: `subscriber_id`
 * becomes null and the comment (their words, so their data) is deleted (src/db/feedback.ts).
 * NULLs are distinct in SQLite's unique index, so anonymous rows never collide.
 */
export const lessonVotes = sqliteTable(
  "lesson_votes",
  {
    id: text().primaryKey(),
    subscriberId: text().references(() => subscribers.id, { onDelete: "set null" }),
    /** The course's slug (today always "clear-skin"); plain text so a course can be data, not a table. */
    courseSlug: text().notNull(),
    /** The enrollment run the vote was given in (a restart starts run 2). */
    run: integer().notNull(),
    lessonNumber: integer().notNull(),
    vote: text({ enum: lessonVoteValues }).notNull(),
    /** Optional free text, at most 1,000 characters; stored as typed, escaped wherever shown. */
    comment: text(),
    createdAt: integer().notNull(),
    updatedAt: integer().notNull(),
  },
  (t) => [
    uniqueIndex("lesson_votes_subscriber_course_run_lesson_unique").on(t.subscriberId, t.courseSlug, t.run, t.lessonNumber),
    // Ratings per course and lesson, for the console and the API.
    index("lesson_votes_course_lesson_idx").on(t.courseSlug, t.lessonNumber),
  ],
);

export const schema = { subscribers, enrollments, deliveries, suppressions, webhookEvents, rateLimits, lessonVotes };
