import { and, asc, count, eq, isNotNull, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Db } from "./client";
import { lessonVotes, type LessonVoteValue } from "./schema";
import { newId } from "../lib/ids";

/**
 * Lesson feedback ("Was this lesson helpful?"): recording a vote, the ratings the console and the
 * API show, and what a deleted subscriber leaves behind (an anonymous count, no comment).
 */

/** Longest comment we store, in UTF-16 code units (what a textarea's `maxlength` counts). */
export const MAX_COMMENT_LENGTH = 1_000;

/**
 * The outbound-webhook event a vote is: `lesson.rated`, with the vote's identity and outcome (never
 * the comment text, which is personal data). Written in the same batch as the vote (see recordVote).
 */
export const LESSON_RATED = "lesson.rated" as const;

export interface LessonRatedPayload {
  subscriberId: string;
  course: string;
  run: number;
  lesson: number;
  vote: LessonVoteValue;
  hasComment: boolean;
}

export interface VoteInput {
  subscriberId: string;
  courseSlug: string;
  run: number;
  lessonNumber: number;
  vote: LessonVoteValue;
  /**
   * Undefined: keep whatever comment is stored (the one-click vote). A string: replace it; an empty
   * or all-blank string removes it. At most MAX_COMMENT_LENGTH characters (the route checks).
   */
  comment?: string;
}

export interface StoredVote {
  vote: LessonVoteValue;
  comment: string | null;
}

/**
 * Records `input` as the subscriber's one vote for that course, run and lesson: a first vote
 * inserts, a later one replaces the vote (and the comment when one is given); a repeat of what is
 * stored writes nothing. The insert only happens while the subscriber exists, so a vote racing a
 * deletion never names a deleted person. Returns the stored vote with `changed` (false for a
 * repeat), or null when the subscriber does not exist (the caller answers 404).
 * `now`: ms since the epoch (UTC).
 *
 * The `lesson.rated` event (LESSON_RATED, payload LessonRatedPayload) belongs in the same batch,
 * right after the upsert, as `insert … select … where changes() > 0`: SQLite's changes() counts the
 * upsert's row, so only a new or changed vote becomes an event.
 */
export async function recordVote(db: Db, input: VoteInput, now: number): Promise<(StoredVote & { changed: boolean }) | null> {
  const comment = input.comment === undefined ? undefined : input.comment.trim() === "" ? null : input.comment;
  const commentOnConflict = comment === undefined ? sql`lesson_votes.comment` : sql`excluded.comment`;
  const [result] = await db.batch([
    db.run(sql`insert into lesson_votes (id, subscriber_id, course_slug, run, lesson_number, vote, comment, created_at, updated_at)
      select ${newId()}, ${input.subscriberId}, ${input.courseSlug}, ${input.run}, ${input.lessonNumber}, ${input.vote}, ${comment ?? null}, ${now}, ${now}
      where exists (select 1 from subscribers where id = ${input.subscriberId})
      on conflict (subscriber_id, course_slug, run, lesson_number)
      do update set vote = excluded.vote, comment = ${commentOnConflict}, updated_at = excluded.updated_at
      where lesson_votes.vote is not excluded.vote or lesson_votes.comment is not ${commentOnConflict}`),
  ] as [BatchItem<"sqlite">]);
  const changed = Number((result as { rowsAffected?: number }).rowsAffected ?? 0) > 0;
  const stored = await findVote(db, input);
  return stored ? { ...stored, changed } : null;
}

/** The subscriber's stored vote for that course, run and lesson, or null. */
export async function findVote(db: Db, key: Omit<VoteInput, "vote" | "comment">): Promise<StoredVote | null> {
  const [row] = await db
    .select({ vote: lessonVotes.vote, comment: lessonVotes.comment })
    .from(lessonVotes)
    .where(
      and(
        eq(lessonVotes.subscriberId, key.subscriberId),
        eq(lessonVotes.courseSlug, key.courseSlug),
        eq(lessonVotes.run, key.run),
        eq(lessonVotes.lessonNumber, key.lessonNumber),
      ),
    )
    .limit(1);
  return row ?? null;
}

export interface LessonRating {
  lesson: number;
  helpful: number;
  notHelpful: number;
  /** Votes that carry a comment. */
  comments: number;
}

/**
 * Per lesson of `courseSlug`, across every run and including anonymous votes of deleted
 * subscribers: how many found it helpful, how many not, how many left a comment. Ordered by lesson
 * number; lessons nobody rated are absent (the caller fills zeros from the course's lesson list).
 */
export async function lessonRatings(db: Db, courseSlug: string): Promise<LessonRating[]> {
  const rows = await db
    .select({
      lesson: lessonVotes.lessonNumber,
      helpful: sql<number>`sum(case when ${lessonVotes.vote} = 'helpful' then 1 else 0 end)`,
      notHelpful: sql<number>`sum(case when ${lessonVotes.vote} = 'not_helpful' then 1 else 0 end)`,
      comments: sql<number>`count(${lessonVotes.comment})`,
    })
    .from(lessonVotes)
    .where(eq(lessonVotes.courseSlug, courseSlug))
    .groupBy(lessonVotes.lessonNumber)
    .orderBy(asc(lessonVotes.lessonNumber));
  return rows.map((row) => ({ lesson: row.lesson, helpful: Number(row.helpful), notHelpful: Number(row.notHelpful), comments: Number(row.comments) }));
}

export interface LessonComment {
  subscriberId: string | null;
  run: number;
  lesson: number;
  vote: LessonVoteValue;
  /** As typed: escape it wherever it is shown. */
  comment: string;
  /** ms since the epoch (UTC) of the last change. */
  updatedAt: number;
}

/** The comments on `courseSlug` (optionally one lesson's), newest first, at most `limit` (default 100). */
export async function lessonComments(db: Db, courseSlug: string, options: { lesson?: number; limit?: number } = {}): Promise<LessonComment[]> {
  const rows = await db
    .select({
      subscriberId: lessonVotes.subscriberId,
      run: lessonVotes.run,
      lesson: lessonVotes.lessonNumber,
      vote: lessonVotes.vote,
      comment: lessonVotes.comment,
      updatedAt: lessonVotes.updatedAt,
    })
    .from(lessonVotes)
    .where(
      and(
        eq(lessonVotes.courseSlug, courseSlug),
        isNotNull(lessonVotes.comment),
        options.lesson === undefined ? undefined : eq(lessonVotes.lessonNumber, options.lesson),
      ),
    )
    .orderBy(sql`${lessonVotes.updatedAt} desc`)
    .limit(options.limit ?? 100);
  return rows.map((row) => ({ ...row, comment: row.comment ?? "" }));
}

/** How many votes `subscriberId` has given (for tests of deletion and for the console). */
export async function votesOf(db: Db, subscriberId: string): Promise<number> {
  const [row] = await db.select({ n: count() }).from(lessonVotes).where(eq(lessonVotes.subscriberId, subscriberId));
  return row?.n ?? 0;
}

/**
 * Part of erasing a person (src/lifecycle/store.ts): their votes stay as anonymous counts, their
 * comments go. Explicit rather than ON DELETE SET NULL alone, which needs `PRAGMA foreign_keys`.
 * Must run before the subscriber row is deleted, in the same batch.
 */
export function anonymiseVotesStatement(db: Db, subscriberId: string): BatchItem<"sqlite"> {
  return db.update(lessonVotes).set({ subscriberId: null, comment: null }).where(eq(lessonVotes.subscriberId, subscriberId));
}
