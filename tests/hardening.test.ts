import { eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { issueFormToken } from "../src/lib/signup-guard";
import { createApp } from "../src/app";
import { subscribers } from "../src/db/schema";
import { runDispatch } from "../src/drip/dispatch";
import { createLogger } from "../src/lib/logger";
import { headerSafe } from "../src/mail/compose";
import { confirmByClick, formTokenIn, signUp } from "./support/signup";
import { createTestContext, form, linkIn, TEST_APP_URL, type TestContext } from "./support/test-app";
import { emailEvent, signedWebhook, TEST_WEBHOOK_SECRET } from "./support/webhooks";

let t: TestContext;
beforeEach(async () => {
  t = await createTestContext({ env: { RESEND_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET } });
});
afterEach(async () => t.close());

/** A JSON signup carrying a genuine form token served five seconds ago, unless `body` brings its own. */
async function jsonSignup(body: Record<string, unknown>, app = t.app) {
  const formToken = await issueFormToken(t.config.appSecret, t.clock.now() - 5_000);
  // Arrays and scalars go as they are: only an object can carry the token.
  const payload = typeof body === "object" && body !== null && !Array.isArray(body) ? { formToken, ...body } : body;
  return app.request("/subscribe", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(payload) });
}

async function errorOf(res: Response) {
  return ((await res.json()) as { error: { code: string; message: string; requestId: string } }).error;
}

describe("request size", () => {
  it("a body over 64 KB is refused with 413 on every endpoint", async () => {
    const big = "x".repeat(70 * 1024);
    const json = await jsonSignup({ email: "big@example.com", firstName: big });
    expect(json.status).toBe(413);
    expect((await errorOf(json)).code).toBe("payload_too_large");

    const page = await t.app.request("/subscribe", form({ email: "big@example.com", firstName: big }));
    expect(page.status).toBe(413);
    expect(await page.text()).toContain("The request body is too large.");

    const hook = await t.app.request("/webhooks/resend", signedWebhook({ type: "email.delivered", data: { pad: big } }, { at: Date.now() }));
    expect(hook.status).toBe(413);
    expect(t.resend.emails).toHaveLength(0);
  });
});

describe("validation", () => {
  it("CR/LF in an address or a first name is refused before anything reaches an email header", async () => {
    const address = await jsonSignup({ email: "ana@example.com\r\nBcc: victim@example.com" });
    expect(address.status).toBe(400);
    const name = await jsonSignup({ email: "ana@example.com", firstName: "Ana\r\nBcc: victim@example.com" });
    expect(name.status).toBe(400);
    expect((await errorOf(name)).message).toBe("Please use only letters, spaces, hyphens and apostrophes in your first name.");
    for (const control of ["\u0000", "\t", "\u001b[31m", "\u007f"]) {
      expect((await jsonSignup({ email: "ana@example.com", firstName: `A${control}na` })).status).toBe(400);
    }
    expect(t.resend.emails).toHaveLength(0);
  });

  it("first names that carry a link, an address or digits are refused with a clear message", async () => {
    for (const firstName of ["www.cheap-pills.example", "Visit cheap.example", "http://x", "me@example.com", "Ana2"]) {
      const res = await jsonSignup({ email: "ana@example.com", firstName });
      expect(res.status, firstName).toBe(400);
      expect((await errorOf(res)).code).toBe("invalid_signup");
    }
    const ok = await jsonSignup({ email: "ana@example.com", firstName: "  Zoë-Ann   O’Neil  " });
    expect(ok.status).toBe(202);
    const row = await t.db.query.subscribers.findFirst({ where: eq(subscribers.email, "ana@example.com") });
    expect(row?.firstName).toBe("Zoë-Ann O’Neil");
  });

  it("no header of the confirmation email carries what the person typed", async () => {
    await jsonSignup({ email: "Header@Example.com", firstName: "Zoë" });
    const [email] = t.resend.emails;
    expect(email!.to).toEqual(["header@example.com"]);
    const headerValues = [email!.from, email!.subject, ...email!.to, ...Object.values(email!.headers ?? {})];
    for (const value of headerValues) expect(value).not.toMatch(/[\r\n\u0000-\u001f\u007f]/);
    expect(headerValues.join(" ")).not.toContain("Zoë");
  });

  it("a sender name with a line break in the configuration cannot inject a header", async () => {
    const odd = await createTestContext({ env: { MAIL_FROM: "Course <lessons@course.test>\r\nBcc: leak@example.com" } });
    try {
      await jsonSignup({ email: "from@example.com" }, odd.app);
      expect(odd.resend.emails[0]!.from).toBe("Course <lessons@course.test> Bcc: leak@example.com");
      expect(headerSafe("a\r\nb\u0000c\u2028")).not.toMatch(/[\r\n\u0000]/);
    } finally {
      await odd.close();
    }
  });

  it("every field has a length cap with a clear message", async () => {
    const cases: [Record<string, string>, string][] = [
      [{ email: `ana@${`${"a".repeat(60)}.`.repeat(5)}com` }, "That email address is too long."],
      [{ email: `${"a".repeat(65)}@example.com` }, "The part before the @ can be at most 64 characters."],
      [{ email: "ana@example.com", firstName: "A".repeat(61) }, "Please keep your first name under 60 characters."],
      [{ email: "ana@example.com", timeZone: "Z".repeat(101) }, "The time zone is too long."],
    ];
    for (const [body, message] of cases) {
      const res = await jsonSignup(body);
      expect(res.status).toBe(400);
      expect((await errorOf(res)).message).toBe(message);
    }
  });

  it("wrong shapes and types are a 400 with a message, never a 500", async () => {
    const bodies: unknown[] = [
      { email: ["a@example.com"] },
      { email: { address: "a@example.com" } },
      { email: "a@example.com", firstName: { first: "Ana" } },
      { email: "a@example.com", timeZone: 5 },
      ["a@example.com"],
      "a@example.com",
      null,
      42,
    ];
    for (const body of bodies) {
      const res = await jsonSignup(body as Record<string, unknown>);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect((await errorOf(res)).message.length).toBeGreaterThan(0);
    }
    const plain = await t.app.request("/subscribe", { method: "POST", headers: { "content-type": "text/plain" }, body: "email=a@example.com" });
    expect(plain.status).toBeLessThan(500);
    expect(t.resend.emails).toHaveLength(0);
  });
});

describe("errors", () => {
  it("an internal error answers the one JSON envelope, with no stack trace or query in it", async () => {
    const lines: string[] = [];
    const app = createApp({ ...t.deps, logger: createLogger((line) => lines.push(line)) });
    await t.close(); // the database goes away under the app

    const res = await jsonSignup({ email: "crash@example.com", firstName: "Crash" }, app);
    expect(res.status).toBe(500);
    const text = await res.text();
    const body = JSON.parse(text) as { error: Record<string, unknown> };
    expect(Object.keys(body)).toEqual(["error"]);
    expect(body.error).toMatchObject({ code: "internal_error", message: "Something went wrong on our side. Please try again in a moment." });
    expect(typeof body.error.requestId).toBe("string");
    expect(text).not.toMatch(/\bat\s|stack|sqlite|Failed query|insert into|crash@/i);

    // The page version is just as plain.
    const page = await app.request("/subscribe", { method: "POST", headers: { "content-type": "application/json", accept: "text/html" }, body: "{}" });
    expect(page.status).toBeLessThan(500); // validation answers before the database is touched

    // The operator's log says what failed, without the address that was being inserted.
    const logged = lines.join("\n");
    expect(logged).toContain("unhandled_error");
    expect(logged).not.toContain("crash@example.com");
    expect(logged).not.toContain("Crash");
  });

  it("an internal error on a page is a friendly page without a stack trace", async () => {
    const lines: string[] = [];
    const app = createApp({ ...t.deps, logger: createLogger((line) => lines.push(line)) });
    const page = await app.request("/");
    const formToken = formTokenIn(await page.text());
    await t.close();
    t.clock.advance(5_000);
    const res = await app.request("/subscribe", form({ email: "crash@example.com", formToken }));
    expect(res.status).toBe(500);
    const html = await res.text();
    expect(html).toContain("Something went wrong");
    expect(html).not.toMatch(/\bat\s+\S+\s*\(|stack|sqlite|Failed query/i);
  });
});

describe("security headers", () => {
  it("our pages get a strict CSP and carry no inline script or style", async () => {
    const pages = [
      await t.app.request("/"),
      await t.app.request("/check-your-inbox"),
      await t.app.request("/nope"),
      await signUp(t, { email: "not-an-address" }),
    ];
    for (const res of pages) {
      const csp = res.headers.get("content-security-policy") ?? "";
      for (const directive of ["default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"]) {
        expect(csp).toContain(directive);
      }
      expect(csp).not.toContain("unsafe-inline");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      // Keeps our origin (form POSTs carry it); tokenised pages say no-referrer (tests/pages.test.ts).
      expect(res.headers.get("referrer-policy")).toBe("strict-origin-when-cross-origin");
      const html = await res.text();
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    }
  });

  it("the landing page is not cached, because its form carries the time it was served", async () => {
    expect((await t.app.request("/")).headers.get("cache-control")).toBe("no-store");
  });
});

describe("personal data in logs", () => {
  it("a signup, confirmation, lessons, a webhook and a failure log no address, name, IP or token", async () => {
    const lines: string[] = [];
    const logger = createLogger((line) => lines.push(line));
    const deps = { ...t.deps, logger };
    const app = createApp(deps);
    const ip = { "cf-connecting-ip": "203.0.113.77" };

    const page = await app.request("/", { headers: ip });
    const formToken = formTokenIn(await page.text());
    t.clock.advance(5_000);
    const init = form({ email: "Private.Person@Example.com", firstName: "Rosalind", formToken });
    await app.request("/subscribe", { ...init, headers: { ...(init.headers as Record<string, string>), ...ip } });
    const confirmLink = linkIn(t.resend.emails[0]!.text, `${TEST_APP_URL}/confirm?token=`);
    await confirmByClick(app, confirmLink);
    await runDispatch(deps);
    const lesson = t.resend.emails[1]!;
    const manageLink = linkIn(lesson.text, `${TEST_APP_URL}/manage/`);
    await app.request(manageLink.replace(TEST_APP_URL, ""));
    await app.request("/webhooks/resend", signedWebhook(emailEvent("email.complained", { emailId: lesson.id, to: "private.person@example.com" }), { at: Date.now() }));
    // Rejected inputs are logged too; they must not echo the input.
    await app.request("/webhooks/resend", { method: "POST", headers: { "svix-id": "x", "svix-timestamp": "1", "svix-signature": "v1,x" }, body: "private.person@example.com" });
    for (let i = 0; i < 4; i++) await signUp({ ...t, app }, { email: "private.person@example.com" }, { headers: ip });
    await t.close();
    await app.request("/subscribe", { method: "POST", headers: { "content-type": "application/json", ...ip }, body: JSON.stringify({ email: "private.person@example.com", firstName: "Rosalind" }) });

    expect(lines.length).toBeGreaterThan(5);
    const logged = lines.join("\n").toLowerCase();
    const secrets = [
      "private.person@example.com",
      "private.person",
      "rosalind",
      "203.0.113.77",
      formToken,
      new URL(confirmLink).searchParams.get("token")!,
      manageLink.split("/manage/")[1]!,
      "eyj", // any JWT
    ];
    for (const secret of secrets) expect(logged, secret).not.toContain(secret.toLowerCase());
  });
});
