import { and, count, eq, lte, sql } from "drizzle-orm";
import { Hono, type Context } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { timingSafeEqual } from "hono/utils/buffer";
import type { AppEnv } from "../app-env";
import { deliveries, enrollments, subscribers } from "../db/schema";
import { AppError, notFound } from "../lib/errors";

/**
 * Operator endpoints, on only when ADMIN_TOKEN is set (`Authorization: Bearer <token>`). They
 * answer with counts and ids, never personal data.
 */
async function countBy<T extends string>(rows: Promise<{ key: T; n: number }[]>): Promise<Record<string, number>> {
  return Object.fromEntries((await rows).map((row) => [row.key, row.n]));
}

export const adminRoutes = new Hono<AppEnv>()
  .use("/admin/*", async (c, next) => {
    if (!c.get("deps").config.adminToken) throw notFound();
    await next();
  })
  .use(
    "/admin/*",
    bearerAuth({
      verifyToken: (token, c: Context<AppEnv>) => timingSafeEqual(token, c.get("deps").config.adminToken ?? ""),
      noAuthenticationHeader: { message: "Send the admin token as `Authorization: Bearer <ADMIN_TOKEN>`." },
      invalidAuthenticationHeader: { message: "Send the admin token as `Authorization: Bearer <ADMIN_TOKEN>`." },
      invalidToken: { message: "That admin token is not valid." },
    }),
  )
  .get("/admin/stats", async (c) => {
    const { db, clock } = c.get("deps");
    const now = clock();
    const [subscriberStates, enrollmentStates, deliveryStatuses, [due]] = await Promise.all([
      countBy(db.select({ key: subscribers.status, n: count() }).from(subscribers).groupBy(subscribers.status)),
      countBy(db.select({ key: enrollments.state, n: count() }).from(enrollments).groupBy(enrollments.state)),
      countBy(db.select({ key: deliveries.status, n: count() }).from(deliveries).groupBy(deliveries.status)),
      db.select({ n: count() }).from(enrollments).where(and(eq(enrollments.state, "active"), lte(enrollments.nextSendAt, now))),
    ]);
    return c.json({ subscribers: subscriberStates, enrollments: enrollmentStates, deliveries: deliveryStatuses, dueNow: due?.n ?? 0 });
  })
  // After a provider outage longer than the retry budget: give every failed enrollment of an active
  // subscriber a new set of attempts. Only the failed deliveries of those enrollments' current run
  // are reset: an unsubscribed person's, or a lesson of a run they restarted away from, stays failed.
  // Deliveries go first, in the same batch (one transaction), so both statements see the same
  // enrollments. The deliveries keep their batch keys: within the provider's 24-hour memory of a
  // key, a retry cannot send twice.
  .post("/admin/retry-failed", async (c) => {
    const { db, clock, logger } = c.get("deps");
    const now = clock();
    const [, revived] = await db.batch([
      db
        .update(deliveries)
        .set({ status: "retrying", attempts: 0, updatedAt: now })
        .where(
          and(
            eq(deliveries.status, "failed"),
            sql`exists (select 1 from enrollments e join subscribers s on s.id = e.subscriber_id
              where e.subscriber_id = ${deliveries.subscriberId} and e.run = ${deliveries.run}
                and e.state = 'failed' and s.status = 'active')`,
          ),
        ),
      db
        .update(enrollments)
        .set({ state: "active", nextSendAt: now, leaseId: null, leaseUntil: null, updatedAt: now })
        .where(and(eq(enrollments.state, "failed"), sql`exists (select 1 from subscribers s where s.id = ${enrollments.subscriberId} and s.status = 'active')`))
        .returning({ id: enrollments.subscriberId }),
    ]);
    logger.info("admin_retry_failed", { enrollments: revived.length });
    return c.json({ retried: revived.length });
  })
  .all("/admin/*", () => {
    throw new AppError(404, "not_found", "No such admin endpoint.");
  });
