/** @jsxImportSource hono/jsx */
import { and, eq, sql } from "drizzle-orm";
import { Hono } from "hono";
import type { AppDeps } from "../app-env";
import { type Course, lessonOf } from "../course";
import { courseBySlug, coursesOf } from "../course/registry";
import { resume } from "../db/controls";
import { reviveBatches } from "../db/batch-queries";
import { adminActions, deliveries } from "../db/schema";
import { personalise } from "../drip/personalise";
import { AppError } from "../lib/errors";
import { headerSafe } from "../mail/compose";
import type { OutgoingEmail } from "../mail/mailer";
import { consoleOn, readConsoleForm, requireOperator, type ConsoleEnv } from "./auth";
import { ConsolePage, Csrf, Scroll, when } from "./layout";
import { consoleCourses, failedDeliveries, failedDeliveriesAllCourses, heldBatches } from "./queries";
import type { OperatorSession } from "./sessions";
import { lessonTemplate } from "../mail/emails";

/** Where every personal link of a test email points: a page that says it does nothing. */
export const testLinkUrl = (appUrl: string) => `${appUrl}/admin/test-link`;

/**
 * A lesson as its subscribers get it, to the operator, marked as a test: "[Test] " before the
 * subject, a `test` tag, placeholder personal links. No delivery row is written, so it counts nowhere.
 */
export async function composeTestLesson(deps: AppDeps, course: Course, lessonNumber: number, to: string): Promise<OutgoingEmail> {
  const { config } = deps;
  const lesson = lessonOf(course, lessonNumber);
  if (!lesson) throw new AppError(400, "no_such_lesson", "There is no such lesson.");
  const placeholder = testLinkUrl(config.appUrl);
  const { html, text } = personalise(lessonTemplate(lesson, config, course), {
    firstName: null,
    manageUrl: placeholder,
    unsubscribeUrl: placeholder,
    viewInBrowserUrl: placeholder,
    helpfulUrl: placeholder,
    notHelpfulUrl: placeholder,
  });
  return {
    to,
    from: headerSafe(config.mailFrom),
    subject: `[Test] ${lesson.subject}`,
    html,
    text,
    headers: { "List-Unsubscribe": `<${placeholder}>`, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click" },
    tags: [
      { name: "category", value: "test" },
      { name: "test", value: "true" },
      { name: "course", value: course.slug },
      { name: "lesson", value: String(lesson.number) },
    ],
  };
}

/**
 * Retries one failed delivery, when that is safe (see `failedDeliveries`): the enrollment resumes
 * through the lifecycle (lessons start again at the next local send hour), and the delivery gets
 * a new set of attempts, as /admin/retry-failed does. It stays in its batch, resent under the batch's
 * key (`reviveBatches`), so within the provider's 24-hour memory of the key a retry cannot send twice. Returns an outcome code.
 */
export async function retryDelivery(deps: AppDeps, operator: OperatorSession, deliveryId: string): Promise<string> {
  const { db, clock, config, logger } = deps;
  const now = clock();
  // The delivery's own course: its enrollment in that course is the one to resume.
  const found = await Promise.all(consoleCourses().map(async (course) => ({ course, rows: await failedDeliveries(db, course.slug, 1, deliveryId) })));
  const match = found.find((f) => f.rows.length > 0);
  const row = match?.rows[0];
  const course = match ? courseBySlug(match.course.slug) : undefined;
  let outcome: string;
  if (!row) outcome = "not_failed";
  else if (!row.retry.safe) outcome = "unsafe";
  else {
    const resumed = await resume(db, row.subscriberId, { now, sendHour: config.sendHour, course });
    if (resumed.ok) {
      await db
        .update(deliveries)
        .set({ status: "retrying", attempts: 0, updatedAt: now })
        .where(
          and(
            eq(deliveries.id, deliveryId),
            eq(deliveries.status, "failed"),
            // Its own course's enrollment: the same run number in another course must not count.
            sql`exists (select 1 from enrollments e where e.subscriber_id = ${deliveries.subscriberId} and e.course = ${deliveries.course} and e.run = ${deliveries.run} and e.state = 'active')`,
          ),
        );
      await reviveBatches(db, now);
    }
    outcome = resumed.ok ? "done" : resumed.reason;
  }
  const sessionRef = operator.idHash.slice(0, 12);
  await db.insert(adminActions).values({ at: now, operatorEmail: operator.email, sessionRef, action: "retry", subscriberId: row?.subscriberId ?? null, outcome });
  logger.info("admin_action", { action: "retry", deliveryId, outcome, session: sessionRef });
  return outcome;
}


const RETRY_WORDS: Record<string, string> = {
  done: "Retrying: the lesson goes out again at the subscriber's next send hour.",
  not_failed: "That delivery is no longer failed.",
  unsafe: "That delivery cannot be retried safely.",
  not_subscribed: "Not retried: they are no longer subscribed.",
  not_confirmed: "Not retried: they have not confirmed.",
  completed: "Not retried: they have finished the course.",
  not_found: "Not retried: they no longer exist.",
};

/** Held batches: never retried from here, and the page says why. */
function HeldBatches({ rows }: { rows: Awaited<ReturnType<typeof heldBatches>> }) {
  if (rows.length === 0) return <p>No held batches.</p>;
  return (
    <>
      <p>
        The provider never answered for these batches, and it forgets a batch's idempotency key 24 hours after the first try, so
        sending them again could deliver the same lesson twice. Their lessons wait: check the provider's log for these emails, then
        contact the people or restart their course from their subscriber page.
      </p>
      <Scroll label="Held batches"><table class="data" id="held-batches">
        <thead>
          <tr>
            <th scope="col">First tried</th>
            <th scope="col">Course</th>
            <th scope="col">Lesson</th>
            <th scope="col" class="num">People</th>
            <th scope="col" class="num">Attempts</th>
            <th scope="col">Batch (idempotency key)</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr>
              <td>{row.firstAttemptAt === null ? "—" : when(row.firstAttemptAt)}</td>
              <td>{row.course}</td>
              <td>{row.lesson === null ? "several" : String(row.lesson)}</td>
              <td class="num">{String(row.members)}</td>
              <td class="num">{String(row.attempts)}</td>
              <td>
                <code>{row.id}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table></Scroll>
    </>
  );
}

export const mailRoutes = new Hono<ConsoleEnv>()
  .get("/mail", consoleOn, requireOperator, async (c) => {
    const { db, config } = c.get("deps");
    const [rows, held] = await Promise.all([failedDeliveriesAllCourses(db), heldBatches(db)]);
    const retried = c.req.query("retried") ?? "";
    const done = retried in RETRY_WORDS ? retried : undefined;
    return c.html(
      <ConsolePage title="Failed mail" brandName={config.brandName} operator={{ email: c.get("operator").email, csrf: c.get("csrf") }}>
        {done && (
          <p class="notice" role="status">
            {RETRY_WORDS[done]}
          </p>
        )}
        <h2>Held batches</h2>
        <HeldBatches rows={held} />
        <h2>Failed deliveries</h2>
        <p>Lessons the provider would not take after every retry, newest first, with the provider's reason.</p>
        {rows.length === 0 ? (
          <p>No failed deliveries.</p>
        ) : (
          <Scroll label="Failed deliveries"><table class="data">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Subscriber</th>
                <th scope="col">Course</th>
                <th scope="col">Lesson</th>
                <th scope="col">Reason</th>
                <th scope="col">Retry</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => (
                <tr>
                  <td>{when(row.updatedAt)}</td>
                  <td>
                    <a href={`/admin/subscribers/${row.subscriberId}`}>{row.subscriberId.slice(0, 8)}</a>
                  </td>
                  <td>{row.course}</td>
                  <td>{String(row.lesson)}</td>
                  <td>{row.lastError ?? "No reason recorded"}</td>
                  <td>
                    {row.retry.safe ? (
                      <form method="post" action={`/admin/mail/${row.id}/retry`}>
                        <Csrf token={c.get("csrf")} />
                        <button type="submit" class="secondary small" aria-label={`Retry lesson ${row.lesson} for ${row.subscriberId.slice(0, 8)}`}>
                          Retry
                        </button>
                      </form>
                    ) : (
                      row.retry.reason
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table></Scroll>
        )}
      </ConsolePage>,
    );
  })
  .post("/mail/:id/retry", consoleOn, requireOperator, async (c) => {
    await readConsoleForm(c);
    const outcome = await retryDelivery(c.get("deps"), c.get("operator"), c.req.param("id"));
    return c.redirect(`/admin/mail?retried=${encodeURIComponent(outcome)}`, 303);
  })
  .post("/courses/:slug/test-send", consoleOn, requireOperator, async (c) => {
    const fields = await readConsoleForm(c);
    const slug = c.req.param("slug");
    const deps = c.get("deps");
    const course = coursesOf(deps).courseBySlug(slug);
    if (!course) throw new AppError(404, "not_found", "There is no course with that name.");
    const lesson = Number(fields.lesson);
    if (!Number.isInteger(lesson)) throw new AppError(400, "no_such_lesson", "Choose a lesson.");
    const operator = c.get("operator");
    const result = await deps.mailer.send(await composeTestLesson(deps, course, lesson, operator.email));
    deps.logger.info("admin_test_send", { lesson, ok: result.ok, session: operator.idHash.slice(0, 12) });
    if (!result.ok) throw new AppError(502, "send_failed", `The provider did not take the test email (${result.error.kind}). Please try again.`);
    return c.redirect(`/admin/courses/${slug}?sent=${lesson}`, 303);
  })
  // The personal links of a test email land here, and change nothing (one-click unsubscribe POSTs too).
  .on(["GET", "POST"], "/test-link", consoleOn, (c) =>
    c.html(
      <ConsolePage title="A test link" brandName={c.get("deps").config.brandName}>
        <p class="lead">This link is a placeholder in a test email. It does nothing.</p>
      </ConsolePage>,
    ),
  );

