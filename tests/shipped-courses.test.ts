import { and, eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { allCourses, courseBySlug, DEFAULT_COURSE, type Course } from "../src/course";
import { enrollments, subscribers } from "../src/db/schema";
import { runDispatchAll } from "../src/drip/dispatch-all";
import { confirmByClick, formTokenIn } from "./support/signup";
import { createTestContext, form, linkIn, TEST_APP_URL, type TestContext } from "./support/test-app";

/**
 * The courses that ship (src/course/registry.ts), over the real app with no fixture registry:
 * issue 12's "done when" for the gut–skin course and the three-day starter.
 */
let t: TestContext;
beforeEach(async () => {
  t = await createTestContext();
});
afterEach(async () => t.close());

const EMAIL = "both@example.com";
const starter = courseBySlug("skin-food-starter")!;
const clearSkin = DEFAULT_COURSE;

async function join(path: string, fields: Record<string, string> = {}) {
  const formToken = formTokenIn(await (await t.app.request(path)).text());
  t.clock.advance(5_000);
  const before = t.resend.emailsTo(EMAIL).length;
  const res = await t.app.request("/subscribe", form({ formToken, email: EMAIL, firstName: "Rae", timeZone: "America/New_York", ...fields }));
  expect(res.status).toBe(303);
  const email = t.resend.emailsTo(EMAIL)[before]!;
  return { email, confirm: () => confirmByClick(t.app, linkIn(email.text, `${TEST_APP_URL}/confirm?token=`)) };
}

const lessonsOf = (course: Course) =>
  t.resend
    .emailsTo(EMAIL)
    .map((e) => e.subject)
    .filter((subject) => course.lessons.some((l) => l.subject === subject));

async function stateIn(course: string) {
  const [person] = await t.db.select().from(subscribers).where(eq(subscribers.email, EMAIL));
  const row = await t.db.query.enrollments.findFirst({ where: and(eq(enrollments.subscriberId, person!.id), eq(enrollments.course, course)) });
  return row?.state;
}

describe("the shipped courses", () => {
  it("ships the gut–skin course as the default and the three-day starter beside it", async () => {
    expect(allCourses().map((c) => c.slug)).toEqual(["clear-skin", "skin-food-starter"]);
    expect(starter.lessons.map((l) => l.dayOffset)).toEqual([0, 1, 2]);
    const list = await (await t.app.request("/courses")).text();
    expect(list).toContain("/courses/skin-food-starter");
    expect(list).toContain("The Skin-Friendly Plate: a 3-day starter");
    const page = await t.app.request("/courses/skin-food-starter");
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("Start a food-and-skin journal");
    expect(await (await t.app.request("/")).text()).toContain(clearSkin.title);
  });

  it("one person joins both, confirms both (one click for the second), gets both at 08:00 local, leaves the starter by one-click header and keeps the full course", async () => {
    // 05:00 in New York (UTC-5 in March before the clock change).
    t.clock.set("2026-03-02T10:00:00Z");
    await (await join("/")).confirm();
    const second = await join("/courses/skin-food-starter", { course: "skin-food-starter" });
    expect(second.email.subject).toContain(starter.title);
    expect((await second.confirm()).status).toBe(200);
    expect([await stateIn("clear-skin"), await stateIn("skin-food-starter")]).toEqual(["active", "active"]);

    await runDispatchAll(t.deps);
    expect(lessonsOf(clearSkin)).toEqual([clearSkin.lessons[0]!.subject]);
    expect(lessonsOf(starter)).toEqual([starter.lessons[0]!.subject]);

    // Starter lesson 2 is due on day 1 at 08:00 New York time (13:00 UTC), not a minute before.
    t.clock.set("2026-03-03T12:59:00Z");
    await runDispatchAll(t.deps);
    expect(lessonsOf(starter)).toHaveLength(1);
    t.clock.set("2026-03-03T13:00:00Z");
    await runDispatchAll(t.deps);
    expect(lessonsOf(starter)).toEqual(starter.lessons.slice(0, 2).map((l) => l.subject));

    const lesson2 = t.resend.emailsTo(EMAIL).find((e) => e.subject === starter.lessons[1]!.subject)!;
    const oneClick = lesson2.headers!["List-Unsubscribe"]!.slice(1, -1).replace(TEST_APP_URL, "");
    const res = await t.app.request(oneClick, form({ "List-Unsubscribe": "One-Click" }));
    expect(res.status).toBe(200);
    expect(await res.text()).toContain(`You have left ${starter.title}`);
    expect([await stateIn("clear-skin"), await stateIn("skin-food-starter")]).toEqual(["active", "stopped"]);

    for (const day of ["2026-03-04", "2026-03-05", "2026-03-06"]) {
      t.clock.set(`${day}T13:00:00Z`);
      await runDispatchAll(t.deps);
    }
    expect(lessonsOf(starter)).toEqual(starter.lessons.slice(0, 2).map((l) => l.subject));
    // Day 4 after joining: every gut–skin lesson planned for days 0..4 has arrived, each once.
    const due = clearSkin.lessons.filter((l) => l.dayOffset <= 4);
    expect(due.length).toBeGreaterThanOrEqual(2);
    expect(lessonsOf(clearSkin)).toEqual(due.map((l) => l.subject));
  });
});
