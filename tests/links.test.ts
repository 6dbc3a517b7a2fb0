import nodeCrypto from "node:crypto";
import { eq } from "drizzle-orm";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { COURSE, COURSE_SLUG } from "../src/course";
import { enrollments, lessonVotes, subscribers } from "../src/db/schema";
import { runDispatch } from "../src/drip/dispatch";
import { composeLessonEmail } from "../src/drip/lesson-email";
import { lessonTemplate } from "../src/mail/emails";
import { newId } from "../src/lib/ids";
import { signEmailLinkToken, verifyEmailLinkToken } from "../src/lib/link-token";
import { verifyToken } from "../src/lib/tokens";
import type { CapturedEmail } from "./support/fake-resend";
import { createSubscriber } from "./support/factories";
import { releaseToken, type ReleaseClaims } from "./support/migrations";
import { confirmByClick, signUp } from "./support/signup";
import { createTestContext, form, linkIn, TEST_APP_URL, testConfig, type TestContext } from "./support/test-app";

/**
 * Lesson email links (src/lib/link-token.ts, src/lib/links.ts `lessonEmailLinks`): one token per
 * email, one MAC to make it, opening only that email's own purposes; every older link format
 * still opens what it opened.
 */

let t: TestContext;
beforeEach(async () => {
  t = await createTestContext();
});
afterEach(async () => {
  vi.restoreAllMocks();
  await t.close();
});

const DAY = 86_400_000;
const path = (url: string) => url.replace(TEST_APP_URL, "");
const lessonEmailsTo = (address: string): CapturedEmail[] => t.resend.emailsTo(address).filter((e) => e.tags?.some((tag) => tag.value === "lesson"));

/** Every link of a lesson email, as a reader finds them in its plain text. */
function linksOf(email: CapturedEmail) {
  const manage = linkIn(email.text, `${TEST_APP_URL}/manage/`);
  const unsubscribe = linkIn(email.text, `${TEST_APP_URL}/unsubscribe/`);
  const view = linkIn(email.text, `${TEST_APP_URL}/lessons/`);
  const helpful = linkIn(email.text, `${TEST_APP_URL}/feedback/`);
  const token = manage.slice(`${TEST_APP_URL}/manage/`.length);
  return { manage, unsubscribe, view, helpful, token };
}

/** A subscriber who has received lessons 1 to `upTo`, with the last one's email. */
async function readerAt(upTo: number, overrides: Parameters<typeof createSubscriber>[2] = {}) {
  const subscriber = await createSubscriber(t.db, t.clock.now(), overrides);
  await runDispatch(t.deps);
  for (let n = 2; n <= upTo; n++) {
    t.clock.advance(3 * DAY);
    await runDispatch(t.deps);
  }
  const emails = lessonEmailsTo(subscriber.email);
  expect(emails.map((e) => e.subject)).toEqual(COURSE.lessons.slice(0, upTo).map((l) => l.subject));
  return { subscriber, email: emails.at(-1)! };
}

function votePost(token: string, vote: string) {
  const init = form({ token, vote });
  return t.app.request("/feedback", { ...init, headers: { ...(init.headers as Record<string, string>), accept: "application/json" } });
}

const oneClick = (url: string) => t.app.request(path(url), form({ "List-Unsubscribe": "One-Click" }));

describe("one token per lesson email", () => {
  it("every link of a lesson email carries the same token, and the List-Unsubscribe header is the footer's unsubscribe link (RFC 8058)", async () => {
    const { email } = await readerAt(1);
    const links = linksOf(email);
    expect(links.token).toMatch(/^[A-Za-z0-9_-]{40,80}$/);
    expect(links.unsubscribe).toBe(`${TEST_APP_URL}/unsubscribe/${links.token}`);
    expect(links.view).toBe(`${TEST_APP_URL}/lessons/${COURSE.lessons[0]!.slug}?token=${links.token}`);
    expect(links.helpful).toBe(`${TEST_APP_URL}/feedback/${links.token}/helpful`);
    expect(email.text).toContain(`${TEST_APP_URL}/feedback/${links.token}/not-helpful`);
    expect(email.headers?.["List-Unsubscribe"]).toBe(`<${links.unsubscribe}>`);
    expect(email.headers?.["List-Unsubscribe-Post"]).toBe("List-Unsubscribe=One-Click");
  });

  it("composing 100 lesson emails computes at most 100 MACs (node:crypto HMACs and WebCrypto signatures together)", async () => {
    const config = testConfig();
    const lesson = COURSE.lessons[1]!;
    const template = await lessonTemplate(lesson, config);
    const compose = (i: number) => composeLessonEmail(config, lesson, template, { subscriberId: newId(), email: `r${i}@example.com`, firstName: null, run: 1 });
    // The first email derives the link key (one more HMAC, once per secret and process).
    await compose(0);
    const hmacs = vi.spyOn(nodeCrypto, "createHmac");
    const signatures = vi.spyOn(crypto.subtle, "sign");
    const emails = [];
    for (let i = 0; i < 100; i++) emails.push(await compose(i));
    const macs = hmacs.mock.calls.length + signatures.mock.calls.length;
    // Above zero: the spies do see the MACs being made.
    expect(macs).toBeGreaterThan(0);
    expect(macs).toBeLessThanOrEqual(100);
    expect(new Set(emails.map((e) => e.headers?.["List-Unsubscribe"])).size).toBe(100);
  });
});

describe("what a lesson email's token opens", () => {
  it("opens that subscriber's manage page, that lesson in the browser, and a vote on that lesson in that run", async () => {
    const { subscriber, email } = await readerAt(2);
    const links = linksOf(email);
    expect((await t.app.request(path(links.manage))).status).toBe(200);
    const archive = await t.app.request(path(links.view));
    expect(archive.status).toBe(200);
    expect(await archive.text()).toContain(COURSE.lessons[1]!.title);
    expect((await t.app.request(path(links.helpful))).status).toBe(200);
    expect((await votePost(links.token, "helpful")).status).toBe(200);
    const votes = await t.db.select().from(lessonVotes).where(eq(lessonVotes.subscriberId, subscriber.id));
    expect(votes.map((v) => [v.courseSlug, v.run, v.lessonNumber, v.vote])).toEqual([[COURSE_SLUG, 1, 2, "helpful"]]);
  });

  it("a lesson-2 token does not open lesson 3, nor vote on it, even with the lesson number changed inside it", async () => {
    const { subscriber, email } = await readerAt(3);
    const lesson2 = linksOf(lessonEmailsTo(subscriber.email)[1]!);
    const lesson3 = COURSE.lessons[2]!;
    expect((await t.app.request(`/lessons/${lesson3.slug}?token=${lesson2.token}`)).status).toBe(404);
    // Run 1 and lesson 2 are one byte each after the 16-byte id: make it say lesson 3, keep the tag.
    const bytes = Buffer.from(lesson2.token, "base64url");
    expect(bytes[18]).toBe(2);
    bytes[18] = 3;
    const forged = bytes.toString("base64url");
    expect((await t.app.request(`/lessons/${lesson3.slug}?token=${forged}`)).status).toBe(404);
    expect((await t.app.request(`/feedback/${forged}/helpful`)).status).toBe(404);
    expect((await votePost(forged, "helpful")).status).toBe(404);
    // The genuine lesson-2 token votes on lesson 2 only.
    expect((await votePost(lesson2.token, "not-helpful")).status).toBe(200);
    const votes = await t.db.select().from(lessonVotes).where(eq(lessonVotes.subscriberId, subscriber.id));
    expect(votes.map((v) => v.lessonNumber)).toEqual([2]);
    expect(linksOf(email).token).not.toBe(lesson2.token);
  });

  it("never opens a confirmation", async () => {
    const { email } = await readerAt(1);
    const { token } = linksOf(email);
    expect(await verifyToken(t.config.appSecret, token, "confirm", t.clock.now())).toBeNull();
    const page = await t.app.request(`/confirm?token=${token}`);
    expect(page.status).toBe(400);
    expect(await page.text()).not.toContain('method="post"');
  });

  it("a tampered or cut-short token is a clean 404 'link doesn't work' page on every link, and changes nothing", async () => {
    const { subscriber, email } = await readerAt(1);
    const { token } = linksOf(email);
    const flipped = (i: number) => `${token.slice(0, i)}${token[i] === "A" ? "B" : "A"}${token.slice(i + 1)}`;
    for (const bad of [flipped(0), flipped(5), flipped(30), flipped(token.length - 1), token.slice(0, -1), token.slice(0, 20), `${token}A`]) {
      const answers = [
        await t.app.request(`/manage/${bad}`),
        await t.app.request(`/unsubscribe/${bad}`),
        await oneClick(`/unsubscribe/${bad}`),
        await t.app.request(`/lessons/${COURSE.lessons[0]!.slug}?token=${bad}`),
        await t.app.request(`/feedback/${bad}/helpful`),
      ];
      for (const res of answers) {
        expect(res.status, bad).toBe(404);
        expect(res.headers.get("content-type")).toContain("text/html");
        expect(await res.text()).toMatch(/This link doesn(&#39;|')t work/);
      }
      expect((await votePost(bad, "helpful")).status).toBe(404);
    }
    expect((await t.db.query.subscribers.findFirst({ where: eq(subscribers.id, subscriber.id) }))?.status).toBe("active");
    expect(await t.db.select().from(lessonVotes)).toEqual([]);
  });

  it("after 'delete my data' and a new signup with the same address, the old email's links open nothing of the new person's", async () => {
    const address = "again@example.com";
    const { subscriber, email } = await readerAt(1, { email: address });
    const old = linksOf(email);
    const deletePage = await (await t.app.request(`${path(old.manage)}/delete`)).text();
    const csrf = deletePage.match(/name="csrf" value="([^"]+)"/)![1]!;
    expect((await t.app.request(`${path(old.manage)}/delete`, form({ csrf }))).status).toBe(303);

    await signUp(t, { email: address, firstName: "Newcomer", timeZone: "UTC" });
    expect((await confirmByClick(t.app, linkIn(t.resend.emailsTo(address).at(-1)!.text, `${TEST_APP_URL}/confirm?token=`))).status).toBe(200);
    await runDispatch(t.deps);
    const newcomer = await t.db.query.subscribers.findFirst({ where: eq(subscribers.email, address) });
    expect(newcomer?.id).toBeDefined();
    expect(newcomer!.id).not.toBe(subscriber.id);

    for (const url of [old.manage, old.unsubscribe, old.view, old.helpful]) expect((await t.app.request(path(url))).status, url).toBe(404);
    expect((await oneClick(old.unsubscribe)).status).toBe(404);
    expect((await votePost(old.token, "helpful")).status).toBe(404);
    const enrollment = await t.db.query.enrollments.findFirst({ where: eq(enrollments.subscriberId, newcomer!.id) });
    expect(enrollment?.state).toBe("active");
    expect(await t.db.select().from(lessonVotes)).toEqual([]);
  });
});

/**
 * Links as the releases before this one wrote them: HS256 JWTs over the app secret with `sub`,
 * `aud` (the purpose) and, per purpose, `c` (course), `l` (lesson), `r` (run). Frozen in
 * tests/support/migrations.ts, not made with src/lib/tokens.ts, so a change that breaks mail
 * already in inboxes fails these tests.
 */
async function olderToken(claims: ReleaseClaims) {
  return encodeURIComponent(await releaseToken(t.config.appSecret, claims));
}

describe("links already in people's inboxes (JWTs of earlier releases)", () => {
  it("manage, lesson with and without a course, and feedback links still open their pages", async () => {
    const { subscriber } = await readerAt(2);
    const sub = subscriber.id;
    expect((await t.app.request(`/manage/${await olderToken({ sub, aud: "manage" })}`)).status).toBe(200);
    for (const claims of [{ l: 2 }, { l: 2, c: COURSE_SLUG }]) {
      const res = await t.app.request(`/lessons/${COURSE.lessons[1]!.slug}?token=${await olderToken({ sub, aud: "lesson", ...claims })}`);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain(COURSE.lessons[1]!.title);
    }
    const feedback = await olderToken({ sub, aud: "feedback", c: COURSE_SLUG, r: 1, l: 2 });
    expect((await t.app.request(`/feedback/${feedback}/helpful`)).status).toBe(200);
    expect((await votePost(decodeURIComponent(feedback), "helpful")).status).toBe(200);
  });

  it("an unsubscribe link with a course leaves that course; one without stops all email", async () => {
    const withCourse = (await readerAt(1)).subscriber;
    const res = await oneClick(`/unsubscribe/${await olderToken({ sub: withCourse.id, aud: "unsubscribe", c: COURSE_SLUG })}`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("You have left");
    expect((await t.db.query.subscribers.findFirst({ where: eq(subscribers.id, withCourse.id) }))?.status).toBe("active");
    expect((await t.db.query.enrollments.findFirst({ where: eq(enrollments.subscriberId, withCourse.id) }))?.state).toBe("stopped");

    const without = (await readerAt(1)).subscriber;
    const all = await oneClick(`/unsubscribe/${await olderToken({ sub: without.id, aud: "unsubscribe" })}`);
    expect(all.status).toBe(200);
    expect(await all.text()).toContain("You have been unsubscribed");
    expect((await t.db.query.subscribers.findFirst({ where: eq(subscribers.id, without.id) }))?.status).toBe("unsubscribed");
  });
});

describe("the token format", () => {
  const secret = "format-test-secret-format-test-secret-0123";
  const claims = { subscriberId: "0b7e4e4c-5d3a-4f61-9a1e-2c4f8f6b9d10", course: "clear-skin", run: 3, lesson: 12 };

  it("reads back what it names, for UUID and other ids, and is 60 characters for a UUID and a 10-character slug", () => {
    const token = signEmailLinkToken(secret, claims);
    expect(token).toHaveLength(60);
    expect(verifyEmailLinkToken(secret, token)).toEqual(claims);
    const other = { subscriberId: "s-active", course: "a-very-long-course-slug", run: 300, lesson: 1 };
    expect(verifyEmailLinkToken(secret, signEmailLinkToken(secret, other))).toEqual(other);
  });

  it("reads back any claims it signs, and answers any string with claims or null, never an exception", async () => {
    const utf8Bytes = (s: string) => Buffer.byteLength(s, "utf8");
    const text = fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 }).filter((s) => utf8Bytes(s) <= 100);
    const anyClaims = fc.record({
      subscriberId: fc.oneof(fc.uuid(), text),
      course: text,
      run: fc.integer({ min: 1, max: 0xffff_ffff }),
      lesson: fc.integer({ min: 1, max: 0xffff_ffff }),
    });
    fc.assert(
      fc.property(anyClaims, (c) => {
        expect(verifyEmailLinkToken(secret, signEmailLinkToken(secret, c))).toEqual(c);
      }),
    );
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 500 }), async (s) => {
        expect(verifyEmailLinkToken(secret, s)).toBeNull();
        for (const purpose of ["confirm", "manage", "unsubscribe", "lesson", "feedback"] as const) {
          expect(await verifyToken(secret, s, purpose, 0)).toBeNull();
        }
      }),
    );
  });

  it("refuses every single-bit change, another secret and claims no email has", () => {
    const bytes = Buffer.from(signEmailLinkToken(secret, claims), "base64url");
    for (let i = 0; i < bytes.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const changed = Buffer.from(bytes);
        changed[i]! ^= 1 << bit;
        expect(verifyEmailLinkToken(secret, changed.toString("base64url"))).toBeNull();
      }
    }
    expect(verifyEmailLinkToken(`${secret}x`, signEmailLinkToken(secret, claims))).toBeNull();
    for (const bad of [{ run: 0 }, { lesson: 1.5 }, { course: "" }, { subscriberId: "" }, { course: "x".repeat(101) }]) {
      expect(() => signEmailLinkToken(secret, { ...claims, ...bad })).toThrow(RangeError);
    }
  });
});
