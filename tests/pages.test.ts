import { gunzipSync } from "node:zlib";
import { createElement } from "react";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { ConfigError, loadConfig } from "../src/config";
import { lessonComponent } from "../emails/_build/registry";
import { COURSE, CONFIRMATION_EMAIL } from "../src/course";
import { renderEmail } from "../src/course/render";
import { DISCLAIMER } from "../src/course/meta";
import { senderParts } from "../src/lib/sender";
import { lessonEmailLinks, signedSubscriberLinks } from "../src/lib/links";
import { composeConfirmation } from "../src/mail/compose";
import { createTestContext, TEST_APP_URL, type TestContext } from "./support/test-app";
import { signUp } from "./support/signup";

/**
 * What every page and email owes the people who read them: standards mode, a referrer policy that
 * keeps tokens private without breaking our forms, the files browsers ask for, copy that matches
 * across emails and pages, and a real sender.
 */

let t: TestContext;
beforeAll(async () => {
  t = await createTestContext();
});
afterAll(async () => t?.close());

const decode = (html: string) => html.replaceAll("&#39;", "'").replaceAll("&quot;", '"').replaceAll("&amp;", "&");

async function subscriberPages() {
  await signUp(t, { email: `pages-${Math.random().toString(36).slice(2)}@example.com`, firstName: "Ana", timeZone: "UTC" });
  const subscriber = (await t.db.query.subscribers.findMany()).at(-1)!;
  const links = await signedSubscriberLinks(TEST_APP_URL, t.config.appSecret, subscriber.id);
  const lesson = lessonEmailLinks(TEST_APP_URL, t.config.appSecret, { subscriberId: subscriber.id, course: COURSE.slug, run: 1, lesson: COURSE.lessons[0]! }).viewInBrowserUrl;
  const path = (url: string) => url.replace(TEST_APP_URL, "");
  return { manage: path(links.manageUrl), unsubscribe: path(links.unsubscribeUrl), lesson: path(lesson) };
}

describe("standards mode and referrer policy", () => {
  it("every server-rendered page starts with <!DOCTYPE html>", async () => {
    const { manage, unsubscribe, lesson } = await subscriberPages();
    for (const url of ["/", "/check-your-inbox", manage, `${manage}/delete`, unsubscribe, lesson, "/deleted", "/no-such-page"]) {
      const html = await (await t.app.request(url)).text();
      expect(html.slice(0, 15).toLowerCase(), url).toBe("<!doctype html>");
    }
  });

  it("pages keep the origin in the referrer; pages with a token in their URL send none, error pages included", async () => {
    const { manage, unsubscribe, lesson } = await subscriberPages();
    for (const url of ["/", "/check-your-inbox", "/no-such-page"]) {
      expect((await t.app.request(url)).headers.get("referrer-policy"), url).toBe("strict-origin-when-cross-origin");
    }
    for (const url of [manage, unsubscribe, lesson, "/manage/broken-token", "/confirm?token=broken"]) {
      expect((await t.app.request(url)).headers.get("referrer-policy"), url).toBe("no-referrer");
    }
  });

  it("the view-in-browser page has one main landmark around the lesson", async () => {
    const { lesson } = await subscriberPages();
    const html = await (await t.app.request(lesson)).text();
    expect(html.match(/<main>/g)).toHaveLength(1);
    expect(html.indexOf("<main>")).toBeGreaterThan(html.indexOf("<body"));
    expect(html.indexOf("</main></body>")).toBeGreaterThan(html.indexOf(COURSE.lessons[0]!.title));
  });

  it("no page overrides the header with a <meta name=referrer>", async () => {
    const html = await (await t.app.request("/")).text();
    expect(html).not.toContain('name="referrer"');
  });
});

describe("what browsers and crawlers ask for", () => {
  it("serves a favicon from our own origin, linked from every page; /favicon.ico points to it", async () => {
    const icon = await t.app.request("/favicon.svg");
    expect(icon.status).toBe(200);
    expect(icon.headers.get("content-type")).toBe("image/svg+xml");
    expect(await icon.text()).toContain("<svg");
    const ico = await t.app.request("/favicon.ico");
    expect(ico.status).toBe(301);
    expect(ico.headers.get("location")).toBe("/favicon.svg");
    expect(await (await t.app.request("/check-your-inbox")).text()).toContain('<link rel="icon" href="/favicon.svg" type="image/svg+xml"/>');
  });

  it("robots.txt allows the landing page and disallows every tokenised path", async () => {
    const res = await t.app.request("/robots.txt");
    expect(res.headers.get("content-type")).toContain("text/plain");
    const body = await res.text();
    expect(body).toContain("User-agent: *");
    expect(body).toContain("Allow: /$");
    for (const path of ["/manage/", "/unsubscribe/", "/lessons/", "/confirm"]) expect(body).toContain(`Disallow: ${path}`);
  });

  it("the landing page has a meta description and Open Graph tags", async () => {
    const html = decode(await (await t.app.request("/")).text());
    expect(html).toMatch(/<meta name="description" content="A free six-lesson email course[^"]+"\/>/);
    expect(html).toContain('<meta property="og:type" content="website"/>');
    expect(html).toContain(`<meta property="og:title" content="${COURSE.title} · ${t.config.brandName}"/>`);
    expect(html).toContain(`<meta property="og:url" content="${TEST_APP_URL}/"/>`);
    expect(html).toMatch(/<meta property="og:description" content="[^"]+"\/>/);
  });

  it("compresses text when the runtime asks for it (Node), and leaves it to the edge otherwise (Worker)", async () => {
    const compressed = createApp({ ...t.deps, compress: true });
    const res = await compressed.request("/", { headers: { "accept-encoding": "gzip" } });
    expect(res.headers.get("content-encoding")).toBe("gzip");
    expect(gunzipSync(Buffer.from(await res.arrayBuffer())).toString("utf8")).toContain(COURSE.title);
    const plain = await t.app.request("/", { headers: { "accept-encoding": "gzip" } });
    expect(plain.headers.get("content-encoding")).toBeNull();
  });
});

describe("copy that matches", () => {
  it("the 'check your inbox' page names the button the confirmation email really has", async () => {
    const page = decode(await (await t.app.request("/check-your-inbox")).text());
    expect(page).toContain(`<strong>${CONFIRMATION_EMAIL.button}</strong>`);
    const email = await composeConfirmation(t.config, { email: "a@example.com", firstName: null }, `${TEST_APP_URL}/confirm?token=x`);
    expect(email.text).toContain(`${CONFIRMATION_EMAIL.button} (${TEST_APP_URL}/confirm?token=x)`);
  });

  it.each(COURSE.lessons.map((lesson) => [lesson.number, lesson] as const))(
    "lesson %i: subject, heading, archive page title and landing-page entry name the same lesson",
    async (_number, lesson) => {
      // The title without its "Step n:" prefix is the lesson's name; the subject must carry it.
      const name = lesson.title.replace(/^Step \d+: /, "");
      expect(lesson.subject.toLowerCase()).toContain(name.toLowerCase());
      const props = { firstName: "Ana", manageUrl: `${TEST_APP_URL}/m`, unsubscribeUrl: `${TEST_APP_URL}/u`, viewInBrowserUrl: `${TEST_APP_URL}/v`, helpfulUrl: `${TEST_APP_URL}/y`, notHelpfulUrl: `${TEST_APP_URL}/n` };
      const { html } = await renderEmail(createElement(lessonComponent(COURSE.slug, lesson.number), { ...props, brandName: "B", postalAddress: "P", appUrl: TEST_APP_URL }));
      const oneLine = decode(html.replace(/>\n</g, "><").replace(/\n/g, " "));
      expect(oneLine).toContain(`<title>${lesson.subject}</title>`);
      expect(oneLine).toMatch(new RegExp(`<h1[^>]*>${lesson.title.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}</h1>`));
      const landing = decode(await (await t.app.request("/")).text());
      expect(landing).toContain(`<strong>${lesson.title}</strong>`);
    },
  );

  it("one disclaimer text on every page and in every email", async () => {
    const page = decode(await (await t.app.request("/")).text());
    expect(page).toContain(DISCLAIMER);
    const email = await composeConfirmation(t.config, { email: "a@example.com", firstName: null }, `${TEST_APP_URL}/confirm?token=x`);
    expect(email.text.replace(/\s+/g, " ")).toContain(DISCLAIMER);
  });
});

describe("a real sender", () => {
  const production = { NODE_ENV: "production", APP_URL: "https://course.example.com", APP_SECRET: "p".repeat(40), DATABASE_URL: "libsql://db.example.com" };

  it("refuses to start in production without MAIL_POSTAL_ADDRESS, and says what it is for", () => {
    expect(() => loadConfig(production)).toThrow(ConfigError);
    expect(() => loadConfig(production)).toThrow(/MAIL_POSTAL_ADDRESS is required in production: the sender's real postal address/);
    expect(() => loadConfig({ APP_SECRET: "p".repeat(40) }, "worker")).toThrow(/MAIL_POSTAL_ADDRESS/);
    expect(loadConfig({ ...production, MAIL_POSTAL_ADDRESS: "1 High St, Bristol", RESEND_API_KEY: "re_test" }).postalAddress).toBe("1 High St, Bristol");
  });

  it("refuses to start in production without RESEND_API_KEY, since the outbox would tell people to check an inbox that never gets mail", () => {
    const sender = { ...production, MAIL_POSTAL_ADDRESS: "1 High St, Bristol" };
    expect(() => loadConfig(sender)).toThrow(/RESEND_API_KEY is required in production: without it emails are only written to the local outbox/);
    expect(loadConfig({ ...sender, RESEND_API_KEY: "re_test" }).resend?.apiKey).toBe("re_test");
  });

  it("shows the brand once when the address already starts with it", () => {
    expect(senderParts("Natural Acne Medicine", "Natural Acne Medicine, 1 High St, Bristol")).toEqual(["Natural Acne Medicine, 1 High St, Bristol"]);
    expect(senderParts("Natural Acne Medicine", "1 High St, Bristol")).toEqual(["Natural Acne Medicine", "1 High St, Bristol"]);
  });

  it("page footers and email footers name the brand once", async () => {
    const config = loadConfig({ APP_URL: TEST_APP_URL, MAIL_POSTAL_ADDRESS: "Natural Acne Medicine · 1 High St · Bristol" });
    const app = createApp({ ...t.deps, config });
    const footer = decode(await (await app.request("/")).text()).split('<footer class="site">')[1]!;
    expect(footer.match(/Natural Acne Medicine/g)).toHaveLength(1);
    const email = await composeConfirmation(config, { email: "a@example.com", firstName: null }, `${TEST_APP_URL}/confirm?token=x`);
    const emailFooter = email.text.slice(email.text.lastIndexOf(DISCLAIMER.slice(-20)));
    expect(emailFooter.match(/Natural Acne Medicine/g)).toHaveLength(1);
  });
});
