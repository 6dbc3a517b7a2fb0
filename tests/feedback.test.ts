import { and, eq } from "drizzle-orm";
import { sign } from "hono/jwt";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { COURSE_SLUG } from "../src/course";
import { deleteSubscriber, restart } from "../src/db/controls";
import { lessonComments, lessonRatings, votesOf } from "../src/db/feedback";
import { events, lessonVotes } from "../src/db/schema";
import { runDispatch } from "../src/drip/dispatch";
import { hmacKey } from "../src/lib/hash";
import { signEmailLinkToken } from "../src/lib/link-token";
import { signToken } from "../src/lib/tokens";
import type { CapturedEmail } from "./support/fake-resend";
import { apiCall, apiKey } from "./api/support";
import { createSubscriber } from "./support/factories";
import { createTestContext, form, linkIn, TEST_APP_URL, type TestContext } from "./support/test-app";

let t: TestContext;

beforeEach(async () => {
  t = await createTestContext();
});
afterEach(async () => t.close());

const lessonEmailsTo = (address: string): CapturedEmail[] =>
  t.resend.emailsTo(address).filter((email) => email.tags?.some((tag) => tag.value === "lesson"));

/** A subscriber who has just received lesson 1, with the "Yes" and "Not really" links of that email. */
async function readerWithLesson1() {
  const subscriber = await createSubscriber(t.db, t.clock.now());
  await runDispatch(t.deps);
  const [lesson] = lessonEmailsTo(subscriber.email);
  expect(lesson, "lesson 1").toBeDefined();
  const yes = linkIn(lesson!.text, `${TEST_APP_URL}/feedback/`);
  const notReally = lesson!.text.match(/Not really \((\S+\/not-helpful)\)/)?.[1];
  expect(yes).toMatch(/\/helpful$/);
  expect(notReally).toBeDefined();
  return { subscriber, lesson: lesson!, yes, notReally: notReally!, token: decodeURIComponent(yes.split("/")[4]!) };
}

const path = (url: string) => url.replace(TEST_APP_URL, "");

/** What the page's script sends: the hidden fields of its vote form. */
function votePost(token: string, vote: string, extra: Record<string, string> = {}, headers: Record<string, string> = {}) {
  const init = form({ token, vote, ...extra });
  return t.app.request("/feedback", { ...init, headers: { ...(init.headers as Record<string, string>), accept: "application/json", ...headers } });
}

describe("the feedback links in a lesson", () => {
  it("puts both links in the plain-text part and links them in the HTML, under the question", async () => {
    const { lesson, yes, notReally } = await readerWithLesson1();
    expect(lesson.text).toContain("Was this lesson helpful?");
    expect(lesson.text.split("\n")).toContain(`Yes (${yes})`);
    expect(lesson.text.split("\n")).toContain(`Not really (${notReally})`);
    expect(lesson.html).toContain(`href="${yes}"`);
    expect(lesson.html).toContain(`href="${notReally}"`);
  });

  it("gives each subscriber their own links", async () => {
    const a = await readerWithLesson1();
    const b = await readerWithLesson1();
    expect(a.yes).not.toBe(b.yes);
  });

  it("works in the web archive too: the view-in-browser page has the same two links for the reader's run", async () => {
    const { lesson } = await readerWithLesson1();
    const archive = await t.app.request(path(linkIn(lesson.text, `${TEST_APP_URL}/lessons/`)));
    const html = await archive.text();
    const yes = html.match(/href="([^"]+\/feedback\/[^"]+\/helpful)"/)?.[1];
    expect(yes).toBeDefined();
    const vote = await votePost(decodeURIComponent(yes!.split("/")[4]!), "helpful");
    expect(vote.status).toBe(200);
    expect(await lessonRatings(t.db, COURSE_SLUG)).toEqual([{ lesson: 1, helpful: 1, notHelpful: 0, comments: 0 }]);
  });
});

describe("voting", () => {
  it("counts nothing when the link is only opened (a GET, as a link scanner does)", async () => {
    const { yes, notReally } = await readerWithLesson1();
    for (const url of [yes, notReally, yes]) {
      const page = await t.app.request(path(url));
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("Save my answer");
    }
    expect(await lessonRatings(t.db, COURSE_SLUG)).toEqual([]);
  });

  it("serves the page privately: no referrer, not cached, not indexed, with its same-origin script", async () => {
    const { yes } = await readerWithLesson1();
    const page = await t.app.request(path(yes));
    expect(page.headers.get("referrer-policy")).toBe("no-referrer");
    expect(page.headers.get("cache-control")).toBe("no-store");
    expect(page.headers.get("x-robots-tag")).toBe("noindex");
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(page.headers.get("content-security-policy")).toContain("connect-src 'self'");
    const html = await page.text();
    expect(html).toMatch(/<script src="\/assets\/feedback.js" defer(="")?><\/script>/);
    expect(html).not.toMatch(/<script>/);
    const script = await t.app.request("/assets/feedback.js");
    expect(script.status).toBe(200);
    expect(script.headers.get("content-type")).toContain("javascript");
  });

  it("counts the page's POST once, however often it is sent", async () => {
    const { subscriber, token } = await readerWithLesson1();
    for (let i = 0; i < 3; i++) {
      const answer = await votePost(token, "helpful");
      expect(answer.status).toBe(200);
      // Only the first POST changes anything (and would be the one `lesson.rated` event).
      expect(await answer.json()).toEqual({ vote: "helpful", hasComment: false, changed: i === 0 });
    }
    expect(await lessonRatings(t.db, COURSE_SLUG)).toEqual([{ lesson: 1, helpful: 1, notHelpful: 0, comments: 0 }]);
    const [row] = await t.db.select().from(lessonVotes).where(eq(lessonVotes.subscriberId, subscriber.id));
    expect(row).toMatchObject({ courseSlug: "clear-skin", run: 1, lessonNumber: 1, vote: "helpful", comment: null });
  });

  it("replaces an earlier vote when the reader clicks the other answer later", async () => {
    const { token, yes } = await readerWithLesson1();
    await votePost(token, "helpful");
    await votePost(token, "not-helpful");
    expect(await lessonRatings(t.db, COURSE_SLUG)).toEqual([{ lesson: 1, helpful: 0, notHelpful: 1, comments: 0 }]);
    // The "Yes" page now offers to save "Yes" again; opening it changes nothing.
    expect(await (await t.app.request(path(yes))).text()).toContain("Save my answer");
    expect(await lessonRatings(t.db, COURSE_SLUG)).toEqual([{ lesson: 1, helpful: 0, notHelpful: 1, comments: 0 }]);
  });

  it("records the vote from the button when scripts are off, then shows it as saved", async () => {
    const { token, notReally } = await readerWithLesson1();
    const answer = await t.app.request("/feedback", form({ token, vote: "not-helpful" }));
    expect(answer.status).toBe(303);
    const location = answer.headers.get("location")!;
    expect(location).toBe(`${path(notReally)}?saved=vote`);
    const page = await (await t.app.request(location)).text();
    expect(page).toContain("Your answer is saved. Thank you!");
    expect(page).not.toContain("Save my answer");
    expect(await lessonRatings(t.db, COURSE_SLUG)).toEqual([{ lesson: 1, helpful: 0, notHelpful: 1, comments: 0 }]);
  });

  it("keeps votes of different runs apart: a restarted course is rated afresh", async () => {
    const { subscriber, token } = await readerWithLesson1();
    await votePost(token, "helpful");
    await restart(t.db, subscriber.id, { now: t.clock.now(), sendHour: 8 });
    t.clock.advance(24 * 60 * 60 * 1000);
    await runDispatch(t.deps);
    const again = lessonEmailsTo(subscriber.email).at(-1)!;
    const second = decodeURIComponent(linkIn(again.text, `${TEST_APP_URL}/feedback/`).split("/")[4]!);
    expect(second).not.toBe(token);
    await votePost(second, "not-helpful");
    const rows = await t.db.select({ run: lessonVotes.run, vote: lessonVotes.vote }).from(lessonVotes).orderBy(lessonVotes.run);
    expect(rows).toEqual([
      { run: 1, vote: "helpful" },
      { run: 2, vote: "not_helpful" },
    ]);
    expect(await lessonRatings(t.db, COURSE_SLUG)).toEqual([{ lesson: 1, helpful: 1, notHelpful: 1, comments: 0 }]);
  });
});

describe("comments", () => {
  const hostile = `<script>alert("x")</script> & <b>bold</b> 'quoted'`;

  it("stores a comment as typed and shows it escaped", async () => {
    const { token, yes } = await readerWithLesson1();
    const answer = await t.app.request("/feedback", form({ token, vote: "helpful", comment: hostile }));
    expect(answer.status).toBe(303);
    expect(answer.headers.get("location")).toBe(`${path(yes)}?saved=comment`);
    const [stored] = await lessonComments(t.db, COURSE_SLUG);
    expect(stored).toMatchObject({ lesson: 1, run: 1, vote: "helpful", comment: hostile });
    const page = await (await t.app.request(answer.headers.get("location")!)).text();
    expect(page).toContain("Your comment is saved. Thank you!");
    expect(page).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;");
    expect(page).not.toContain("<script>alert");
    expect(page).not.toContain("<b>bold</b>");
    expect(await lessonRatings(t.db, COURSE_SLUG)).toEqual([{ lesson: 1, helpful: 1, notHelpful: 0, comments: 1 }]);
  });

  it("keeps the comment when the one-click vote is sent again, and removes it when an empty one is sent", async () => {
    const { token } = await readerWithLesson1();
    await t.app.request("/feedback", form({ token, vote: "helpful", comment: "Loved the garden picture." }));
    await votePost(token, "not-helpful");
    expect((await lessonComments(t.db, COURSE_SLUG)).map((c) => [c.vote, c.comment])).toEqual([["not_helpful", "Loved the garden picture."]]);
    expect(((await (await votePost(token, "not-helpful", { comment: "Loved the garden picture." })).json()) as { changed: boolean }).changed).toBe(false);
    await t.app.request("/feedback", form({ token, vote: "not-helpful", comment: "   " }));
    expect(await lessonComments(t.db, COURSE_SLUG)).toEqual([]);
  });

  it("accepts 1,000 characters, counting a browser's CRLF line breaks as one each", async () => {
    const { token } = await readerWithLesson1();
    const comment = `${"a".repeat(498)}\r\n${"b".repeat(500)}\r\n`;
    expect((await t.app.request("/feedback", form({ token, vote: "helpful", comment }))).status).toBe(303);
    expect((await lessonComments(t.db, COURSE_SLUG))[0]?.comment).toHaveLength(1_000);
  });
});

describe("refusals", () => {
  /** A feedback-shaped JWT signed with `secret`, claims as given. */
  async function rawToken(claims: Record<string, unknown>, secret = t.config.appSecret) {
    return sign(claims, await hmacKey(secret), "HS256");
  }

  it("refuses forged, foreign and misused tokens with a 404, and records nothing", async () => {
    const { subscriber, token, lesson } = await readerWithLesson1();
    const other = await createSubscriber(t.db, t.clock.now());
    // The email's one token: format byte, then the subscriber's UUID as 16 bytes (src/lib/link-token.ts).
    const bytes = Buffer.from(token, "base64url");
    Buffer.from(other.id.replaceAll("-", ""), "hex").copy(bytes, 1);
    const claims = { sub: subscriber.id, aud: "feedback", c: COURSE_SLUG, r: 1, l: 1 };
    const emailToken = (over: Partial<{ course: string; lesson: number; secret: string }>) =>
      signEmailLinkToken(over.secret ?? t.config.appSecret, { subscriberId: subscriber.id, course: over.course ?? COURSE_SLUG, run: 1, lesson: over.lesson ?? 1 });
    const tokens: Record<string, string> = {
      "another subscriber's id pasted into the token": bytes.toString("base64url"),
      "signed with another secret": emailToken({ secret: "another-secret-another-secret-another-0" }),
      "an older feedback link signed with another secret": await rawToken(claims, "another-secret-another-secret-another-0"),
      "a manage token": await signToken(t.config.appSecret, { purpose: "manage", subscriberId: subscriber.id }),
      "an unsubscribe token": await signToken(t.config.appSecret, { purpose: "unsubscribe", subscriberId: subscriber.id }),
      "an older view-in-browser token": await signToken(t.config.appSecret, { purpose: "lesson", subscriberId: subscriber.id, lesson: 1, course: COURSE_SLUG }),
      "a token for a lesson the course does not have": emailToken({ lesson: 99 }),
      "a token for another course": emailToken({ course: "other-course" }),
      "an older token for a lesson the course does not have": await signToken(t.config.appSecret, { purpose: "feedback", subscriberId: subscriber.id, course: COURSE_SLUG, run: 1, lesson: 99 }),
      "a token without a run": await signToken(t.config.appSecret, { purpose: "feedback", subscriberId: subscriber.id, course: COURSE_SLUG, lesson: 1 }),
      "not a token at all": "not-a-token",
    };
    for (const [name, bad] of Object.entries(tokens)) {
      const post = await votePost(bad, "helpful");
      expect(post.status, `POST with ${name}`).toBe(404);
      expect(((await post.json()) as { error: { code: string } }).error.code).toBe("invalid_link");
      const page = await t.app.request(`/feedback/${encodeURIComponent(bad)}/helpful`);
      expect(page.status, `GET with ${name}`).toBe(404);
    }
    expect(await lessonRatings(t.db, COURSE_SLUG)).toEqual([]);
  });

  it("never lets one subscriber's link touch another's vote", async () => {
    const a = await readerWithLesson1();
    const b = await readerWithLesson1();
    await votePost(b.token, "helpful");
    await votePost(a.token, "not-helpful");
    const rows = await t.db.select({ subscriberId: lessonVotes.subscriberId, vote: lessonVotes.vote }).from(lessonVotes);
    expect(rows).toHaveLength(2);
    expect(rows.find((row) => row.subscriberId === b.subscriber.id)?.vote).toBe("helpful");
    expect(rows.find((row) => row.subscriberId === a.subscriber.id)?.vote).toBe("not_helpful");
  });

  it("answers an unknown answer in the link with a 404", async () => {
    const { yes } = await readerWithLesson1();
    expect((await t.app.request(path(yes).replace(/helpful$/, "maybe"))).status).toBe(404);
  });

  it("answers hostile input with a 4xx and a helpful message, never a 5xx, and records nothing", async () => {
    const { token } = await readerWithLesson1();
    const cases: [string, Response | Promise<Response>, number][] = [
      ["a 1,001-character comment", votePost(token, "helpful", { comment: "x".repeat(1_001) }), 400],
      ["an unknown answer", votePost(token, "maybe"), 400],
      ["an extra field", votePost(token, "helpful", { subscriberId: "someone-else" }), 400],
      ["no token", t.app.request("/feedback", { ...form({ vote: "helpful" }), headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" } }), 400],
      ["a JSON body", t.app.request("/feedback", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token, vote: "helpful" }) }), 400],
      ["a body over 64 KB", votePost(token, "helpful", { comment: "x".repeat(70_000) }), 413],
      ["a foreign Origin", votePost(token, "helpful", {}, { origin: "https://evil.example" }), 403],
      ["a cross-site fetch", votePost(token, "helpful", {}, { "sec-fetch-site": "cross-site" }), 403],
    ];
    for (const [name, request, status] of cases) {
      const answer = await request;
      expect(answer.status, name).toBe(status);
      const body = (await answer.json()) as { error: { message: string } };
      expect(body.error.message.length, name).toBeGreaterThan(20);
    }
    const tooLong = (await (await votePost(token, "helpful", { comment: "x".repeat(1_001) })).json()) as { error: { message: string } };
    expect(tooLong.error.message).toMatch(/longer than 1,000 characters/);
    expect(await lessonRatings(t.db, COURSE_SLUG)).toEqual([]);
  });

  it("counts a repeated field once, with its first value, like every other form", async () => {
    const { token } = await readerWithLesson1();
    const body = `token=${encodeURIComponent(token)}&vote=helpful&vote=not-helpful`;
    const answer = await t.app.request("/feedback", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" }, body });
    expect(answer.status).toBe(200);
    expect(await lessonRatings(t.db, COURSE_SLUG)).toEqual([{ lesson: 1, helpful: 1, notHelpful: 0, comments: 0 }]);
  });

  it("accepts `Origin: null`, which Chromium sends from a no-referrer page, since the token is the proof", async () => {
    const { token } = await readerWithLesson1();
    expect((await votePost(token, "helpful", {}, { origin: "null" })).status).toBe(200);
    expect((await votePost(token, "helpful", {}, { origin: new URL(TEST_APP_URL).origin })).status).toBe(200);
  });
});

describe("deleting a subscriber", () => {
  it("keeps their votes as anonymous counts, deletes their comments, and their links stop working", async () => {
    const { subscriber, token, yes } = await readerWithLesson1();
    const other = await readerWithLesson1();
    await t.app.request("/feedback", form({ token, vote: "helpful", comment: "Personal words" }));
    await t.app.request("/feedback", form({ token: other.token, vote: "helpful", comment: "Other words" }));
    expect(await deleteSubscriber(t.db, subscriber.id, t.clock.now(), t.config.appSecret)).toBe(true);

    expect(await votesOf(t.db, subscriber.id)).toBe(0);
    expect(await lessonRatings(t.db, COURSE_SLUG)).toEqual([{ lesson: 1, helpful: 2, notHelpful: 0, comments: 1 }]);
    expect((await lessonComments(t.db, COURSE_SLUG)).map((c) => c.comment)).toEqual(["Other words"]);
    const anonymous = await t.db.select().from(lessonVotes).where(eq(lessonVotes.vote, "helpful"));
    expect(anonymous.filter((row) => row.subscriberId === null)).toMatchObject([{ comment: null, lessonNumber: 1, run: 1 }]);

    expect((await t.app.request(path(yes))).status).toBe(404);
    expect((await votePost(token, "not-helpful")).status).toBe(404);
    expect(await lessonRatings(t.db, COURSE_SLUG)).toEqual([{ lesson: 1, helpful: 2, notHelpful: 0, comments: 1 }]);
  });
});

describe("votes reach the API and outbound webhooks", () => {
  it("a vote is counted in GET /api/v1/courses and becomes one lesson.rated event; the same vote again adds none", async () => {
    const { subscriber, token } = await readerWithLesson1();
    await votePost(token, "helpful", { comment: "Loved the garden metaphor" });
    await votePost(token, "helpful", { comment: "Loved the garden metaphor" });

    const { key } = await apiKey(t, "read");
    const courses = (await (await apiCall(t, key, "GET", "/api/v1/courses")).json()) as { data: { slug: string; lessons: { number: number; helpful: number; notHelpful: number; comments: number }[] }[] };
    const lesson1 = courses.data.find((course) => course.slug === COURSE_SLUG)!.lessons.find((lesson) => lesson.number === 1);
    expect(lesson1).toMatchObject({ helpful: 1, notHelpful: 0, comments: 1 });

    const rated = await t.db.select().from(events).where(and(eq(events.type, "lesson.rated"), eq(events.subscriberId, subscriber.id)));
    expect(rated).toHaveLength(1);
    expect(rated[0]).toMatchObject({ courseSlug: COURSE_SLUG, lesson: 1 });
    expect(JSON.parse(rated[0]!.payload)).toEqual({ run: 1, vote: "helpful", hasComment: true });
    expect(rated[0]!.payload).not.toContain("garden");

    expect((await votePost(token, "not-helpful")).status).toBe(200);
    expect(await t.db.$count(events, and(eq(events.type, "lesson.rated"), eq(events.subscriberId, subscriber.id)))).toBe(2);
  });
});
