import { eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { lessonByNumber } from "../src/course";
import { deliveries, enrollments, subscribers, suppressions, webhookEvents } from "../src/db/schema";
import { runDispatch } from "../src/drip/dispatch";
import { keyedHash } from "../src/lib/hash";
import { confirmByClick, signUp } from "./support/signup";
import { createTestContext, linkIn, TEST_APP_URL, type TestContext } from "./support/test-app";
import { emailEvent, signedWebhook, TEST_WEBHOOK_SECRET } from "./support/webhooks";

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

let t: TestContext;
beforeEach(async () => {
  t = await createTestContext({ env: { RESEND_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET } });
});
afterEach(async () => t.close());

/** Signs up and confirms through the app, as a person would. */
async function subscribe(email: string) {
  await signUp(t, { email, firstName: "Ana" });
  const confirmation = t.resend.emailsTo(email).at(-1)!;
  await confirmByClick(t.app, linkIn(confirmation.text, `${TEST_APP_URL}/confirm?token=`));
  return (await t.db.query.subscribers.findFirst({ where: eq(subscribers.email, email) }))!;
}

function lessonsTo(email: string) {
  return t.resend.emailsTo(email).filter((e) => e.subject.startsWith("Lesson "));
}

function post(body: unknown, options: Partial<Parameters<typeof signedWebhook>[1]> = {}) {
  return t.app.request("/webhooks/resend", signedWebhook(body, { at: Date.now(), ...options }));
}

async function stateOf(subscriberId: string) {
  const subscriber = await t.db.query.subscribers.findFirst({ where: eq(subscribers.id, subscriberId) });
  const enrollment = await t.db.query.enrollments.findFirst({ where: eq(enrollments.subscriberId, subscriberId) });
  const rows = await t.db.query.deliveries.findMany({ where: eq(deliveries.subscriberId, subscriberId) });
  return { subscriber: subscriber!, enrollment: enrollment!, deliveries: rows };
}

async function suppressionOf(email: string) {
  return t.db.query.suppressions.findFirst({ where: eq(suppressions.emailHash, await keyedHash(t.config.appSecret, email)) });
}

describe("webhook authenticity", () => {
  it("a forged signature is refused with 401 and changes nothing", async () => {
    const request = signedWebhook(emailEvent("email.complained", { emailId: "x", to: "victim@example.com" }), { at: Date.now() });
    request.headers["svix-signature"] = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    const res = await t.app.request("/webhooks/resend", request);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("invalid_signature");
    expect(await t.db.$count(suppressions)).toBe(0);
    expect(await t.db.$count(webhookEvents)).toBe(0);
  });

  it("an event signed with another secret is refused", async () => {
    const other = `whsec_${Buffer.from("somebody-else's-signing-key-000").toString("base64")}`;
    const res = await post(emailEvent("email.complained", { emailId: "x", to: "victim@example.com" }), { secret: other });
    expect(res.status).toBe(401);
  });

  it("a body changed after signing is refused", async () => {
    const request = signedWebhook(emailEvent("email.delivered", { emailId: "x", to: "a@example.com" }), { at: Date.now() });
    const res = await t.app.request("/webhooks/resend", { ...request, body: String(request.body).replace("delivered", "complained") });
    expect(res.status).toBe(401);
  });

  it("missing signature headers are refused with a clear message", async () => {
    const res = await t.app.request("/webhooks/resend", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(res.status).toBe(401);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("missing_headers");
    expect(body.error.message).toContain("svix-signature");
  });

  it("a webhook signed more than five minutes ago is refused as stale, and so is one from the future", async () => {
    const event = emailEvent("email.delivered", { emailId: "x", to: "a@example.com" });
    const old = await post(event, { at: Date.now() - 6 * MINUTE });
    expect(old.status).toBe(401);
    expect(((await old.json()) as { error: { code: string } }).error.code).toBe("stale_timestamp");
    const future = await post(event, { at: Date.now() + 6 * MINUTE });
    expect(future.status).toBe(401);
    const recent = await post(event, { at: Date.now() - 4 * MINUTE });
    expect(recent.status).toBe(200);
  });

  it("the plain Standard Webhooks header names are accepted too", async () => {
    const res = await post(emailEvent("email.delivered", { emailId: "x", to: "a@example.com" }), { headerPrefix: "webhook" });
    expect(res.status).toBe(200);
  });

  it("without RESEND_WEBHOOK_SECRET the endpoint answers 503 and processes nothing", async () => {
    const unconfigured = await createTestContext();
    try {
      const res = await unconfigured.app.request(
        "/webhooks/resend",
        signedWebhook(emailEvent("email.complained", { emailId: "x", to: "a@example.com" }), { at: Date.now() }),
      );
      expect(res.status).toBe(503);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe("webhooks_not_configured");
      expect(body.error.message).toContain("RESEND_WEBHOOK_SECRET");
      expect(await unconfigured.db.$count(webhookEvents)).toBe(0);
    } finally {
      await unconfigured.close();
    }
  });

  it("a signed body that is not JSON is a 400", async () => {
    const res = await post("{not json");
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("invalid_json");
  });

  it("a signed event whose type is the name of an object property (valueOf, constructor) is ignored, not a 500", async () => {
    for (const type of ["valueOf", "constructor", "__proto__", "toString"]) {
      const res = await post({ type, data: { email_id: "x" } });
      expect(res.status, type).toBe(200);
      expect(await res.json()).toEqual({ status: "ignored" });
    }
  });

  it("a signed event of a type we don't handle is acknowledged and ignored", async () => {
    const res = await post({ type: "contact.created", created_at: "2026-03-02T12:00:00Z", data: { id: "c1" } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ignored" });
  });
});

describe("replays", () => {
  it("the same event delivered twice is applied once: the second answers duplicate", async () => {
    const ana = await subscribe("replay@example.com");
    await runDispatch(t.deps);
    const lesson = lessonsTo("replay@example.com")[0]!;
    const event = emailEvent("email.complained", { emailId: lesson.id, to: "replay@example.com" });

    const first = await post(event, { id: "msg_complaint_1" });
    expect(await first.json()).toEqual({ status: "processed" });

    // Ana signs up again and confirms; then the provider retries the old complaint (re-signed, same id).
    await subscribe("replay@example.com");
    expect((await stateOf(ana.id)).subscriber.status).toBe("active");
    t.clock.advance(MINUTE);
    const again = await post(event, { id: "msg_complaint_1" });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ status: "duplicate" });
    expect((await stateOf(ana.id)).subscriber.status).toBe("active");
    expect(await t.db.$count(webhookEvents)).toBe(1);
  });

  it("two deliveries of the same event at the same moment are applied once", async () => {
    const ana = await subscribe("race@example.com");
    await runDispatch(t.deps);
    const lesson = lessonsTo("race@example.com")[0]!;
    const event = emailEvent("email.opened", { emailId: lesson.id, to: "race@example.com" });
    const answers = await Promise.all([1, 2, 3].map(async () => (await (await post(event, { id: "msg_same" })).json()) as { status: string }));
    expect(answers.filter((a) => a.status === "processed")).toHaveLength(1);
    expect(answers.filter((a) => a.status === "duplicate")).toHaveLength(2);
    expect((await stateOf(ana.id)).deliveries[0]!.status).toBe("opened");
  });
});

describe("delivery status", () => {
  it("delivery events move the delivery's status forward and never back", async () => {
    const ana = await subscribe("status@example.com");
    await runDispatch(t.deps);
    const emailId = lessonsTo("status@example.com")[0]!.id;
    const statusAfter = async (type: string) => {
      expect((await post(emailEvent(type, { emailId, to: "status@example.com" }))).status).toBe(200);
      return (await stateOf(ana.id)).deliveries[0]!.status;
    };
    expect(await statusAfter("email.delivery_delayed")).toBe("delivery_delayed");
    expect(await statusAfter("email.delivered")).toBe("delivered");
    expect(await statusAfter("email.opened")).toBe("opened");
    // Webhooks arrive out of order: a late "delivered" does not undo "opened".
    expect(await statusAfter("email.delivered")).toBe("opened");
    expect(await statusAfter("email.clicked")).toBe("clicked");
    expect(await statusAfter("email.opened")).toBe("clicked");
    expect((await stateOf(ana.id)).subscriber.status).toBe("active");
  });

  it("an event for an email we don't know is acknowledged without changing anything", async () => {
    const res = await post(emailEvent("email.delivered", { emailId: "not-ours", to: "stranger@example.com" }));
    expect(res.status).toBe(200);
    expect(await t.db.$count(deliveries)).toBe(0);
  });
});

describe("bounces and complaints", () => {
  it("a bounce stops all further lessons", async () => {
    const bounced = await subscribe("bounce@example.com");
    const control = await subscribe("control@example.com");
    await runDispatch(t.deps);
    const lesson1 = lessonsTo("bounce@example.com")[0]!;
    expect(lesson1.subject).toBe(lessonByNumber(1)!.subject);

    const res = await post(emailEvent("email.bounced", { emailId: lesson1.id, to: "bounce@example.com", bounceType: "Permanent" }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "processed" });

    const state = await stateOf(bounced.id);
    expect(state.subscriber.status).toBe("bounced");
    expect(state.subscriber.unsubscribedAt).toBe(t.clock.now());
    expect(state.enrollment).toMatchObject({ state: "stopped", nextSendAt: null, leaseId: null });
    expect(state.deliveries[0]!.status).toBe("bounced");
    expect((await suppressionOf("bounce@example.com"))?.reason).toBe("bounced");

    // Well past lesson 2's due time: the control subscriber gets it, the bounced address nothing.
    t.clock.advance(10 * DAY);
    await runDispatch(t.deps);
    expect(lessonsTo("control@example.com").map((e) => e.subject)).toContain(lessonByNumber(2)!.subject);
    expect(lessonsTo("bounce@example.com")).toHaveLength(1);
    expect((await stateOf(control.id)).subscriber.status).toBe("active");
  });

  it("a complaint stops all further lessons and suppresses the address", async () => {
    const ana = await subscribe("complain@example.com");
    await runDispatch(t.deps);
    const lesson1 = lessonsTo("complain@example.com")[0]!;

    expect((await post(emailEvent("email.complained", { emailId: lesson1.id, to: "complain@example.com" }))).status).toBe(200);
    const state = await stateOf(ana.id);
    expect(state.subscriber.status).toBe("complained");
    expect(state.enrollment.state).toBe("stopped");
    expect(state.deliveries[0]!.status).toBe("complained");
    expect((await suppressionOf("complain@example.com"))?.reason).toBe("complained");

    t.clock.advance(30 * DAY);
    const report = await runDispatch(t.deps);
    expect(report.sent).toBe(0);
    expect(lessonsTo("complain@example.com")).toHaveLength(1);
  });

  it("a later bounce does not weaken a complaint on record", async () => {
    const ana = await subscribe("both@example.com");
    await runDispatch(t.deps);
    const emailId = lessonsTo("both@example.com")[0]!.id;
    await post(emailEvent("email.complained", { emailId, to: "both@example.com" }));
    await post(emailEvent("email.bounced", { emailId, to: "both@example.com", bounceType: "Permanent" }));
    expect((await suppressionOf("both@example.com"))?.reason).toBe("complained");
    expect((await stateOf(ana.id)).deliveries[0]!.status).toBe("complained");
  });

  it("a soft bounce only marks the delivery; the course goes on", async () => {
    const ana = await subscribe("soft@example.com");
    await runDispatch(t.deps);
    const lesson1 = lessonsTo("soft@example.com")[0]!;
    await post(emailEvent("email.bounced", { emailId: lesson1.id, to: "soft@example.com", bounceType: "Transient" }));

    const state = await stateOf(ana.id);
    expect(state.subscriber.status).toBe("active");
    expect(state.enrollment.state).toBe("active");
    expect(state.deliveries[0]).toMatchObject({ status: "bounced", lastError: "bounce: Transient/General" });
    expect(await suppressionOf("soft@example.com")).toBeUndefined();

    t.clock.advance(10 * DAY);
    await runDispatch(t.deps);
    expect(lessonsTo("soft@example.com").length).toBeGreaterThan(1);
  });

  it("a hard bounce of the confirmation email is matched by its recipient and suppresses the address", async () => {
    await signUp(t, { email: "typo@exmaple.com" });
    const confirmation = t.resend.emailsTo("typo@exmaple.com")[0]!;
    // The confirmation email has no delivery row: the subscriber is found by the `to` address.
    await post(emailEvent("email.bounced", { emailId: confirmation.id, to: "Typo@Exmaple.com", bounceType: "Permanent" }));
    const row = await t.db.query.subscribers.findFirst({ where: eq(subscribers.email, "typo@exmaple.com") });
    expect(row?.status).toBe("bounced");
    expect((await suppressionOf("typo@exmaple.com"))?.reason).toBe("bounced");
    // The confirmation link in that email no longer activates anything.
    const res = await confirmByClick(t.app, linkIn(confirmation.text, `${TEST_APP_URL}/confirm?token=`));
    expect(res.status).toBe(400);
  });

  it("Resend refusing to send (email.suppressed) counts as a hard bounce", async () => {
    const ana = await subscribe("listed@example.com");
    await runDispatch(t.deps);
    await post(emailEvent("email.suppressed", { emailId: lessonsTo("listed@example.com")[0]!.id, to: "listed@example.com" }));
    expect((await stateOf(ana.id)).subscriber.status).toBe("bounced");
    expect((await suppressionOf("listed@example.com"))?.reason).toBe("bounced");
  });

  it("the suppression list keeps a keyed hash, never the address", async () => {
    const ana = await subscribe("hashed@example.com");
    await runDispatch(t.deps);
    await post(emailEvent("email.complained", { emailId: lessonsTo("hashed@example.com")[0]!.id, to: "hashed@example.com" }));
    const rows = await t.db.select().from(suppressions);
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain("hashed@example.com");
    expect(rows[0]!.emailHash).toMatch(/^[0-9a-f]{64}$/);
    expect(ana.id).toBeDefined();
  });
});

describe("signing up again after a bounce or complaint", () => {
  it("re-signup after a complaint needs a fresh confirmation, and only the confirmation is sent until then", async () => {
    const ana = await subscribe("back@example.com");
    await runDispatch(t.deps);
    const oldConfirmation = t.resend.emailsTo("back@example.com")[0]!;
    await post(emailEvent("email.complained", { emailId: lessonsTo("back@example.com")[0]!.id, to: "back@example.com" }));
    const nonceAfterComplaint = (await stateOf(ana.id)).subscriber.confirmationNonce;

    t.clock.advance(2 * DAY);
    const before = t.resend.emails.length;
    const res = await signUp(t, { email: "back@example.com" });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/check-your-inbox");

    const pending = await stateOf(ana.id);
    expect(pending.subscriber.status).toBe("pending");
    expect(pending.subscriber.confirmationNonce).toBe(nonceAfterComplaint + 1);
    const sent = t.resend.emails.slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.subject).toContain("confirm");

    // Nothing else goes out while the address is unconfirmed (lesson 2 was long due by now).
    t.clock.advance(40 * 60 * MINUTE);
    expect((await runDispatch(t.deps)).sent).toBe(0);
    expect(await suppressionOf("back@example.com")).toBeDefined();

    // The link from the very first confirmation email does not bring the address back.
    const stale = await confirmByClick(t.app, linkIn(oldConfirmation.text, `${TEST_APP_URL}/confirm?token=`));
    expect(stale.status).toBe(400);

    // The new confirmation does: the suppression is lifted and the course continues.
    const fresh = linkIn(sent[0]!.text, `${TEST_APP_URL}/confirm?token=`);
    expect((await confirmByClick(t.app, fresh)).status).toBe(200);
    expect((await stateOf(ana.id)).subscriber.status).toBe("active");
    expect(await suppressionOf("back@example.com")).toBeUndefined();
    t.clock.advance(2 * DAY);
    await runDispatch(t.deps);
    expect(lessonsTo("back@example.com").map((e) => e.subject)).toEqual([lessonByNumber(1)!.subject, lessonByNumber(2)!.subject]);
  });

  it("a bounced address that signs up again goes back to pending with a new confirmation", async () => {
    const ana = await subscribe("rebounce@example.com");
    await runDispatch(t.deps);
    await post(emailEvent("email.bounced", { emailId: lessonsTo("rebounce@example.com")[0]!.id, to: "rebounce@example.com", bounceType: "Permanent" }));
    const nonce = (await stateOf(ana.id)).subscriber.confirmationNonce;
    await signUp(t, { email: "rebounce@example.com" });
    const state = await stateOf(ana.id);
    expect(state.subscriber.status).toBe("pending");
    expect(state.subscriber.confirmationNonce).toBe(nonce + 1);
    expect(state.enrollment.state).toBe("stopped");
  });
});
