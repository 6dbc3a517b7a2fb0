import { and, asc, eq, isNotNull } from "drizzle-orm";
import { parse } from "csv-parse/sync";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { enrollments, importJobs, importRows, subscribers } from "../../src/db/schema";
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

/**
 * A multipart body streamed in `piece`-byte pieces with no Content-Length, as a large browser
 * upload arrives: pieces split lines, quoted cells and the multipart boundary anywhere.
 */
function streamedUpload(csrf: string, csv: string, piece = 4093): Request {
  const boundary = "----test-boundary-7f3a";
  const body = new TextEncoder().encode(
    `--${boundary}\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n${csrf}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\nContent-Type: text/csv\r\n\r\n${csv}\r\n--${boundary}--\r\n`,
  );
  let at = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= body.length) return controller.close();
      controller.enqueue(body.slice(at, (at += piece)));
    },
  });
  return new Request("http://localhost/admin/imports", {
    method: "POST",
    body: stream,
    headers: { cookie, "content-type": `multipart/form-data; boundary=${boundary}` },
    duplex: "half",
  } as RequestInit);
}

describe("CSV import of a large file, streamed", () => {
  // 10,600 rows: more than 21 staging inserts of 500 and more than one batched call of 20 of them.
  const ROWS = 10_600;
  const cellsOf = (r: number) =>
    r % 10 === 3 ? [`not-an-address-${r}`, "Bad", "UTC"] : r === 500 ? [`p0@example.com`, `Ann, "the" first\nline two`, "UTC"] : [`p${r % 5}@example.com`, `Person ${r}`, "Europe/Berlin"];
  const quoted = (cells: string[]) => cells.map((c) => `"${c.replaceAll('"', '""')}"`).join(",");
  const csv = ["email,first_name,time_zone", ...Array.from({ length: ROWS }, (_, i) => quoted(cellsOf(i + 1)))].join("\r\n");

  it("stages every row of an upload larger than many chunks, in file order, then imports it with duplicates and bad rows counted", async () => {
    const res = await t.app.request(streamedUpload(await csrfFor(t, cookie), csv));
    expect(res.status).toBe(303);
    const jobPath = res.headers.get("location")!;
    const jobId = jobPath.split("/").at(-1)!;
    expect((await t.db.query.importJobs.findFirst({ where: eq(importJobs.id, jobId) }))?.total).toBe(ROWS);
    const staged = await t.db.select({ rowNumber: importRows.rowNumber, cells: importRows.cells }).from(importRows).where(eq(importRows.jobId, jobId)).orderBy(asc(importRows.rowNumber));
    expect(staged.map((row) => row.rowNumber)).toEqual(Array.from({ length: ROWS }, (_, i) => i + 1));
    for (const r of [1, 3, 499, 500, 501, 5000, 5001, 10_000, 10_001, ROWS]) expect(JSON.parse(staged[r - 1]!.cells)).toEqual(cellsOf(r));

    const csrf = await csrfFor(t, cookie, jobPath);
    expect((await post(t, `${jobPath}/start`, cookie, { csrf, email: "0", mode: "consented", sourceNote: "Test list, 2025" })).status).toBe(303);
    let progress = { status: "running", done: 0, total: ROWS };
    for (let i = 0; i < 1000 && progress.status !== "done"; i++) {
      const work = await t.app.request(`${jobPath}/work`, {
        method: "POST",
        headers: { cookie, accept: "application/json", "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ csrf }).toString(),
      });
      progress = (await work.json()) as typeof progress;
    }
    expect(progress).toEqual({ status: "done", done: ROWS, total: ROWS });
    const job = (await t.db.query.importJobs.findFirst({ where: eq(importJobs.id, jobId) }))!;
    expect(job).toMatchObject({ imported: 5, rejected: ROWS / 10, existing: ROWS - ROWS / 10 - 5, suppressed: 0 });
    expect(await t.db.$count(subscribers)).toBe(5);
    const rejected = await t.db.select({ rowNumber: importRows.rowNumber }).from(importRows).where(and(eq(importRows.jobId, jobId), isNotNull(importRows.reason))).orderBy(asc(importRows.rowNumber));
    expect(rejected.map((row) => row.rowNumber)).toEqual(Array.from({ length: ROWS / 10 }, (_, i) => i * 10 + 3));
  }, 120_000); // a generous ceiling for a slow shared machine, not a timing assertion

  it("refuses a streamed upload beyond the size limit with a 413 and keeps nothing of it", async () => {
    const line = `"x@example.com","${"a".repeat(50_000)}",UTC`;
    const big = ["email,first_name,time_zone", ...Array.from({ length: 450 }, () => line)].join("\n");
    const res = await t.app.request(streamedUpload(await csrfFor(t, cookie), big, 64 * 1024));
    expect(res.status).toBe(413);
    expect(await res.text()).toContain("too large");
    expect(await t.db.$count(importRows)).toBe(0);
    expect(await t.db.$count(importJobs)).toBe(0);
  });

  it("refuses a streamed upload whose CSRF field is missing, before staging anything", async () => {
    const res = await t.app.request(streamedUpload("", "email\na@example.com"));
    expect(res.status).toBe(403);
    expect(await t.db.$count(importJobs)).toBe(0);
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
