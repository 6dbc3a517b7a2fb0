import { z } from "@hono/zod-openapi";
import { emailAddress } from "../lib/email-address";
import { firstName } from "../lib/first-name";
import { API_ERROR_CODES } from "./errors";
import { API_STATES } from "./queries";
import { EVENT_TYPES } from "../events/types";

/**
 * The API's contract: these zod schemas validate requests and answers and generate the OpenAPI 3.1
 * document (`/api/v1/openapi.json`). Times are ISO-8601 strings in UTC.
 */

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.enum(API_ERROR_CODES).openapi({ example: "not_found" }),
      message: z.string().openapi({ example: "No subscriber with that id." }),
      requestId: z.string(),
    }),
  })
  .openapi("Error");

const time = z.string().openapi({ format: "date-time", example: "2026-03-02T12:00:00.000Z" });
const courseSlug = z.string().min(1).max(100).regex(/^[a-z0-9-]+$/, "A course slug is lower-case letters, digits and dashes.");

export const CourseSlugParam = z.object({ course: courseSlug.openapi({ param: { name: "course", in: "path" }, example: "clear-skin" }) });
export const IdParam = z.object({ id: z.string().min(1).max(100).openapi({ param: { name: "id", in: "path" } }) });
export const SubscriberCourseParams = IdParam.extend(CourseSlugParam.shape);

export const LessonStats = z
  .object({
    number: z.number().int(),
    slug: z.string(),
    title: z.string(),
    sent: z.number().int(),
    delivered: z.number().int(),
    opened: z.number().int(),
    clicked: z.number().int(),
    helpful: z.number().int().openapi({ description: "Lesson feedback: 0 until feedback is collected." }),
    notHelpful: z.number().int(),
  })
  .openapi("LessonStats");

export const Course = z
  .object({
    slug: z.string().openapi({ example: "clear-skin" }),
    title: z.string(),
    subscribers: z.record(z.string(), z.number().int()).openapi({ description: "Subscribers by lifecycle state." }),
    lessons: z.array(LessonStats),
  })
  .openapi("Course");

export const Enrollment = z
  .object({
    course: z.string(),
    state: z.enum(["active", "paused", "completed", "failed", "left"]),
    run: z.number().int(),
    nextLesson: z.number().int(),
    nextSendAt: time.nullable(),
    pausedUntil: time.nullable(),
    startedAt: time,
    completedAt: time.nullable(),
  })
  .openapi("Enrollment");

export const Subscriber = z
  .object({
    id: z.string(),
    email: z.string(),
    firstName: z.string().nullable(),
    timeZone: z.string(),
    status: z.enum(["pending", "active", "unsubscribed", "bounced", "complained"]),
    state: z.enum(API_STATES),
    createdAt: time,
    confirmedAt: time.nullable(),
    unsubscribedAt: time.nullable(),
    enrollments: z.array(Enrollment),
  })
  .openapi("Subscriber");

const cursor = z.string().max(500).optional().openapi({ description: "`nextCursor` from the previous page." });
const limit = z.coerce.number().int().min(1).max(100).default(50);

export const SubscriberListQuery = z.object({
  course: courseSlug.optional().openapi({ example: "clear-skin" }),
  state: z.enum(API_STATES).optional(),
  cursor,
  limit,
});

export const page = <T extends z.ZodType>(item: T, name: string) =>
  z.object({ data: z.array(item), nextCursor: z.string().nullable().openapi({ description: "Null on the last page." }) }).openapi(name);

export const Delivery = z
  .object({
    id: z.string(),
    course: z.string(),
    run: z.number().int(),
    lesson: z.number().int(),
    status: z.string(),
    attempts: z.number().int(),
    createdAt: time,
    sentAt: time.nullable(),
    updatedAt: time,
  })
  .openapi("Delivery");

export const Event = z
  .object({
    id: z.number().int().openapi({ description: "Grows in commit order: later events have greater ids." }),
    type: z.enum(EVENT_TYPES),
    subscriberId: z.string().nullable(),
    course: z.string().nullable(),
    lesson: z.number().int().nullable(),
    data: z.record(z.string(), z.unknown()),
    createdAt: time,
  })
  .openapi("Event");

export const EventListQuery = z.object({
  course: courseSlug.optional(),
  type: z.enum(EVENT_TYPES).optional(),
  cursor,
  limit,
});

export const EnrollBody = z
  .object({
    email: emailAddress,
    firstName: firstName.optional(),
    timeZone: z.string().max(100).optional().openapi({ example: "Europe/Berlin" }),
  })
  .openapi("EnrollRequest");

export const EnrollResult = z
  .object({
    subscriberId: z.string(),
    status: z.literal("confirmation_sent").or(z.literal("already_subscribed")),
    message: z.string(),
  })
  .openapi("EnrollResult");

export const ControlResult = z
  .object({
    subscriber: Subscriber,
    lessonOnItsWay: z.boolean().openapi({ description: "A lesson already handed to the provider may still arrive." }),
  })
  .openapi("ControlResult");

export const Stats = z
  .object({
    subscribers: z.record(z.string(), z.number().int()),
    enrollments: z.record(z.string(), z.number().int()),
    deliveries: z.record(z.string(), z.number().int()),
    dueNow: z.number().int(),
  })
  .openapi("Stats");

export const IdempotencyHeader = z.object({
  "idempotency-key": z
    .string()
    .min(1)
    .max(200)
    .optional()
    .openapi({ param: { name: "idempotency-key", in: "header" }, description: "Repeat a request safely: the same key within 24 hours returns the first answer." }),
});
