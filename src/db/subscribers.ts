import { and, eq } from "drizzle-orm";
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
 * Records a signup and returns the subscriber a confirmation should go to, or null when the address
 * is already active (nothing to confirm). An unsubscribed address goes back to pending with a new
 * confirmation nonce, so it needs a fresh confirmation before anything else is sent.
 */
export async function recordSignup(db: Db, input: SignupInput, now: number): Promise<Subscriber | null> {
  const [row] = await db
    .insert(subscribers)
    .values({ id: newId(), email: input.email, firstName: input.firstName, timeZone: input.timeZone, createdAt: now })
    .onConflictDoNothing({ target: subscribers.email })
    .returning();
  if (row) return row;

  const existing = await findSubscriberByEmail(db, input.email);
  if (!existing || existing.status === "active") return null;

  const [updated] = await db
    .update(subscribers)
    .set({
      firstName: input.firstName ?? existing.firstName,
      timeZone: input.timeZone,
      ...(existing.status === "unsubscribed" && {
        status: "pending" as const,
        confirmationNonce: existing.confirmationNonce + 1,
      }),
    })
    .where(eq(subscribers.id, existing.id))
    .returning();
  return updated ?? null;
}

export type ConfirmOutcome = "confirmed" | "already-active" | "invalid";

/**
 * Activates a pending subscriber and enrols them. A first confirmation starts the course with
 * lesson 1 due now; a returning subscriber continues where they left off, and one who had finished
 * starts again. Confirming lifts any suppression of the address (they asked for mail again).
 */
export async function confirmSubscriber(
  db: Db,
  subscriberId: string,
  nonce: number | undefined,
  emailHash: string,
  now: number,
  /** When a returning subscriber's next lesson is due, given when their last one went out. */
  resumeAt: (lastSentAt: number) => number,
): Promise<ConfirmOutcome> {
  const subscriber = await findSubscriber(db, subscriberId);
  if (!subscriber || (nonce ?? 0) !== subscriber.confirmationNonce) return "invalid";
  if (subscriber.status === "active") return "already-active";

  const enrollment = await findEnrollment(db, subscriberId);
  await db.batch([
    db
      .update(subscribers)
      .set({ status: "active", confirmedAt: now, unsubscribedAt: null })
      .where(and(eq(subscribers.id, subscriberId), eq(subscribers.confirmationNonce, subscriber.confirmationNonce))),
    db.delete(suppressions).where(eq(suppressions.emailHash, emailHash)),
    enrollment === undefined
      ? db.insert(enrollments).values({ subscriberId, nextLesson: 1, nextSendAt: now, startedAt: now, updatedAt: now })
      : db
          .update(enrollments)
          .set(
            enrollment.state === "completed"
              ? { ...restartedEnrollment(enrollment.run, now) }
              : {
                  state: "active",
                  nextSendAt: enrollment.lastSentAt === null ? now : resumeAt(enrollment.lastSentAt),
                  pausedUntil: null,
                  updatedAt: now,
                },
          )
          .where(eq(enrollments.subscriberId, subscriberId)),
  ]);
  return "confirmed";
}

export async function isSuppressed(db: Db, emailHash: string): Promise<SuppressionReason | null> {
  const row = await db.query.suppressions.findFirst({ where: eq(suppressions.emailHash, emailHash) });
  return row?.reason ?? null;
}

/** The enrollment fields that start the course again from lesson 1, as a new run. */
export function restartedEnrollment(previousRun: number, now: number) {
  return {
    run: previousRun + 1,
    state: "active" as const,
    nextLesson: 1,
    nextSendAt: now,
    lastSentAt: null,
    startedAt: now,
    completedAt: null,
    pausedUntil: null,
    updatedAt: now,
  };
}
