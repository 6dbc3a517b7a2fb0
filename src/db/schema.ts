import { sql } from "drizzle-orm";

import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { DEFAULT_COURSE_SLUG } from "../course/default-slug";

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
export { DEFAULT_COURSE_SLUG };

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
  (t) => [
    uniqueIndex("subscribers_email_unique").on(t.email),
    // The console's signups and confirmations per day, and the confirmation rate (covering: no table reads).
    index("subscribers_created_idx").on(t.createdAt, t.confirmedAt),
    // Confirmations per day (console), and retention's never-confirmed signups past the week
    // (`confirmed_at is null and created_at <= ?`): a range, not every pending row, per pass.
    index("subscribers_confirmed_idx").on(t.confirmedAt, t.createdAt),
  ],
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
    // The console: counts by state, what is due by lesson, who left after which lesson (covering).
    index("enrollments_state_lesson_idx").on(t.state, t.nextLesson, t.nextSendAt),
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
    /** The key of the batch it went out in under releases before send_batches (kept as history; no longer written). */
    batchKey: text(),
    /**
     * The batch (send_batches.id, the idempotency key) it was handed to the provider in; null while
     * not with the provider. With status sending or retrying: its outcome is that batch's.
     */
    batchId: text(),
    providerMessageId: text(),
    lastError: text(),
    createdAt: integer().notNull(),
    sentAt: integer(),
    updatedAt: integer().notNull(),
    /**
     * When the provider first reported each event (set once, never moved): engagement is kept
     * apart from the send status, so one delivery can be opened, clicked and later complained about.
     */
    deliveredAt: integer(),
    openedAt: integer(),
    clickedAt: integer(),
    bouncedAt: integer(),
    complainedAt: integer(),
  },
  (t) => [
    uniqueIndex("deliveries_subscriber_course_run_lesson_unique").on(t.subscriberId, t.course, t.run, t.lessonNumber),
    index("deliveries_provider_message_idx").on(t.providerMessageId),
    // Settling a batch's answer finds its rows by key; only rows that were ever batched have one.
    index("deliveries_batch_key_idx").on(t.batchKey).where(sql`${t.batchKey} is not null`),
    index("deliveries_batch_id_idx").on(t.batchId).where(sql`${t.batchId} is not null`),
    // The console's per-lesson funnel reads only this index (a covering index: no table lookups).
    index("deliveries_funnel_idx").on(t.lessonNumber, t.status, t.deliveredAt, t.openedAt, t.clickedAt, t.bouncedAt, t.complainedAt),
    // The console's failed-mail list.
    index("deliveries_status_idx").on(t.status, t.updatedAt),
  ],
);

/**
 * A batch's life: `sending` (with the provider, or its pass died), `retrying` (answer unknown:
 * timeout, 5xx; resent from this row with the same key at `nextAttemptAt`), `sent`, `failed`
 * (refused: the key is retired and its members go into a new batch; or given up), `held` (still
 * unknown near the end of Resend's 24-hour key window: never resent automatically, for the operator).
 * `pending`: composed, not yet handed over.
 */
export const sendBatchStatuses = ["pending", "sending", "sent", "retrying", "failed", "held"] as const;
export type SendBatchStatus = (typeof sendBatchStatuses)[number];

/** One provider batch call of up to 100 lessons of one course; its id is the idempotency key. */
export const sendBatches = sqliteTable(
  "send_batches",
  {
    id: text().primaryKey(),
    course: text().notNull(),
    /** The lesson all members get; null when the batch carries several lessons. */
    lesson: integer(),
    status: text({ enum: sendBatchStatuses }).notNull().default("pending"),
    /** Provider calls made under this key. */
    attempts: integer().notNull().default(0),
    /** When a `retrying` batch may be resent (the dispatcher's clock, ms). */
    nextAttemptAt: integer(),
    /** The pass holding the batch, and until when (real time, ms): a dead pass's batch is taken over after it. */
    leaseId: text(),
    leaseUntil: integer(),
    createdAt: integer().notNull(),
    /** Real time (ms) of the first provider call: Resend keeps a key 24 hours from then. */
    firstAttemptAt: integer(),
    updatedAt: integer().notNull(),
  },
  (t) => [index("send_batches_due_idx").on(t.course, t.status, t.nextAttemptAt)],
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

// ---- API and outbound webhooks (issue 14) ----

export const apiKeyScopes = ["read", "write"] as const;
export type ApiKeyScope = (typeof apiKeyScopes)[number];

/** Operator API keys: only a SHA-256 hash of the key and its first characters are stored, never the key. */
export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text().primaryKey(),
    name: text().notNull(),
    /** The key's first characters (`ck_` and 8 more), to tell keys apart in lists and logs. */
    prefix: text().notNull(),
    /** SHA-256 of the whole key, lowercase hex. */
    hash: text().notNull(),
    scope: text({ enum: apiKeyScopes }).notNull(),
    createdAt: integer().notNull(),
    lastUsedAt: integer(),
    revokedAt: integer(),
  },
  (t) => [uniqueIndex("api_keys_hash_unique").on(t.hash)],
);

/** An `Idempotency-Key` an API key has used, with the answer it got; replayed for 24 hours. */
export const apiIdempotency = sqliteTable(
  "api_idempotency",
  {
    apiKeyId: text().notNull(),
    key: text().notNull(),
    /** SHA-256 of method, path and body: the same key with another request is refused. */
    requestHash: text().notNull(),
    status: integer().notNull(),
    body: text().notNull(),
    createdAt: integer().notNull(),
  },
  (t) => [uniqueIndex("api_idempotency_key_unique").on(t.apiKeyId, t.key)],
);

/**
 * What happened, one row per state change, written in the same transaction as the change. The id
 * is SQLite's AUTOINCREMENT: ids grow in commit order (SQLite has one writer at a time) and are never
 * reused, so "every event after id N" never misses one that committed late, which a time-ordered
 * id could. The payload never holds personal data (no address, no name).
 */
export const events = sqliteTable(
  "events",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    type: text().notNull(),
    subscriberId: text(),
    courseSlug: text(),
    lesson: integer(),
    payload: text().notNull().default("{}"),
    createdAt: integer().notNull(),
  },
  (t) => [index("events_subscriber_idx").on(t.subscriberId, t.id)],
);

/** Operator-registered receivers of events. `secret` is the endpoint's own `whsec_` signing secret. */
export const webhookEndpoints = sqliteTable("webhook_endpoints", {
  id: text().primaryKey(),
  url: text().notNull(),
  /** JSON array of event types; `["*"]` for all. */
  eventTypes: text().notNull(),
  secret: text().notNull(),
  description: text(),
  createdAt: integer().notNull(),
  /** Set when it kept failing for a day (or by the operator); disabled endpoints get nothing. */
  disabledAt: integer(),
  disabledReason: text(),
  /** Events after this id are the endpoint's to receive (it never gets events from before it existed). */
  cursor: integer().notNull(),
  /** Start of the current run of failures; null while deliveries succeed. */
  failingSince: integer(),
  leaseId: text(),
  leaseUntil: integer(),
});

export const webhookDeliveryStatuses = ["pending", "succeeded", "failed"] as const;

/** One event for one endpoint, with its retry schedule. */
export const webhookDeliveries = sqliteTable(
  "webhook_deliveries",
  {
    id: text().primaryKey(),
    endpointId: text().notNull(),
    eventId: integer().notNull(),
    status: text({ enum: webhookDeliveryStatuses }).notNull().default("pending"),
    attempts: integer().notNull().default(0),
    nextAttemptAt: integer().notNull(),
    createdAt: integer().notNull(),
    updatedAt: integer().notNull(),
  },
  (t) => [
    uniqueIndex("webhook_deliveries_endpoint_event_unique").on(t.endpointId, t.eventId),
    index("webhook_deliveries_due_idx").on(t.status, t.nextAttemptAt),
  ],
);

/** Each HTTP attempt of a webhook delivery: status (null on timeout or network error), duration, excerpt. */
export const webhookAttempts = sqliteTable(
  "webhook_attempts",
  {
    id: text().primaryKey(),
    deliveryId: text().notNull(),
    endpointId: text().notNull(),
    attemptedAt: integer().notNull(),
    responseStatus: integer(),
    durationMs: integer().notNull(),
    /** The first 200 characters of the response body, or the network error's name. */
    excerpt: text(),
  },
  (t) => [index("webhook_attempts_delivery_idx").on(t.deliveryId)],
);

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

/**
 * Operator console (src/admin). Sign-in links and sessions keep only a SHA-256 hash of their random
 * secret, so a copy of the database cannot be replayed into a session.
 */
export const adminSignInTokens = sqliteTable("admin_sign_in_tokens", {
  tokenHash: text().primaryKey(),
  /** The operator's normalised address (operators' own data, see README "Operator console"). */
  email: text().notNull(),
  createdAt: integer().notNull(),
  expiresAt: integer().notNull(),
  /** Set when the link is used: a link signs in once. */
  usedAt: integer(),
});

export const adminSessions = sqliteTable("admin_sessions", {
  idHash: text().primaryKey(),
  email: text().notNull(),
  createdAt: integer().notNull(),
  expiresAt: integer().notNull(),
  revokedAt: integer(),
});

/** What operators did to subscribers (pause, delete …): who, when, to whom (an id, kept after a deletion). */
export const adminActions = sqliteTable(
  "admin_actions",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    at: integer().notNull(),
    operatorEmail: text().notNull(),
    /** A short prefix of the session's hash: ties the action to one sign-in without storing the secret. */
    sessionRef: text().notNull(),
    action: text().notNull(),
    subscriberId: text(),
    outcome: text().notNull(),
  },
  (t) => [index("admin_actions_subscriber_idx").on(t.subscriberId, t.at)],
);

export const importModes = ["confirm", "consented"] as const;
export type ImportMode = (typeof importModes)[number];
export const importStatuses = ["uploaded", "running", "done"] as const;

/** A CSV import: uploaded rows are staged in import_rows, then worked through in chunks. */
export const importJobs = sqliteTable("import_jobs", {
  id: text().primaryKey(),
  courseSlug: text().notNull(),
  operatorEmail: text().notNull(),
  createdAt: integer().notNull(),
  status: text({ enum: importStatuses }).notNull().default("uploaded"),
  /** The file's header row (JSON array of strings). */
  headers: text().notNull(),
  /** Column index per field, JSON `{ email, firstName?, timeZone? }`; null until mapped. */
  mapping: text(),
  mode: text({ enum: importModes }),
  /** Where the operator says these people opted in ("consented" mode only). */
  sourceNote: text(),
  total: integer().notNull().default(0),
  done: integer().notNull().default(0),
  imported: integer().notNull().default(0),
  existing: integer().notNull().default(0),
  suppressed: integer().notNull().default(0),
  rejected: integer().notNull().default(0),
  /** One request works on a job at a time (two open tabs must not import a row twice): it holds this lease. */
  leaseUntil: integer(),
  updatedAt: integer().notNull(),
});

export const importRows = sqliteTable(
  "import_rows",
  {
    jobId: text()
      .notNull()
      .references(() => importJobs.id, { onDelete: "cascade" }),
    /** 1-based data row (the header row is not counted). */
    rowNumber: integer().notNull(),
    /** The row's cells, JSON array of strings. */
    cells: text().notNull(),
    /** null until worked: imported | existing | suppressed | rejected. */
    outcome: text(),
    reason: text(),
    /** The subscriber an imported row created: their consent record (source "import", the job's note). */
    subscriberId: text(),
  },
  (t) => [
    uniqueIndex("import_rows_job_row_unique").on(t.jobId, t.rowNumber),
    index("import_rows_outcome_idx").on(t.jobId, t.outcome, t.rowNumber),
    index("import_rows_subscriber_idx").on(t.subscriberId).where(sql`${t.subscriberId} is not null`),
  ],
);

export const schema = {
  subscribers,
  enrollments,
  deliveries,
  suppressions,
  webhookEvents,
  rateLimits,
  apiKeys,
  apiIdempotency,
  events,
  webhookEndpoints,
  webhookDeliveries,
  webhookAttempts,
  lessonVotes,
  adminSignInTokens,
  adminSessions,
  adminActions,
  importJobs,
  importRows,
};
