import { readFileSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";
import { createElement, type ReactElement } from "react";
import { describe, expect, it } from "vitest";
import { compileElement } from "../../emails/_build/compile";
import { lessonComponent } from "../../emails/_build/registry";
import { type LessonEmailProps, lessonPropsSchema } from "../../emails/_components/lesson-props";
import AdminSignInEmail from "../../emails/admin-sign-in";
import AlreadySubscribedEmail from "../../emails/already-subscribed";
import ConfirmSubscriptionEmail from "../../emails/confirm-subscription";
import { freshSource, OUTPUT } from "../../scripts/build-emails";
import { SIGN_IN_TTL_MS } from "../../src/admin/sessions";
import { COURSE } from "../../src/course";
import { renderEmail } from "../../src/course/render";
import { composeAlreadySubscribed, composeConfirmation } from "../../src/mail/compose";
import { lessonTemplate, signInTemplate } from "../../src/mail/emails";
import { escapeForHtml, FIELDS, fieldsIn, markerOf, markersFor, type SiteValues } from "../../src/mail/fields";
import { bindSite, fillTemplate } from "../../src/mail/template";
import { composeLessonEmail, lessonLinks } from "../../src/drip/lesson-email";
import { testConfig } from "../support/test-app";

const ROOT = join(import.meta.dirname, "..", "..");

/** Real values, with every character HTML escapes and a brand the postal address does not start with. */
const SITE: SiteValues = {
  brandName: `Smith & Jones "Skin" <Care>`,
  postalAddress: "1 O'Neil Street, Springfield & Co",
  appUrl: "https://course.example/app",
};
const NAME = `Zoë <b>&"'</b> O'Brien`;

/**
 * Lines joined back: the build wraps HTML lines with placeholders in place, so a line break may sit
 * elsewhere than in a render with real values (src/course/render.ts wrapHtmlLines): between block
 * tags, in the preview's invisible padding, or for a space. Everything else must match byte for byte.
 */
const joinLines = (html: string) =>
  html
    .replace(/>\n</g, "><")
    .replace(/([\u00a0\u200b-\u200d\ufeff])\n(?=[\u00a0\u200b-\u200d\ufeff])/g, "$1")
    .replace(/\n/g, " ");

async function compareUnwrapped(element: (props: Record<string, unknown>) => ReactElement, kind: Parameters<typeof markersFor>[0], values: Record<string, string | null>) {
  const template = bindSite(await compileElement(element(markersFor(kind)), { wrap: false }), SITE);
  const filled = fillTemplate(template, values);
  const fresh = await renderEmail(element({ ...SITE, ...values }), { wrap: false });
  expect(filled.html).toBe(fresh.html);
  expect(filled.text).toBe(fresh.text);
}

describe("compiled emails", () => {
  it("the committed templates are what the components render now (run npm run build:emails if not)", async () => {
    const committed = readFileSync(join(ROOT, OUTPUT), "utf8");
    const fresh = await freshSource();
    // A message, not a 240 KiB diff.
    expect(fresh === committed, `${OUTPUT} is stale: run npm run build:emails and commit it`).toBe(true);
  }, 60_000);

  it("a filled lesson is byte for byte a fresh React render with the same values (before line wrapping)", async () => {
    const Email = lessonComponent(COURSE.slug, 1);
    const links = Object.fromEntries(fieldsIn("lesson").filter((f) => FIELDS[f].scope === "recipient" && FIELDS[f].kind === "url").map((f) => [f, `https://course.example/${f}?t=a&u='b'`]));
    for (const repliesWelcome of [false, true]) {
      await compareUnwrapped((props) => createElement(Email, { ...(props as LessonEmailProps), repliesWelcome }), "lesson", { firstName: NAME, ...links });
    }
  });

  it("a filled confirmation and already-subscribed email are byte for byte a fresh React render (before line wrapping)", async () => {
    await compareUnwrapped((props) => createElement(ConfirmSubscriptionEmail, props as never), "confirmation", {
      firstName: NAME,
      confirmUrl: "https://course.example/confirm?token=a&b",
    });
    await compareUnwrapped((props) => createElement(AlreadySubscribedEmail, props as never), "alreadySubscribed", {
      firstName: NAME,
      manageUrl: "https://course.example/manage/x",
    });
  });

  it("the confirmation a signup sends equals a fresh render of the component, line breaks aside; its text part byte for byte", async () => {
    const config = { ...testConfig(), ...SITE };
    const email = await composeConfirmation(config, { email: "a@example.com", firstName: NAME }, "https://course.example/confirm?token=t&x=1");
    const fresh = await renderEmail(createElement(ConfirmSubscriptionEmail, { ...SITE, firstName: NAME, confirmUrl: "https://course.example/confirm?token=t&x=1" }));
    expect(email.text).toBe(fresh.text);
    expect(joinLines(email.html)).toBe(joinLines(fresh.html));
    expect(email.html).toContain(`Hi ${escapeForHtml(NAME)},`);
    expect(email.html).toContain("Hi Zoë &lt;b&gt;&amp;&quot;&#x27;&lt;/b&gt; O&#x27;Brien,");
    expect(email.text).toContain(`Hi ${NAME},`);
  });

  it("a lesson the dispatcher sends equals a fresh render for that reader, line breaks aside; its text part byte for byte", async () => {
    const config = { ...testConfig(), ...SITE };
    const lesson = COURSE.lessons[0]!;
    const recipient = { subscriberId: "sub-1", email: "a@example.com", firstName: NAME, run: 1 };
    const email = await composeLessonEmail(config, lesson, lessonTemplate(lesson, config), recipient);
    const links = await lessonLinks(config, recipient, lesson, COURSE);
    const fresh = await renderEmail(createElement(lessonComponent(COURSE.slug, 1), { ...SITE, firstName: NAME, ...links, repliesWelcome: config.replyTo !== undefined }));
    expect(email.text).toBe(fresh.text);
    expect(joinLines(email.html)).toBe(joinLines(fresh.html));
  });

  it("the sign-in email sizes its inbox-preview padding for the brand's length, as React Email does", async () => {
    const props = { ...SITE, signInUrl: "https://course.example/admin/sign-in?token=t", validMinutes: SIGN_IN_TTL_MS / 60_000 };
    const fresh = await renderEmail(createElement(AdminSignInEmail, props));
    const filled = fillTemplate(signInTemplate({ ...testConfig(), ...SITE }), { signInUrl: props.signInUrl });
    expect(filled.text).toBe(fresh.text);
    expect(joinLines(filled.html)).toBe(joinLines(fresh.html));
  });

  it("leaves the brand out of the footer's sender line when the postal address starts with it", async () => {
    const config = { ...testConfig(), brandName: "Acme", postalAddress: "Acme Ltd, 1 High St" };
    const email = await composeAlreadySubscribed(config, { email: "a@example.com", firstName: null }, "https://x.test/m");
    expect(email.text).toContain("\nAcme Ltd, 1 High St\n");
    expect(email.text).not.toContain("\nAcme\nAcme Ltd");
    expect(email.text).toContain("Hi there,");
  });

  it("refuses to fill a template without a value for each of its fields", () => {
    expect(() => fillTemplate(signInTemplate(testConfig()), {} as { signInUrl: string })).toThrow(/signInUrl/);
  });
});

describe("the one declaration of personalisation fields (src/mail/fields.ts)", () => {
  it("gives lesson components exactly the lesson fields as props, plus whether replies are welcome", () => {
    expect(Object.keys(lessonPropsSchema.shape).sort()).toEqual([...fieldsIn("lesson"), "repliesWelcome"].sort());
  });

  it("renders every field as a placeholder that React and the text converter leave alone", () => {
    for (const field of fieldsIn("lesson")) {
      const marker = markerOf(field);
      expect(escapeForHtml(marker)).toBe(marker);
      expect(marker.toUpperCase().endsWith(marker.slice(-10).toUpperCase())).toBe(true);
    }
    expect(markerOf("manageUrl")).toMatch(/^https:\/\//);
    expect(markerOf("firstName")).toBe("__CS_FIRST_NAME__");
  });

  it("escapes as React does: & < > \" and ' in the HTML part", () => {
    expect(escapeForHtml(`a&b<c>d"e'f`)).toBe("a&amp;b&lt;c&gt;d&quot;e&#x27;f");
  });
});

describe("the Worker bundle", () => {
  it("imports no React, React Email or renderer: emails are compiled at build time", async () => {
    const result = await build({
      absWorkingDir: ROOT,
      entryPoints: ["src/worker.ts"],
      bundle: true,
      write: false,
      metafile: true,
      platform: "neutral",
      format: "esm",
      packages: "external",
      logLevel: "silent",
    });
    const imported = Object.values(result.metafile.inputs).flatMap((input) => input.imports.map((i) => i.path));
    const forbidden = imported.filter((path) => /^(react|react-dom|react-email|@react-email\/|prettier|html-to-text)(\/|$)/.test(path));
    expect(forbidden).toEqual([]);
    // Course copy (emails/<course>/copy.ts) is plain data; no component may come along.
    expect(Object.keys(result.metafile.inputs).filter((path) => path.startsWith("emails/") && !path.endsWith("/copy.ts"))).toEqual([]);
  });
});
