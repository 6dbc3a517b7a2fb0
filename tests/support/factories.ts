import { enrollments, subscribers } from "../../src/db/schema";
import type { Db } from "../../src/db/client";
import { newId } from "../../src/lib/ids";

type SubscriberRow = typeof subscribers.$inferInsert;
type EnrollmentRow = typeof enrollments.$inferInsert;

let counter = 0;

/** An active, confirmed subscriber enrolled with lesson 1 due at `now`, unless overridden. */
export async function createSubscriber(
  db: Db,
  now: number,
  overrides: Partial<SubscriberRow> = {},
  enrollment: Partial<EnrollmentRow> = {},
) {
  counter++;
  const [subscriber] = await db
    .insert(subscribers)
    .values({
      id: newId(),
      email: `reader${counter}-${Math.random().toString(36).slice(2, 8)}@example.com`,
      firstName: `Reader${counter}`,
      timeZone: "UTC",
      status: "active",
      createdAt: now,
      confirmedAt: now,
      ...overrides,
    })
    .returning();
  await db.insert(enrollments).values({ subscriberId: subscriber!.id, nextLesson: 1, nextSendAt: now, startedAt: now, updatedAt: now, ...enrollment });
  return subscriber!;
}

/** Many subscribers at once (one statement per table), for concurrency and volume tests. */
export async function createSubscribers(db: Db, count: number, now: number, timeZone = "UTC") {
  const rows = Array.from({ length: count }, (_, i) => ({
    id: newId(),
    email: `bulk${i}-${Math.random().toString(36).slice(2, 8)}@example.com`,
    firstName: i % 3 === 0 ? null : `Bulk${i}`,
    timeZone,
    status: "active" as const,
    createdAt: now,
    confirmedAt: now,
  }));
  for (let i = 0; i < rows.length; i += 500) {
    const chunk = rows.slice(i, i + 500);
    await db.insert(subscribers).values(chunk);
    await db.insert(enrollments).values(chunk.map((s) => ({ subscriberId: s.id, nextLesson: 1, nextSendAt: now, startedAt: now, updatedAt: now })));
  }
  return rows;
}
