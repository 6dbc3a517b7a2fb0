import { eq } from "drizzle-orm";
import { expect } from "vitest";
import { enrollments } from "../../src/db/schema";
import { runDispatch } from "../../src/drip/dispatch";
import { confirmByClick } from "../support/signup";
import { linkIn, TEST_APP_URL, type TestContext } from "../support/test-app";
import { emailEvent, signedWebhook } from "../support/webhooks";
import { apiCall } from "./support";

/** Every event of the journey below, in order. */
export const JOURNEY_EVENTS = [
  "subscriber.created",
  "subscriber.confirmed",
  "enrollment.started",
  "lesson.sent",
  "lesson.delivered",
  "lesson.opened",
  "lesson.clicked",
  "enrollment.paused",
  "enrollment.resumed",
  ...Array.from({ length: 5 }, () => "lesson.sent"),
  "enrollment.completed",
  "subscriber.unsubscribed",
  "subscriber.deleted",
];

/**
 * A whole subscriber journey through the real app: enrolled through the API, confirmed by click,
 * lesson 1 sent and then delivered, opened and clicked (signed Resend webhooks), paused and resumed
 * through the API, the other five lessons sent when due, unsubscribed and deleted through the API.
 * Needs RESEND_WEBHOOK_SECRET = TEST_WEBHOOK_SECRET and a write key. Returns the subscriber's id.
 */
export async function walkJourney(
  t: TestContext,
  key: string,
  email: string,
  between: () => Promise<void> = async () => {},
  options: { erase?: boolean } = {},
): Promise<string> {
  const enrolled = await apiCall(t, key, "POST", "/api/v1/courses/clear-skin/enrollments", { email });
  expect(enrolled.status).toBe(202);
  const { subscriberId } = (await enrolled.json()) as { subscriberId: string };
  const confirmation = t.resend.emailsTo(email).at(-1)!;
  expect((await confirmByClick(t.app, linkIn(confirmation.text, `${TEST_APP_URL}/confirm`))).status).toBe(200);
  await between();
  await runDispatch(t.deps);
  const lesson1 = t.resend.emailsTo(email).at(-1)!;
  for (const type of ["email.delivered", "email.opened", "email.clicked"]) {
    const res = await t.app.request("/webhooks/resend", signedWebhook(emailEvent(type, { emailId: lesson1.id, to: email }), { at: Date.now() }));
    expect(res.status).toBe(200);
  }
  await between();
  expect((await apiCall(t, key, "POST", `/api/v1/subscribers/${subscriberId}/courses/clear-skin/pause`)).status).toBe(200);
  expect((await apiCall(t, key, "POST", `/api/v1/subscribers/${subscriberId}/courses/clear-skin/resume`)).status).toBe(200);
  for (let lesson = 2; lesson <= 6; lesson++) {
    const row = await t.db.query.enrollments.findFirst({ where: eq(enrollments.subscriberId, subscriberId) });
    t.clock.set(Math.max(t.clock.now(), row!.nextSendAt!));
    expect((await runDispatch(t.deps)).sent).toBeGreaterThanOrEqual(1);
    await between();
  }
  expect((await apiCall(t, key, "POST", `/api/v1/subscribers/${subscriberId}/unsubscribe`)).status).toBe(200);
  await between();
  if (options.erase === false) return subscriberId;
  expect((await apiCall(t, key, "DELETE", `/api/v1/subscribers/${subscriberId}`)).status).toBe(204);
  return subscriberId;
}
