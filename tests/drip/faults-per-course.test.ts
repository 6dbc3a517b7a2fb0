import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AppDeps } from "../../src/app-env";
import type { Course } from "../../src/course";
import { leaveCourse, unsubscribe } from "../../src/db/controls";
import { enrollments, subscribers } from "../../src/db/schema";
import { runDispatch } from "../../src/drip/dispatch";
import { newId } from "../../src/lib/ids";
import type { Mailer } from "../../src/mail/mailer";
import { createResendMailer } from "../../src/mail/resend";
import { openDatabase } from "../../src/node-deps";
import { BOTH_COURSES, twoCourses } from "../support/courses";
import { createTestContext, type TestContext } from "../support/test-app";

/**
 * The dispatcher's fault matrix, once per course, with every person enrolled in both courses: a
 * pass over one course sends that course's next lesson exactly once, whatever the provider or the
 * process does, and never touches the other course.
 */
let t: TestContext;
beforeEach(async () => {
  t = await createTestContext({ courses: twoCourses(), timeoutMs: 60_000 });
});
afterEach(async () => t.close());

const MINUTE = 60_000;

/** `count` active people, each enrolled in both courses with lesson 1 due now. */
async function peopleInBothCourses(count: number) {
  const now = t.clock.now();
  const rows = Array.from({ length: count }, (_, i) => ({
    id: newId(),
    email: `both${i}-${Math.random().toString(36).slice(2, 8)}@example.com`,
    timeZone: "UTC",
    status: "active" as const,
    createdAt: now,
    confirmedAt: now,
  }));
  await t.db.insert(subscribers).values(rows);
  const enrol = (course: string) => rows.map((s) => ({ subscriberId: s.id, course, nextLesson: 1, nextSendAt: now, startedAt: now, updatedAt: now }));
  await t.db.insert(enrollments).values([...enrol("clear-skin"), ...enrol("skin-basics")]);
  return rows;
}

/** Per (recipient, subject): how many times it was accepted. */
function counts() {
  const map = new Map<string, number>();
  for (const e of t.resend.emails) map.set(`${e.to[0]}|${e.subject}`, (map.get(`${e.to[0]}|${e.subject}`) ?? 0) + 1);
  return map;
}

/** Everyone got lesson 1 of `course` exactly once, and nothing of any other course. */
function expectLessonOneOnce(course: Course, people: { email: string }[], except: string[] = []) {
  const c = counts();
  for (const p of people) {
    if (except.includes(p.email)) continue;
    expect(c.get(`${p.email}|${course.lessons[0]!.subject}`), p.email).toBe(1);
  }
  expect(t.resend.emails.every((e) => e.subject === course.lessons[0]!.subject)).toBe(true);
  expect([...c.values()].every((n) => n === 1)).toBe(true);
}

describe.each(BOTH_COURSES)("the fault matrix for $slug", (course) => {
  const pass = (deps: AppDeps = t.deps, options: Parameters<typeof runDispatch>[1] = {}) => runDispatch(deps, { ...options, course });

  it("four concurrent passes send each lesson exactly once", async () => {
    const people = await peopleInBothCourses(120);
    const file = (await t.db.$client.execute("PRAGMA database_list")).rows[0]!.file as string;
    const connections = await Promise.all(Array.from({ length: 4 }, () => openDatabase(`file:${file}`)));
    try {
      const reports = await Promise.all(
        connections.map(({ db }) => pass({ ...t.deps, db, mailer: createResendMailer({ apiKey: "re_test", baseUrl: t.resend.url }) }, { batchSize: 25 })),
      );
      expect(reports.reduce((sum, r) => sum + r.sent, 0)).toBe(120);
      expectLessonOneOnce(course, people);
    } finally {
      for (const { client } of connections) client.close();
    }
  });

  it("a 429 and a 500 are retried, and nothing is lost or doubled", async () => {
    const people = await peopleInBothCourses(5);
    t.resend.failNext(429, { headers: { "retry-after": "1" }, body: { statusCode: 429, name: "rate_limit_exceeded", message: "Too many requests" } });
    await pass(t.deps, { sleep: async () => {} });
    t.resend.failNext(500);
    t.clock.advance(MINUTE);
    await pass();
    t.clock.advance(5 * MINUTE);
    await pass();
    expectLessonOneOnce(course, people);
  });

  it("a provider that hangs, and one that accepts slowly, lead to one lesson each", async () => {
    const people = await peopleInBothCourses(3);
    t.resend.hangNext();
    await pass({ ...t.deps, mailer: createResendMailer({ apiKey: "re_test", baseUrl: t.resend.url, timeoutMs: 200 }) });
    t.clock.advance(MINUTE);
    t.resend.dropNext({ accept: true });
    await pass();
    t.clock.advance(5 * MINUTE);
    await pass();
    expectLessonOneOnce(course, people);
  });

  it("a pass killed after the provider accepted a batch, and one killed before sending, are finished once", async () => {
    const people = await peopleInBothCourses(6);
    let wall = Date.now();
    const wallClock = () => wall;
    const dead: Mailer = { ...t.deps.mailer, sendBatch: async () => Promise.reject(new Error("process killed")) };
    await expect(pass({ ...t.deps, mailer: dead }, { leaseMs: 100, wallClock })).rejects.toThrow();
    wall += 150;
    const crashing: Mailer = {
      ...t.deps.mailer,
      async sendBatch(emails, options) {
        await t.deps.mailer.sendBatch(emails, options);
        throw new Error("process killed");
      },
    };
    await expect(pass({ ...t.deps, mailer: crashing }, { leaseMs: 100, wallClock })).rejects.toThrow();
    wall += 150;
    await pass(t.deps, { wallClock });
    expectLessonOneOnce(course, people);
  });

  it("leaving the course or unsubscribing while a batch is uncertain: the lesson counts once and nothing more is sent", async () => {
    const people = await peopleInBothCourses(4);
    t.resend.dropNext({ accept: true });
    await pass();
    await leaveCourse(t.db, people[0]!.id, course, t.clock.now());
    await unsubscribe(t.db, people[1]!.id, t.clock.now(), t.config.appSecret);
    t.clock.advance(5 * MINUTE);
    await pass();
    t.clock.advance(10 * 24 * 60 * MINUTE);
    await pass();
    const c = counts();
    for (const p of people.slice(0, 2)) expect(c.get(`${p.email}|${course.lessons[1]!.subject}`)).toBeUndefined();
    expect(c.get(`${people[2]!.email}|${course.lessons[1]!.subject}`)).toBe(1);
    for (const p of people) expect(c.get(`${p.email}|${course.lessons[0]!.subject}`)).toBe(1);
  });
});
