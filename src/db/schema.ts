import { sql } from "drizzle-orm";

import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/**
 * Times are integer milliseconds since the epoch (UTC). Column names are snake_case in SQL
 * (drizzle `casing: "snake_case"`), camelCase here.
 */

/** Consent: "bounced" and "complained" are stopped like "unsubscribed", by the provider's word (src/lifecycle). */
export const subscriberStatuses = ["pending", "active", "unsubscribed", "bounced", "complained"] as const;
export type SubscriberStatus = (typeof subscriberStatuses)[number];

/** How the person came to us: the signup form, an operator's import, or the API. */
export const subscriberSources = ["form", "import", "api"] as const;
export type SubscriberSource = (typeof subscriberSources)[number];

/** The course of rows written before there were several courses (src/course/registry.ts). */
export const DEFAULT_COURSE_SLUG = "clear-skin";

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
    /** Where the consent came from. Rows of the single-course releases came from the form. */
    source: text({ enum: subscriberSources }).notNull().default("form"),
    /** How consent was given: "link" (clicked a confirmation email), or as the import/API vouched; null while pending. */
    confirmedVia: text(),
  },
  (t) => [uniqueIndex("subscribers_email_unique").on(t.email)],
);

/** "stopped": the person left mid-course (the lifecycle calls it "left"). */
export const enrollmentStates = ["active", "paused", "completed", "failed", "stopped"] as const;
export type EnrollmentState = (typeof enrollmentStates)[number];

/** A subscriber's progress through one course: one row per (subscriber, course). */
export const enrollments = sqliteTable(
  "enrollments",
  {
    subscriberId: text()
      .notNull()
      .references(() => subscribers.id, { onDelete: "cascade" }),
    /** The course's slug (src/course/registry.ts). */
    course: text().notNull().default(DEFAULT_COURSE_SLUG),
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
    primaryKey({ columns: [t.subscriberId, t.course] }),
    // "Who is due now": active rows of a course ordered by due time.
    index("enrollments_due_idx").on(t.course, t.state, t.nextSendAt, t.subscriberId),
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

/** One row per (subscriber, course, run, lesson): written before sending, so a lesson goes out once. */
export const deliveries = sqliteTable(
  "deliveries",
  {
    id: text().primaryKey(),
    subscriberId: text()
      .notNull()
      .references(() => subscribers.id, { onDelete: "cascade" }),
    course: text().notNull().default(DEFAULT_COURSE_SLUG),
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
    uniqueIndex("deliveries_subscriber_course_run_lesson_unique").on(t.subscriberId, t.course, t.run, t.lessonNumber),
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

export const schema = { subscribers, enrollments, deliveries, suppressions, webhookEvents, rateLimits };
