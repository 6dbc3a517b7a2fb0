import { and, eq, sql } from "drizzle-orm";
import { MIN_GAP_MS } from "../drip/schedule";
import { newId } from "../lib/ids";
import type { Db } from "./client";
import { enrollments, subscribers, suppressions, type SuppressionReason } from "./schema";

export type Subscriber = typeof subscribers.$inferSelect;
export type Enrollment = typeof enrollments.$inferSelect;

export async function findSubscriberByEmail(db: Db, email: string): Promise<Subscriber | undefined> {
  return db.query.subscribers.findFirst({ where: eq(subscribers.email, email) });
}

export async function findSubscriber(db: Db, id: string): Promise<Subscriber | undefined> {
  return db.query.subscribers.findFirst({ where: eq(subscribers.id, id) });
}

export async function findEnrollment(db: Db, subscriberId: string): Promise<Enrollment | undefined> {
  return db.query.enrollments.findFirst({ where: eq(enrollments.subscriberId, subscriberId) });
}

export interface SignupInput {
  email: string;
  firstName: string | null;
  timeZone: string;
}

/**
 * Records a signup and returns the subscriber it is about, or null if the row vanished meanwhile.
 * A pending subscriber needs a confirmation email; an active one gets an "already subscribed" email
 * instead. Only a new row takes `input`'s details; an existing one (pending included) keeps its
 * own, so a stranger typing someone's address cannot move their time zone or rename them (the
 * details reach the row through the signed confirmation link: `confirmSubscriber`'s `details`).
 * An unsubscribed address goes back to pending with a new confirmation nonce, so it needs a fresh
 * confirmation before anything else is sent.
 */
export async function recordSignup(db: Db, input: SignupInput, now: number): Promise<Subscriber | null> {
  const [row] = await db
    .insert(subscribers)
    .values({ id: newId(), email: input.email, firstName: input.firstName, timeZone: input.timeZone, createdAt: now })
    .onConflictDoNothing({ target: subscribers.email })
    .returning();
  if (row) return row;

  const existing = await findSubscriberByEmail(db, input.email);
  // Stored details never change here: anyone can type anyone's address. The details of this signup
  // travel inside its signed confirmation link and count only when the owner confirms.
  if (!existing || existing.status !== "unsubscribed") return existing ?? null;

  const [updated] = await db
    .update(subscribers)
    .set({ status: "pending" as const, confirmationNonce: existing.confirmationNonce + 1 })
    // Only from the state we read: a confirmation landing meanwhile is not undone.
    .where(
      and(
        eq(subscribers.id, existing.id),
        eq(subscribers.status, existing.status),
        eq(subscribers.confirmationNonce, existing.confirmationNonce),
      ),
    )
    .returning();
  return updated ?? (await findSubscriberByEmail(db, input.email)) ?? null;
}

export type ConfirmOutcome = "confirmed" | "already-active" | "invalid";

/**
 * Activates a pending subscriber and enrols them. A first confirmation starts the course with
 * lesson 1 due now; a returning subscriber continues where they left off, and one who had finished
 * starts again. Confirming lifts any suppression of the address (they asked for mail again).
 *
 * Only a pending subscriber whose nonce the link carries is confirmed: an active one is told they
 * already are, anyone else (unsubscribed, or signed up again since) gets "invalid".
 *
 * Two confirmations can race (a mail scanner prefetching the link while the person clicks it, on
 * two isolates). All writes are one batch (one transaction) and each is conditional on the
 * subscriber still being pending with this nonce, checked before the last statement flips them to
 * active. The first batch does everything; a second finds them active and writes nothing.
 */
export async function confirmSubscriber(
  db: Db,
  subscriberId: string,
  nonce: number | undefined,
  emailHash: string,
  now: number,
  /** When a returning subscriber's next lesson is due, given when their last one went out. */
  resumeAt: (lastSentAt: number) => number,
  /** The details signed into the confirmation link; they replace the stored ones on confirmation. */
  details?: { firstName: string | null; timeZone: string },
): Promise<ConfirmOutcome> {
  const subscriber = await findSubscriber(db, subscriberId);
  if (!subscriber || (nonce ?? 0) !== subscriber.confirmationNonce) return "invalid";
  if (subscriber.status === "active") return "already-active";
  if (subscriber.status !== "pending") return "invalid";

  const stillPending = sql`exists (select 1 from subscribers s
    where s.id = ${subscriberId} and s.status = 'pending' and s.confirmation_nonce = ${subscriber.confirmationNonce})`;
  const enrollment = await findEnrollment(db, subscriberId);
  const [, , confirmed] = await db.batch([
    enrollment === undefined
      ? db.run(sql`insert into enrollments (subscriber_id, next_lesson, next_send_at, started_at, updated_at)
          select ${subscriberId}, 1, ${now}, ${now}, ${now} where ${stillPending}
          on conflict (subscriber_id) do nothing`)
      : db
          .update(enrollments)
          .set(
            enrollment.state === "completed"
              ? restartedEnrollment(enrollment, now)
              : {
                  state: "active",
                  nextSendAt: enrollment.lastSentAt === null ? now : resumeAt(enrollment.lastSentAt),
                  pausedUntil: null,
                  updatedAt: now,
                },
          )
          .where(and(eq(enrollments.subscriberId, subscriberId), stillPending)),
    db.delete(suppressions).where(and(eq(suppressions.emailHash, emailHash), stillPending)),
    db
      .update(subscribers)
      .set({
        status: "active",
        confirmedAt: now,
        unsubscribedAt: null,
        ...(details && { firstName: details.firstName, timeZone: details.timeZone }),
      })
      .where(
        and(
          eq(subscribers.id, subscriberId),
          eq(subscribers.status, "pending"),
          eq(subscribers.confirmationNonce, subscriber.confirmationNonce),
        ),
      )
      .returning({ id: subscribers.id }),
  ]);
  if (confirmed.length > 0) return "confirmed";

  // Someone else's batch got there first: already confirmed, or unsubscribed/re-signed meanwhile.
  const current = await findSubscriber(db, subscriberId);
  return current?.status === "active" && current.confirmationNonce === subscriber.confirmationNonce ? "already-active" : "invalid";
}

export async function isSuppressed(db: Db, emailHash: string): Promise<SuppressionReason | null> {
  const row = await db.query.suppressions.findFirst({ where: eq(suppressions.emailHash, emailHash) });
  return row?.reason ?? null;
}

/**
 * The enrollment fields that start the course again from lesson 1, as a new run. The previous
 * run's last send time is kept: lesson 1 is due now, but never within MIN_GAP_MS of the last lesson
 * (the dispatcher checks the same rule against `lastSentAt`), so restarting minutes after lesson N
 * does not put two lessons in one morning's inbox.
 */
export function restartedEnrollment(previous: Pick<Enrollment, "run" | "lastSentAt">, now: number) {
  return {
    run: previous.run + 1,
    state: "active" as const,
    nextLesson: 1,
    nextSendAt: previous.lastSentAt === null ? now : Math.max(now, previous.lastSentAt + MIN_GAP_MS),
    lastSentAt: previous.lastSentAt,
    startedAt: now,
    completedAt: null,
    pausedUntil: null,
    updatedAt: now,
  };
}
