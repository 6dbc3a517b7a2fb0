import { eq } from "drizzle-orm";
import { parse } from "csv-parse/sync";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { enrollments, importRows, subscribers } from "../../src/db/schema";
import { neutralise } from "../../src/admin/csv";
import { unsubscribe, deleteSubscriber } from "../../src/db/controls";
import { consoleEnv, csrfFor, get, post, signIn } from "../support/console";
import { createSubscriber } from "../support/factories";
import { confirmByClick } from "../support/signup";
import { createTestContext, linkIn, type TestContext } from "../support/test-app";

let t: TestContext;
let cookie: string;
beforeEach(async () => {
  t = await createTestContext({ env: consoleEnv });
  ({ cookie } = await signIn(t));
});
afterEach(async () => t.close());

async function upload(csv: string, name = "list.csv", csrf?: string): Promise<Response> {
  const body = new FormData();
  body.set("csrf", csrf ?? (await csrfFor(t, cookie)));
  body.set("file", new File([csv], name, { type: "text/csv" }));
  return t.app.request("/admin/imports", { method: "POST", body, headers: { cookie } });
}

/** Uploads, maps with `fields`, and works the job to the end the way the page's script does. */
async function importCsv(csv: string, fields: Record<string, string> = { email: "0", firstName: "1", timeZone: "2", mode: "confirm" }) {
  const uploaded = await upload(csv);
  expect(uploaded.status).toBe(303);
  const jobPath = uploaded.headers.get("location")!;
  const csrf = await csrfFor(t, cookie, jobPath);
  const started = await post(t, `${jobPath}/start`, cookie, { csrf, ...fields });
  expect(started.status).toBe(303);
  for (let i = 0; i < 100; i++) {
    const res = await t.app.request(`${jobPath}/work`, {
      method: "POST",
      headers: { cookie, accept: "application/json", "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ csrf }).toString(),
    });
    const progress = (await res.json()) as { status: string; done: number; total: number };
    if (progress.status === "done") break;
  }
  return { jobPath, html: await (await get(t, jobPath, cookie)).text() };
}

const GOOD_AND_BAD = [
  "Email,First name,Zone",
  "ana@example.com,Ana,Europe/Berlin",
  "  BEN@Example.com ,Ben,",
  "not-an-address,Carl,UTC",
  "dora@example.com,www.spam.com,UTC",
  "eve@example.com,Eve,Mars/Olympus",
  "ana@example.com,Ana again,UTC",
].join("\n");

describe("CSV import", () => {
  it("previews the first rows with a column mapping before importing anything", async () => {
    const res = await upload(GOOD_AND_BAD);
    const html = await (await get(t, res.headers.get("location")!, cookie)).text();
    expect(html).toContain("6 rows in the file");
    expect(html).toContain("<td>ana@example.com</td>");
    expect(html).toMatch(/<option value="0" selected="">Email<\/option>/);
    expect(await t.db.$count(subscribers)).toBe(0);
  });

  it("adds valid rows as pending with a confirmation email, and reports every rejected row with its reason", async () => {
    const { html } = await importCsv(GOOD_AND_BAD);
    expect(html).toContain("<strong>2</strong>Added");
    expect(html).toContain("<strong>1</strong>Already on the list"); // ana twice in the file
    expect(html).toContain("<strong>3</strong>Rejected");
    expect(html).toMatch(/<td class="num">3<\/td><td>Email: Please enter a valid email address/);
    expect(html).toMatch(/<td class="num">4<\/td><td>First name: /);
    expect(html).toMatch(/<td class="num">5<\/td><td>Time zone: &quot;Mars\/Olympus&quot;/);

    const ben = await t.db.query.subscribers.findFirst({ where: eq(subscribers.email, "ben@example.com") });
    expect(ben?.status).toBe("pending");
    expect(await t.db.$count(enrollments)).toBe(0);
    // They join only by clicking the signup's own confirmation link.
    const mail = t.resend.emailsTo("ana@example.com")[0]!;
    await confirmByClick(t.app, linkIn(mail.text, `${t.config.appUrl}/confirm?token=`));
    const ana = await t.db.query.subscribers.findFirst({ where: eq(subscribers.email, "ana@example.com") });
    expect(ana).toMatchObject({ status: "active", firstName: "Ana", timeZone: "Europe/Berlin" });
  });

  it("re-importing the same file changes nothing and mails nobody", async () => {
    await importCsv(GOOD_AND_BAD);
    const sent = t.resend.emails.length;
    const { html } = await importCsv(GOOD_AND_BAD);
    expect(html).toContain("<strong>0</strong>Added");
    expect(html).toContain("<strong>3</strong>Already on the list");
    expect(t.resend.emails.length).toBe(sent);
    expect(await t.db.$count(subscribers)).toBe(2);
  });

  it("skips and counts unsubscribed and deleted addresses", async () => {
    const gone = await createSubscriber(t.db, t.clock.now(), { email: "gone@example.com" });
    const left = await createSubscriber(t.db, t.clock.now(), { email: "left@example.com" });
    await deleteSubscriber(t.db, gone.id, t.clock.now(), t.config.appSecret);
    await unsubscribe(t.db, left.id, t.clock.now(), t.config.appSecret);
    const { html } = await importCsv("email\ngone@example.com\nleft@example.com\nnew@example.com", { email: "0", mode: "confirm" });
    expect(html).toContain("<strong>2</strong>Skipped");
    expect(html).toContain("Asked for their data to be deleted.");
    expect(t.resend.emailsTo("gone@example.com")).toHaveLength(0);
    expect(t.resend.emailsTo("left@example.com")).toHaveLength(0);
  });

  it("with a stated opt-in, adds people to the course at once and records the note as their consent", async () => {
    const { html } = await importCsv("email,name\nzoe@example.com,Zoe", { email: "0", firstName: "1", mode: "consented", sourceNote: "Newsletter form on example.com, 2025" });
    expect(html).toContain("<strong>1</strong>Added");
    const zoe = (await t.db.query.subscribers.findFirst({ where: eq(subscribers.email, "zoe@example.com") }))!;
    expect(zoe.status).toBe("active");
    expect((await t.db.query.enrollments.findFirst({ where: eq(enrollments.subscriberId, zoe.id) }))?.state).toBe("active");
    expect(t.resend.emailsTo("zoe@example.com")).toHaveLength(0);
    const page = await (await get(t, `/admin/subscribers/${zoe.id}`, cookie)).text();
    expect(page).toContain("Imported (opted in at: Newsletter form on example.com, 2025)");
    expect(page).toContain("by the operator&#39;s statement at import");
  });

  it("refuses a stated opt-in without a source note", async () => {
    const uploaded = await upload("email\nzoe@example.com");
    const jobPath = uploaded.headers.get("location")!;
    const res = await post(t, `${jobPath}/start`, cookie, { csrf: await csrfFor(t, cookie, jobPath), email: "0", mode: "consented", sourceNote: "" });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("Say where these people opted in");
    expect(await t.db.$count(subscribers)).toBe(0);
  });

  it("answers a file csv-parse cannot read, or an empty one, with a 400 and a message", async () => {
    const broken = await upload('email\n"unterminated@example.com');
    expect(broken.status).toBe(400);
    expect(await broken.text()).toContain("not a CSV we can read");
    expect((await upload("")).status).toBe(400);
    expect(await t.db.$count(importRows)).toBe(0);
  });

  it("refuses an upload without the CSRF token or a session", async () => {
    const body = new FormData();
    body.set("file", new File(["email\na@example.com"], "a.csv"));
    expect((await t.app.request("/admin/imports", { method: "POST", body, headers: { cookie } })).status).toBe(403);
    expect((await t.app.request("/admin/imports", { method: "POST", body })).status).toBe(401);
  });

  it("accepts an upload larger than the site's 64 KB body limit", async () => {
    const rows = Array.from({ length: 3000 }, (_, i) => `person${i}@example.com,Person`).join("\n");
    const res = await upload(`email,name\n${rows}`);
    expect(res.status).toBe(303);
  });
});

describe("CSV export", () => {
  it("streams every subscriber as UTF-8 CSV with a header row, formula cells neutralised", async () => {
    await createSubscriber(t.db, t.clock.now(), { email: "ana@example.com", firstName: "Zoë", timeZone: "Europe/Berlin" }, { nextLesson: 3 });
    await createSubscriber(t.db, t.clock.now(), { email: "=cmd@example.com", firstName: "-Ben" });
    const res = await get(t, "/admin/courses/clear-skin/export.csv", cookie);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(res.headers.get("content-disposition")).toContain("attachment");
    const records = parse(await res.text()) as string[][];
    expect(records[0]).toEqual(["email", "first_name", "time_zone", "source", "confirmed_at", "state", "lesson"]);
    expect(records).toContainEqual(["ana@example.com", "Zoë", "Europe/Berlin", "form", new Date(t.clock.now()).toISOString(), "active", "2"]);
    expect(records.find((r) => r[0]!.includes("cmd"))?.slice(0, 2)).toEqual(["'=cmd@example.com", "'-Ben"]);
  });

  it("neutralises every formula lead character", () => {
    for (const lead of ["=", "+", "-", "@", "\t", "\r"]) expect(neutralise(`${lead}1+1`)).toBe(`'${lead}1+1`);
    expect(neutralise("ana@example.com")).toBe("ana@example.com");
  });

  it("needs a session", async () => {
    expect((await t.app.request("/admin/courses/clear-skin/export.csv")).headers.get("location")).toBe("/admin/login");
  });
});
