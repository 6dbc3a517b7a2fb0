import { sql, type SQL } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Db } from "../db/client";
import type { EventDraft } from "./types";

/** The default course (src/course/registry.ts); events carry their row's own course. */

/**
 * The insert of one event, written only while `guard` holds, for the same batch (transaction) as
 * the change it records. Ids are AUTOINCREMENT, so they grow in commit order.
 */
export function eventInsert(db: Db, draft: EventDraft, now: number, guard: SQL = sql`1`): BatchItem<"sqlite"> {
  return db.run(sql`insert into events (type, subscriber_id, course_slug, lesson, payload, created_at)
    select ${draft.type}, ${draft.subscriberId}, ${draft.courseSlug}, ${draft.lesson}, ${JSON.stringify(draft.payload)}, ${now}
    where ${guard}`);
}

/**
 * `lesson.*` events for deliveries whose status is about to move into `status`: insert-select from
 * the delivery rows themselves, so it must run in the batch BEFORE the update, with the update's
 * own condition (`which`, over the alias `d`). Each delivery's step is then recorded exactly once.
 */
export function lessonEventsInsert(db: Db, type: "lesson.sent" | "lesson.delivered" | "lesson.opened" | "lesson.clicked", which: SQL, now: number): BatchItem<"sqlite"> {
  return db.run(sql`insert into events (type, subscriber_id, course_slug, lesson, payload, created_at)
    select ${type}, d.subscriber_id, d.course, d.lesson_number, json_object('run', d.run, 'deliveryId', d.id), ${now}
    from deliveries d where ${which} order by d.subscriber_id, d.lesson_number`);
}

/** `lesson.sent` for a batch the provider accepted: its members, and with `everyone` the rest waiting on it (`batch_id`). Before `markSent`. */
export function sentEventsInsert(db: Db, deliveryIds: string[], key: string, everyone: boolean, now: number): BatchItem<"sqlite"> {
  const ids = deliveryIds.length > 0 ? sql.join(deliveryIds.map((id) => sql`(${id})`), sql`, `) : sql`(null)`;
  return lessonEventsInsert(
    db,
    "lesson.sent",
    // The ids as a subquery rather than an OR, so the rows are found by key (primary key, batch_id
    // index), never by a walk of every delivery in flight.
    sql`+d.status in ('sending', 'retrying') and d.id in (values ${ids} union all select id from deliveries where ${everyone ? 1 : 0} = 1 and batch_id = ${key})`,
    now,
  );
}

/**
 * `enrollment.completed` for enrollments the dispatcher's batch update just completed at `now`
 * in `course` (after `advanceEnrollments`); at most one per subscriber, course and run. The rows
 * are found by primary key (`+e.state` keeps SQLite off the state index, a walk of every completed
 * enrollment of the course).
 */
export function completedEventsInsert(db: Db, subscriberIds: string[], now: number, course: string): BatchItem<"sqlite"> {
  const ids = subscriberIds.length > 0 ? sql.join(subscriberIds.map((id) => sql`${id}`), sql`, `) : sql`null`;
  return db.run(sql`insert into events (type, subscriber_id, course_slug, lesson, payload, created_at)
    select 'enrollment.completed', e.subscriber_id, e.course, null, json_object('run', e.run, 'from', 'active', 'to', 'completed'), ${now}
    from enrollments e where e.subscriber_id in (${ids}) and e.course = ${course} and +e.state = 'completed' and e.completed_at = ${now} and e.updated_at = ${now}
      and not exists (select 1 from events x where x.type = 'enrollment.completed' and x.subscriber_id = e.subscriber_id and x.course_slug = e.course and json_extract(x.payload, '$.run') = e.run)
    order by e.subscriber_id`);
}

/** `enrollment.resumed` for timed pauses that run out at `now` (before the update that wakes them, same condition). */
export function wakeEventsInsert(db: Db, now: number): BatchItem<"sqlite"> {
  return db.run(sql`insert into events (type, subscriber_id, course_slug, lesson, payload, created_at)
    select 'enrollment.resumed', e.subscriber_id, e.course, null, json_object('run', e.run, 'from', 'paused', 'to', 'active'), ${now}
    from enrollments e where e.state = 'paused' and e.paused_until is not null and e.paused_until <= ${now}
    order by e.subscriber_id`);
}

/**
 * `enrollment.left` for the person's enrollments in every course but `course` that a global stop
 * (unsubscribe, bounce, complaint) is about to stop: before that update in the batch, with its
 * condition and `guard`. The step's own course gets its event from the lifecycle (derive.ts).
 */
export function otherCoursesLeftEventsInsert(db: Db, subscriberId: string, course: string, now: number, guard: SQL): BatchItem<"sqlite"> {
  return db.run(sql`insert into events (type, subscriber_id, course_slug, lesson, payload, created_at)
    select 'enrollment.left', e.subscriber_id, e.course, null, json_object('run', e.run, 'from', e.state, 'to', 'left'), ${now}
    from enrollments e where e.subscriber_id = ${subscriberId} and e.course <> ${course} and e.state in ('active', 'paused', 'failed') and ${guard}
    order by e.course`);
}

/**
 * On erasure: the person's earlier events go (their history is personal data once linked to them);
 * only `subscriber.deleted` stays, carrying the random id so connected tools can erase them too.
 */
export function forgetEvents(db: Db, subscriberId: string, guard: SQL): BatchItem<"sqlite"> {
  return db.run(sql`delete from events where subscriber_id = ${subscriberId} and ${guard}`);
}
