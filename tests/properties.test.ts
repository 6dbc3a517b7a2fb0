import { sql } from "drizzle-orm";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { COURSE } from "../src/course";
import { webhookEvents } from "../src/db/schema";
import { runDispatch } from "../src/drip/dispatch";
import { emailAddress } from "../src/lib/email-address";
import { issueFormToken } from "../src/lib/signup-guard";
import { signToken } from "../src/lib/tokens";
import { createSubscriber } from "./support/factories";
import { confirmByClick } from "./support/signup";
import { createTestContext, linkIn, TEST_APP_URL, type TestContext } from "./support/test-app";
import { signedWebhook, TEST_WEBHOOK_SECRET } from "./support/webhooks";

/**
 * Hostile input, generated: thousands of requests at the public endpoints through the real app.
 * Whatever comes in, the app answers below 500, mails only valid addresses, and its database
 * stays consistent. Each property reuses one app and database for speed; the invariants are
 * checked against everything the property did.
 */

const RUNS = { subscribeJson: 600, subscribeForm: 600, tokens: 500, webhooks: 500 };

/** Strings that make parsers and validators work: control characters, unicode, huge, address-like. */
const nastyString = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary", maxLength: 80 }),
  fc.string({ unit: "grapheme", maxLength: 80 }),
  fc.emailAddress(),
  fc.emailAddress().map((email) => ` ${email.toUpperCase()} `),
  fc.tuple(fc.emailAddress(), fc.constantFrom("\r\nBcc: x@example.com", "\n", "\u0000", "\u2028", "%0d%0a", " <b>")).map(([e, s]) => e + s),
  fc.constantFrom("", " ", "null", "undefined", "[object Object]", "Europe/Lisbon", "Mars/Olympus_Mons", "../../etc/passwd", "'; DROP TABLE subscribers; --"),
  fc.integer({ min: 250, max: 70_000 }).map((n) => "a".repeat(n)),
  fc.integer({ min: 1, max: 300 }).map((n) => `${"x".repeat(n)}@example.com`),
);

/** Addresses our validator should accept, in the shapes people type them (case, spaces). */
const plausibleEmail = fc
  .tuple(fc.stringMatching(/^[a-z0-9][a-z0-9._+-]{0,15}$/), fc.constantFrom("example.com", "Mail.Example.org", "xn--bcher-kva.example"), fc.boolean())
  .map(([local, domain, padded]) => (padded ? ` ${local}@${domain} ` : `${local}@${domain}`));

const emailField = fc.oneof({ weight: 3, arbitrary: plausibleEmail }, { weight: 2, arbitrary: nastyString }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) });

const jsonField = fc.oneof(
  { weight: 4, arbitrary: nastyString },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.array(nastyString, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 5 }), nastyString, { maxKeys: 3 }) },
);

function consistent(t: TestContext) {
  return async () => {
    const rows = async (query: ReturnType<typeof sql>) => (await t.db.run(query)).rows;
    expect(await rows(sql`SELECT e.subscriber_id FROM enrollments e LEFT JOIN subscribers s ON s.id = e.subscriber_id WHERE s.id IS NULL`)).toEqual([]);
    expect(await rows(sql`SELECT e.subscriber_id FROM enrollments e JOIN subscribers s ON s.id = e.subscriber_id WHERE e.state = 'active' AND s.status <> 'active'`)).toEqual([]);
    expect(await rows(sql`SELECT lower(trim(email)) AS e, count(*) AS n FROM subscribers GROUP BY 1 HAVING n > 1`)).toEqual([]);
    expect(await rows(sql`SELECT d.id FROM deliveries d LEFT JOIN subscribers s ON s.id = d.subscriber_id WHERE s.id IS NULL`)).toEqual([]);
    for (const row of await rows(sql`SELECT email, first_name FROM subscribers`)) {
      const email = String(row.email);
      expect(emailAddress.safeParse(email)).toMatchObject({ success: true, data: email });
      expect(String(row.first_name ?? "")).not.toMatch(/\p{Cc}/u);
    }
    // Every email that left went to a valid, normalised address, with clean header values.
    for (const sent of t.resend.emails) {
      for (const to of sent.to) expect(emailAddress.safeParse(to)).toMatchObject({ success: true, data: to });
      for (const value of [sent.from, sent.subject, ...Object.values(sent.headers ?? {})]) expect(value).not.toMatch(/[\r\n]/);
    }
  };
}

function expectNo5xx(res: Response, what: string) {
  if (res.status >= 500) throw new Error(`${what} answered ${res.status}`);
}

describe("POST /subscribe under generated input", () => {
  let t: TestContext;
  beforeAll(async () => {
    // Generated requests carry no client address, so they share one bucket: raise its limit (as an
    // operator running a signup desk would) so the generated signups get past it.
    t = await createTestContext({ env: { RESEND_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET, SIGNUP_LIMIT_PER_IP: "100000" } });
  });
  afterAll(async () => t.close());

  it(`JSON bodies: ${RUNS.subscribeJson} objects, arrays, scalars and broken JSON never cause a 5xx`, async () => {
    const body = fc.oneof(
      {
        weight: 5,
        arbitrary: fc
          .record(
            {
              email: emailField,
              firstName: fc.oneof(fc.constantFrom("Ana", "Zoë", "Jean-Luc", "O’Neil"), jsonField),
              timeZone: fc.oneof(fc.constantFrom("Europe/Lisbon", "Asia/Kolkata"), jsonField),
              website: fc.constantFrom(undefined, undefined, undefined, "", "x"),
              // Mostly genuine (filled in below), so the validation behind the token is exercised too.
              formToken: fc.oneof(fc.constant("genuine"), fc.constant("genuine"), fc.constant("genuine"), fc.constant(undefined), jsonField),
            },
            { requiredKeys: ["email"] },
          )
          .map((b) => JSON.stringify(b)),
      },
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v) ?? "null") },
      { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
    );
    const before = t.resend.emails.length; // the tests share an app and run in any order
    const contentType = fc.constantFrom("application/json", "application/json; charset=utf-8", "application/vnd.api+json");
    await fc.assert(
      fc.asyncProperty(body, contentType, async (payload, type) => {
        const genuine = JSON.stringify(await issueFormToken(t.config.appSecret, t.clock.now() - 10_000));
        const body = payload.replaceAll('"formToken":"genuine"', `"formToken":${genuine}`);
        const res = await t.app.request("/subscribe", { method: "POST", headers: { "content-type": type }, body });
        expectNo5xx(res, `POST /subscribe ${payload.slice(0, 200)}`);
        await res.arrayBuffer();
      }),
      { numRuns: RUNS.subscribeJson },
    );
    await consistent(t)();
    expect(t.resend.emails.length - before).toBeGreaterThan(20); // plenty of the generated signups were genuine
  });

  it(`forms: ${RUNS.subscribeForm} urlencoded, multipart and mislabelled bodies never cause a 5xx`, async () => {
    const before = t.resend.emails.length; // the tests share an app and run in any order
    const key = fc.oneof(
      { weight: 5, arbitrary: fc.constantFrom("email", "firstName", "timeZone", "website", "formToken", "cf-turnstile-response") },
      { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
    );
    const fields = fc.tuple(fc.option(emailField.filter((v): v is string => typeof v === "string"), { nil: undefined }), fc.array(fc.tuple(key, nastyString), { maxLength: 6 }))
      .map(([email, rest]) => (email === undefined ? rest : [["email", email] as [string, string], ...rest]));
    const encoding = fc.constantFrom("urlencoded", "multipart", "multipart-file", "text/plain", "none", "xml", "json-label");
    const withToken = fc.boolean();
    await fc.assert(
      fc.asyncProperty(fields, encoding, withToken, async (pairs, how, token) => {
        // Most runs carry a genuine form token, so the validation behind it is exercised too.
        if (token) pairs.push(["formToken", await issueFormToken(t.config.appSecret, t.clock.now() - 10_000)]);
        let init: RequestInit;
        if (how === "multipart" || how === "multipart-file") {
          const data = new FormData();
          for (const [k, v] of pairs) data.append(k, how === "multipart-file" && k === "email" ? new Blob([v]) : v);
          init = { method: "POST", body: data };
        } else {
          const body = new URLSearchParams(pairs).toString();
          const type = { urlencoded: "application/x-www-form-urlencoded", "text/plain": "text/plain", xml: "application/xml", "json-label": "application/json" }[how as string];
          init = { method: "POST", headers: type ? { "content-type": type } : {}, body };
        }
        const res = await t.app.request("/subscribe", init);
        expectNo5xx(res, `POST /subscribe (${how}) ${JSON.stringify(pairs).slice(0, 200)}`);
        await res.arrayBuffer();
      }),
      { numRuns: RUNS.subscribeForm },
    );
    await consistent(t)();
    expect(t.resend.emails.length - before).toBeGreaterThan(5); // some of the generated signups were genuine
  });
});

describe("token endpoints under generated input", () => {
  let t: TestContext;
  const subscriberIds: string[] = [];
  beforeAll(async () => {
    t = await createTestContext();
    // Real subscribers, so some generated tokens are genuine and their actions really run.
    for (const status of ["active", "active", "pending", "unsubscribed"] as const) {
      const enrollment = status === "active" ? {} : { state: "stopped" as const, nextSendAt: null };
      subscriberIds.push((await createSubscriber(t.db, t.clock.now(), { status }, enrollment)).id);
    }
  });
  afterAll(async () => t.close());

  it(`${RUNS.tokens} forged, foreign, truncated and random tokens never cause a 5xx`, async () => {
    const id = fc.oneof({ weight: 2, arbitrary: fc.constantFrom(...subscriberIds) }, { weight: 1, arbitrary: fc.uuid() }, { weight: 1, arbitrary: fc.string({ maxLength: 40 }) });
    const purpose = fc.constantFrom("confirm", "manage", "unsubscribe", "lesson", "feedback") as fc.Arbitrary<"confirm" | "manage" | "unsubscribe" | "lesson" | "feedback">;
    const signed = fc
      .tuple(purpose, id, fc.option(fc.integer(), { nil: undefined }), fc.constantFrom(t.config.appSecret, "wrong-secret-wrong-secret-wrong-secret!"))
      .map(async ([p, subscriberId, n, secret]) => signToken(secret, { purpose: p, subscriberId, nonce: n, lesson: n, ...(p === "feedback" && { course: "clear-skin", run: n }) }));
    const token = fc.oneof(
      nastyString.map(async (s) => s),
      signed,
      fc.tuple(signed, fc.nat(), fc.string({ minLength: 1, maxLength: 3 })).map(async ([p, at, junk]) => {
        const s = await p;
        const i = at % s.length;
        return s.slice(0, i) + junk + s.slice(i + 1);
      }),
      fc.array(fc.base64String({ maxLength: 60 }), { minLength: 3, maxLength: 3 }).map(async (parts) => parts.join(".")),
    );
    const slug = fc.oneof(fc.constantFrom(...COURSE.lessons.map((l) => l.slug)), fc.string({ maxLength: 30 }));
    const action = fc.constantFrom("pause-week", "pause", "resume", "restart", "unsubscribe", "explode");
    const endpoint = fc.constantFrom("confirm", "confirm-post", "manage", "manage-post", "manage-delete", "unsubscribe", "unsubscribe-post", "lesson", "feedback", "feedback-post");
    const appOrigin = new URL(TEST_APP_URL).origin;

    await fc.assert(
      fc.asyncProperty(endpoint, token, slug, action, async (where, pending, lessonSlug, action) => {
        const value = (await pending).slice(0, 8000);
        const enc = encodeURIComponent(value);
        const form = { "content-type": "application/x-www-form-urlencoded", origin: appOrigin };
        const request: [string, RequestInit?] = {
          confirm: [`/confirm?token=${enc}`],
          "confirm-post": ["/confirm", { method: "POST", headers: form, body: `token=${enc}` }],
          manage: [`/manage/${enc}`],
          "manage-post": [`/manage/${enc}/${action}`, { method: "POST", headers: form, body: "" }],
          "manage-delete": [`/manage/${enc}/delete`, { method: "POST", headers: form, body: "" }],
          unsubscribe: [`/unsubscribe/${enc}`],
          "unsubscribe-post": [`/unsubscribe/${enc}`, { method: "POST", headers: form, body: "List-Unsubscribe=One-Click" }],
          lesson: [`/lessons/${encodeURIComponent(lessonSlug)}?token=${enc}`],
          feedback: [`/feedback/${enc}/${action === "explode" ? "maybe" : "helpful"}`],
          "feedback-post": ["/feedback", { method: "POST", headers: form, body: `token=${enc}&vote=not-helpful&comment=${encodeURIComponent(lessonSlug)}` }],
        }[where] as [string, RequestInit?];
        const res = await t.app.request(...request);
        expectNo5xx(res, `${where} ${value.slice(0, 120)}`);
        await res.arrayBuffer();
      }),
      { numRuns: RUNS.tokens },
    );
    await consistent(t)();
  });
});

describe("POST /webhooks/resend under generated input", () => {
  let t: TestContext;
  const emailIds: string[] = [];
  const addresses = ["one@example.com", "two@example.com", "three@example.com"];
  beforeAll(async () => {
    t = await createTestContext({ env: { RESEND_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET } });
    for (const email of addresses) {
      const formToken = await issueFormToken(t.config.appSecret, t.clock.now() - 10_000);
      await t.app.request("/subscribe", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email, formToken }) });
      await confirmByClick(t.app, linkIn(t.resend.emailsTo(email)[0]!.text, `${TEST_APP_URL}/confirm?token=`));
    }
    await runDispatch(t.deps);
    emailIds.push(...t.resend.emails.map((e) => e.id));
  });
  afterAll(async () => t.close());

  it(`${RUNS.webhooks} signed, unsigned, stale and malformed events never cause a 5xx, and bounced addresses get no more lessons`, async () => {
    const type = fc.oneof(
      fc.constantFrom("email.delivered", "email.delivery_delayed", "email.opened", "email.clicked", "email.bounced", "email.complained", "email.suppressed", "email.sent"),
      fc.string({ maxLength: 120 }),
    );
    const data = fc.oneof(
      fc.record(
        {
          email_id: fc.oneof(fc.constantFrom(...emailIds), jsonField),
          to: fc.oneof(fc.constantFrom(...addresses).map((a) => [a]), jsonField),
          bounce: fc.oneof(fc.record({ type: fc.oneof(fc.constantFrom("Permanent", "Transient", "Undetermined", "hard", "soft"), jsonField), subType: jsonField }, { requiredKeys: [] }), jsonField),
        },
        { requiredKeys: [] },
      ),
      fc.jsonValue({ maxDepth: 3 }),
    );
    const body = fc.oneof(
      { weight: 4, arbitrary: fc.record({ type, created_at: fc.string({ maxLength: 30 }), data }, { requiredKeys: [] }).map((b) => JSON.stringify(b)) },
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? "null") },
      { weight: 1, arbitrary: fc.string({ maxLength: 300 }) },
    );
    const signing = fc.constantFrom("valid", "valid-webhook-prefix", "stale", "wrong-secret", "garbage-headers", "no-headers", "replay");
    const garbage = fc.record({ "svix-id": nastyString, "svix-timestamp": nastyString, "svix-signature": nastyString }, { requiredKeys: [] });
    let lastId = "msg_first";

    await fc.assert(
      fc.asyncProperty(body, signing, garbage, async (payload, how, headers) => {
        const at = Date.now();
        let init: RequestInit;
        if (how === "garbage-headers") {
          init = { method: "POST", headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, v.replace(/[^\t\x20-\x7e]/g, "").slice(0, 2000)])), body: payload };
        } else if (how === "no-headers") {
          init = { method: "POST", body: payload };
        } else {
          const signed = signedWebhook(payload, {
            at: how === "stale" ? at - 10 * 60_000 : at,
            secret: how === "wrong-secret" ? `whsec_${btoa("another-key-another-key-another")}` : TEST_WEBHOOK_SECRET,
            headerPrefix: how === "valid-webhook-prefix" ? "webhook" : "svix",
            id: how === "replay" ? lastId : undefined,
          });
          lastId = signed.id;
          init = signed;
        }
        const res = await t.app.request("/webhooks/resend", init);
        expectNo5xx(res, `webhook (${how}) ${payload.slice(0, 200)}`);
        // Unverifiable events are refused (an oversized one even before it is read).
        if (how === "wrong-secret" || how === "stale" || how === "no-headers") expect([401, 413]).toContain(res.status);
        await res.arrayBuffer();
        t.clock.advance(1_000);
      }),
      { numRuns: RUNS.webhooks },
    );
    await consistent(t)();
    expect(await t.db.$count(webhookEvents)).toBeGreaterThan(50); // plenty of the generated events were genuine and applied

    // Whatever happened, lessons go only to subscribers who are still active.
    const before = t.resend.emails.length;
    t.clock.advance(30 * 24 * 60 * 60 * 1000);
    await runDispatch(t.deps);
    const active = new Set(
      (await t.db.run(sql`SELECT email FROM subscribers WHERE status = 'active'`)).rows.map((row) => String(row.email)),
    );
    for (const sent of t.resend.emails.slice(before)) expect(active.has(sent.to[0]!)).toBe(true);
  });
});
