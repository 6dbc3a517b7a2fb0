import { and, eq, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { reviveBatches } from "../db/batch-queries";
import { deliveries, enrollments } from "../db/schema";

/**
 * After a provider outage longer than the retry budget: gives every failed enrollment of an active
 * subscriber a new set of attempts (moved here from the old ADMIN_TOKEN endpoint). Only the failed
 * deliveries of those enrollments' current run are reset: an unsubscribed person's, or a lesson of a
 * run they restarted away from, stays failed. Deliveries go first, in the same batch (one
 * transaction), so both statements see the same enrollments. The deliveries stay in their batches,
 * which wait again (`reviveBatches`) and are resent under their own keys: within the provider's
 * 24-hour memory of a key a retry cannot send twice, and past 23 hours the batch is held for the
 * operator instead. Returns how many enrollments were revived.
 */
export async function retryFailed(db: Db, now: number): Promise<number> {
  const [, revived] = await db.batch([
    db
      .update(deliveries)
      .set({ status: "retrying", attempts: 0, updatedAt: now })
      .where(
        and(
          eq(deliveries.status, "failed"),
          sql`exists (select 1 from enrollments e join subscribers s on s.id = e.subscriber_id
            where e.subscriber_id = ${deliveries.subscriberId} and e.course = ${deliveries.course} and e.run = ${deliveries.run}
              and e.state = 'failed' and s.status = 'active')`,
        ),
      ),
    db
      .update(enrollments)
      .set({ state: "active", nextSendAt: now, leaseId: null, leaseUntil: null, updatedAt: now })
      .where(and(eq(enrollments.state, "failed"), sql`exists (select 1 from subscribers s where s.id = ${enrollments.subscriberId} and s.status = 'active')`))
      .returning({ id: enrollments.subscriberId }),
    reviveBatches(db, now),
  ]);
  return revived.length;
}
