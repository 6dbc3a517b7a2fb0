import { describe, expect, it } from "vitest";
import { DISCLAIMER } from "../../emails/_components/footer";
import { lessonPreviewProps } from "../../emails/_components/lesson-props";
import { propsSchema as alreadySubscribedPropsSchema } from "../../emails/already-subscribed";
import type { ReactElement } from "react";
import { allCourses, COURSE, CONFIRMATION_EMAIL, GREETING_FALLBACK } from "../../src/course";
import { MAX_HTML_LINE, MSO_COLUMN_END, MSO_COLUMN_START, renderEmail as renderWithLines } from "../../src/course/render";
import { ALREADY_SUBSCRIBED_EMAIL } from "../../src/course/meta";
import {
  ALL_EMAILS,
  MARKERS,
  alreadySubscribedElement,
  alreadySubscribedProps,
  confirmElement,
  escapeHtml,
  hrefs,
  lessonElement,
  lessonProps,
  wordCount,
} from "./fixtures";

/** Gmail clips messages whose HTML is larger than 102 KB and hides the rest (footer included). */
const GMAIL_CLIP_BYTES = 102 * 1024;

/**
 * The HTML joined back into one line, for assertions about content: the renderer breaks long lines
 * at spaces in text and between block tags (src/course/render.ts), which may split a phrase.
 */
const unwrap = (html: string) => html.replace(/>\n</g, "><").replace(/\n/g, " ");

async function renderEmail(element: ReactElement) {
  const rendered = await renderWithLines(element);
  return { ...rendered, html: unwrap(rendered.html) };
}

/** Outlook-only markup (conditional comments), which other clients never see. */
const withoutMso = (html: string) => html.replace(/<!--\[if mso\]>[\s\S]*?<!\[endif\]-->/g, "");

describe.each(ALL_EMAILS)("$name", ({ element }) => {
  it("renders to HTML and plain text", async () => {
    const { html, text } = await renderEmail(element());
    expect(html).toMatch(/^<!DOCTYPE html/);
    expect(html).toContain("</html>");
    expect(text.length).toBeGreaterThan(200);
    expect(text).not.toMatch(/<[a-z][^>]*>/i);
  });

  it("stays under Gmail's 102 KB clipping limit", async () => {
    const { html } = await renderEmail(element());
    expect(Buffer.byteLength(html, "utf8")).toBeLessThan(GMAIL_CLIP_BYTES);
  });

  it("uses only absolute links", async () => {
    const { html } = await renderEmail(element());
    const links = hrefs(html);
    expect(links.length).toBeGreaterThan(0);
    for (const href of links) expect(href).toMatch(/^(https?:\/\/|mailto:)/);
    expect(html).not.toMatch(/\ssrc="(?!https?:\/\/)/);
  });

  it("has no images without alt text", async () => {
    const { html } = await renderEmail(element());
    for (const img of html.match(/<img\b[^>]*>/g) ?? []) expect(img).toMatch(/\salt="[^"]+"/);
  });

  it("stays fluid: no fixed width wider than a 320px screen (outside Outlook's conditional comments)", async () => {
    const html = withoutMso((await renderEmail(element())).html);
    const styleWidths = [...html.matchAll(/(?<![-\w])width:\s*(\d+)px/g)].map((m) => Number(m[1]));
    const attrWidths = [...html.matchAll(/\swidth="(\d+)"/g)].map((m) => Number(m[1]));
    for (const width of [...styleWidths, ...attrWidths]) expect(width).toBeLessThanOrEqual(320);
  });

  it("keeps every HTML line short: no line near RFC 5322's 998 characters, most within the wrap width", async () => {
    const { html } = await renderWithLines(element());
    const lines = html.split("\n");
    // As a quoted-printable encoder writes it: each non-ASCII byte becomes "=XX".
    const qpLength = (line: string) => line.length + 2 * [...Buffer.from(line, "utf8")].filter((byte) => byte > 0x7f).length;
    for (const line of lines) expect(qpLength(line), line.slice(0, 80)).toBeLessThan(998);
    const long = lines.filter((line) => line.length > MAX_HTML_LINE);
    expect(long.length).toBeLessThanOrEqual(lines.length / 10);
  });

  it("keeps a 600px column in Outlook for Windows (an MSO conditional table around the container)", async () => {
    const { html } = await renderEmail(element());
    const start = html.indexOf(MSO_COLUMN_START);
    expect(start).toBeGreaterThan(html.indexOf("<body"));
    const column = html.indexOf("max-width:600px", start);
    expect(column).toBeGreaterThan(start);
    expect(html.indexOf(MSO_COLUMN_END)).toBeGreaterThan(column);
    expect(html).not.toContain("x-mso-column");
  });

  it("declares light and dark colour schemes", async () => {
    const { html } = await renderEmail(element());
    expect(html).toContain('<meta name="color-scheme" content="light dark"/>');
    expect(html).toContain('<meta name="supported-color-schemes" content="light dark"/>');
    expect(html).toContain("prefers-color-scheme: dark");
  });

  it("greets by first name", async () => {
    const { html, text } = await renderEmail(element({ firstName: "Maya" }));
    expect(html).toContain("Hi Maya,");
    expect(text).toContain("Hi Maya,");
  });

  it.each([
    ["empty", ""],
    ["null", null],
    ["missing", undefined],
  ] as const)("greets with the fallback when the first name is %s", async (_, firstName) => {
    const { html, text } = await renderEmail(element({ firstName }));
    expect(html).toContain("Hi there,");
    expect(GREETING_FALLBACK).toBe("there");
    expect(text).toContain("Hi there,");
  });

  it("shows the postal address in the footer", async () => {
    const { text } = await renderEmail(element());
    expect(text).toContain(lessonProps().postalAddress);
  });
});

describe("the confirmation email", () => {
  it("writes the confirm link out in the text and links the button to it", async () => {
    const { html, text } = await renderEmail(confirmElement({ confirmUrl: MARKERS.confirmUrl }));
    expect(text).toContain(`${CONFIRMATION_EMAIL.button} (${MARKERS.confirmUrl})`);
    expect(text.split("\n")).toContain(MARKERS.confirmUrl);
    expect(hrefs(html).filter((href) => href === MARKERS.confirmUrl)).toHaveLength(2);
  });

  it("says the link expires in 48 hours and tells people who didn't sign up to ignore it", async () => {
    const { text } = await renderEmail(confirmElement());
    expect(text).toContain("expires in 48 hours");
    expect(text).toContain("If you didn't sign up, ignore this email — you won't hear from us again.");
  });

  it("uses the subject as the document title and the preview from the course data", async () => {
    const { html } = await renderEmail(confirmElement());
    expect(html).toContain(`<title>${escapeHtml(CONFIRMATION_EMAIL.subject)}</title>`);
    expect(html).toContain(`data-skip-in-text="true">${escapeHtml(CONFIRMATION_EMAIL.preview)}`);
  });

  it("keeps marker props verbatim so they can be replaced per recipient", async () => {
    const { html, text } = await renderEmail(
      confirmElement({ firstName: MARKERS.firstName, confirmUrl: MARKERS.confirmUrl }),
    );
    expect(html).toContain(`Hi ${MARKERS.firstName},`);
    expect(text).toContain(`Hi ${MARKERS.firstName},`);
    expect(html).toContain(`href="${MARKERS.confirmUrl}"`);
  });
});

describe("the already-subscribed email", () => {
  const manageUrl = "https://course.example/manage/tok123";

  it("writes the manage link out in the text and links the button to it, with no confirm link", async () => {
    const { html, text } = await renderEmail(alreadySubscribedElement({ manageUrl }));
    expect(text).toContain(`See my progress (${manageUrl})`);
    expect(text.split("\n")).toContain(manageUrl);
    expect(hrefs(html).filter((href) => href === manageUrl)).toHaveLength(2);
    expect(html).not.toContain("/confirm");
    expect(text).not.toContain("/confirm");
  });

  it("says the address is already enrolled in the course, offers progress, pause or leave, and tells others to ignore it", async () => {
    const { text } = await renderEmail(alreadySubscribedElement());
    expect(text).toContain("You're already enrolled, so there's nothing to confirm.");
    expect(text).toContain(COURSE.title);
    expect(text).toContain("see your progress, pause your lessons or leave the course");
    expect(text).toContain("If this wasn't you, you can ignore this email.");
  });

  it("carries the medical disclaimer in its footer", async () => {
    const { text } = await renderEmail(alreadySubscribedElement());
    expect(text).toContain(DISCLAIMER);
  });

  it("uses the subject as the document title and the preview from the course data", async () => {
    const { html } = await renderEmail(alreadySubscribedElement());
    expect(html).toContain(`<title>${escapeHtml(ALREADY_SUBSCRIBED_EMAIL.subject)}</title>`);
    expect(html).toContain(`data-skip-in-text="true">${escapeHtml(ALREADY_SUBSCRIBED_EMAIL.preview)}`);
  });

  it("validates its props: the manage link must be absolute", () => {
    expect(alreadySubscribedPropsSchema.safeParse(alreadySubscribedProps()).success).toBe(true);
    expect(alreadySubscribedPropsSchema.safeParse(alreadySubscribedProps({ manageUrl: "/manage/tok" })).success).toBe(false);
  });
});

/** Every lesson of every registered course, so each course's emails pass the same checks. */
const EVERY_LESSON = allCourses().flatMap((course) =>
  course.lessons.map((lesson) => ({ course, lesson, courseSlug: course.slug, number: lesson.number, slug: lesson.slug })),
);

describe.each(EVERY_LESSON)("$courseSlug lesson $number ($slug)", ({ course, lesson }) => {
  const count = course.lessons.length;
  it(`says "Lesson ${lesson.number} of ${count}" and shows its title`, async () => {
    const { html, text } = await renderEmail(lessonElement(lesson));
    expect(html).toContain(`Lesson ${lesson.number} of ${count}`);
    expect(text).toContain(`Lesson ${lesson.number} of ${count}`);
    expect(html).toContain(escapeHtml(lesson.title));
  });

  it("uses the preview text and subject from the course definition", async () => {
    const { html, text } = await renderEmail(lessonElement(lesson));
    expect(html).toContain(`<title>${escapeHtml(lesson.subject)}</title>`);
    expect(html).toContain(`data-skip-in-text="true">${escapeHtml(lesson.preview)}`);
    // The inbox preview is for the inbox only; the plain-text body doesn't repeat it.
    expect(text).not.toContain(lesson.preview);
  });

  it("carries the medical disclaimer", async () => {
    const { text } = await renderEmail(lessonElement(lesson));
    expect(text).toContain(DISCLAIMER);
    expect(DISCLAIMER).toMatch(/not medical advice/);
    expect(DISCLAIMER).toMatch(/doctor or dermatologist/);
    expect(DISCLAIMER).toMatch(/don't stop any prescribed medication/);
  });

  it("writes out the manage, unsubscribe and view-in-browser links in the plain text", async () => {
    const props = lessonProps();
    const { text } = await renderEmail(lessonElement(lesson));
    expect(text).toContain(`Pause or manage your lessons (${props.manageUrl})`);
    expect(text).toContain(`Unsubscribe (${props.unsubscribeUrl})`);
    expect(text).toContain(`View in browser (${props.viewInBrowserUrl})`);
  });

  it("keeps every marker verbatim in the HTML and the text", async () => {
    const { html, text } = await renderEmail(lessonElement(lesson, MARKERS));
    expect(html).toContain(`Hi ${MARKERS.firstName},`);
    expect(text).toContain(`Hi ${MARKERS.firstName},`);
    expect(html).toContain(`href="${MARKERS.manageUrl}"`);
    expect(html).toContain(`href="${MARKERS.unsubscribeUrl}"`);
    expect(html).toContain(`href="${MARKERS.viewInBrowserUrl}"`);
    expect(text).toContain(`Pause or manage your lessons (${MARKERS.manageUrl})`);
    expect(text).toContain(`Unsubscribe (${MARKERS.unsubscribeUrl})`);
    expect(text).toContain(`View in browser (${MARKERS.viewInBrowserUrl})`);
    expect(html).toContain(`href="${MARKERS.helpfulUrl}"`);
    expect(html).toContain(`href="${MARKERS.notHelpfulUrl}"`);
    expect(text).toContain(`Yes (${MARKERS.helpfulUrl})`);
    expect(text).toContain(`Not really (${MARKERS.notHelpfulUrl})`);
  });

  it('asks "Was this lesson helpful?" with Yes and Not really links, each on its own line, under the sign-off and above the footer', async () => {
    const props = lessonProps();
    const { text } = await renderEmail(lessonElement(lesson));
    const lines = text.split("\n");
    expect(lines).toContain(`Yes (${props.helpfulUrl})`);
    expect(lines).toContain(`Not really (${props.notHelpfulUrl})`);
    const question = text.indexOf("Was this lesson helpful?");
    expect(question).toBeGreaterThan(text.indexOf("Warmly,"));
    expect(question).toBeLessThan(text.indexOf(DISCLAIMER));
  });

  it("gives the same email when markers are replaced as when rendered for that person", async () => {
    const person = {
      firstName: "Maya",
      manageUrl: "https://course.example/manage/tok123",
      unsubscribeUrl: "https://course.example/unsubscribe/tok123",
      viewInBrowserUrl: "https://course.example/lessons/3/tok123",
      helpfulUrl: "https://course.example/feedback/tok123/helpful",
      notHelpfulUrl: "https://course.example/feedback/tok123/not-helpful",
    };
    const template = await renderEmail(lessonElement(lesson, MARKERS));
    const direct = await renderEmail(lessonElement(lesson, person));
    const personalise = (s: string) =>
      s
        .replaceAll(MARKERS.firstName, person.firstName)
        .replaceAll(MARKERS.manageUrl, person.manageUrl)
        .replaceAll(MARKERS.unsubscribeUrl, person.unsubscribeUrl)
        .replaceAll(MARKERS.viewInBrowserUrl, person.viewInBrowserUrl)
        .replaceAll(MARKERS.helpfulUrl, person.helpfulUrl)
        .replaceAll(MARKERS.notHelpfulUrl, person.notHelpfulUrl);
    expect(personalise(template.html)).toBe(direct.html);
    expect(personalise(template.text)).toBe(direct.text);
  });

  it("has 300 to 600 words of lesson copy", async () => {
    const { text } = await renderEmail(lessonElement(lesson));
    const copy = text.slice(text.indexOf("Hi Maya,"), text.indexOf("Warmly,"));
    const words = wordCount(copy);
    expect(words).toBeGreaterThanOrEqual(300);
    expect(words).toBeLessThanOrEqual(600);
  });

  it(lesson.number < count ? "teases the next lesson" : "has no next-lesson teaser", async () => {
    const { text } = await renderEmail(lessonElement(lesson));
    if (lesson.number < count) {
      expect(text).toContain("Coming next");
      expect(text).toContain(course.lessons[lesson.number]?.title.toUpperCase());
    } else {
      expect(text).not.toContain("Coming next");
    }
  });
});

describe("lesson 1 and replies", () => {
  const lesson1 = COURSE.lessons[0]!;
  const invitation = "Just reply to this email.";

  it("invites the reader to reply when REPLY_TO is set (repliesWelcome), in the HTML and the text", async () => {
    const { html, text } = await renderEmail(lessonElement(lesson1, { repliesWelcome: true }));
    expect(text).toContain(invitation);
    expect(html).toContain(invitation);
  });

  it("says nothing about replying when no Reply-To is set", async () => {
    const { html, text } = await renderEmail(lessonElement(lesson1, { repliesWelcome: false }));
    expect(text).not.toContain(invitation);
    expect(html).not.toContain(invitation);
  });
});

describe("the course copy", () => {
  async function lessonText(n: number): Promise<string> {
    const lesson = COURSE.lessons[n - 1];
    if (!lesson) throw new Error(`no lesson ${n}`);
    return (await renderEmail(lessonElement(lesson))).text;
  }


  it("calls leaky gut a hypothesis and face mapping a tradition", async () => {
    expect(await lessonText(1)).toMatch(/"leaky" gut[^.]*is a hypothesis, not a diagnosis/);
    expect(await lessonText(2)).toContain("Face mapping is a tradition, not established science.");
  });

  it("gives the 40 mg/day adult upper limit with the zinc advice", async () => {
    const text = await lessonText(3);
    expect(text).toMatch(/Adults should not take more than 40 mg of zinc a day from supplements/);
    expect(text).toMatch(/pumpkin seeds/i);
    expect(text).toMatch(/bone broth/i);
  });

  it("says the probiotic studies in acne are small", async () => {
    const text = await lessonText(4);
    expect(text).toMatch(/probiotic studies in acne are small/);
    expect(text).toMatch(/Lactobacillus rhamnosus/);
    expect(text).toMatch(/Lactobacillus acidophilus/);
  });

  it("sets expectations of weeks to months and sends people to a professional", async () => {
    const text = await lessonText(6);
    expect(text).toMatch(/weeks to months/);
    expect(text).toMatch(/don't stop any prescribed acne medicine/);
  });
});

/** The honesty rules of /work/shared/COURSE.md, for every registered course. */
describe.each(allCourses().map((course) => ({ slug: course.slug, course })))("the copy of $slug", ({ course }) => {
  async function allText(): Promise<string> {
    const texts = await Promise.all(course.lessons.map(async (lesson) => (await renderEmail(lessonElement(lesson))).text));
    return texts.join("\n");
  }

  it("never repeats the source's slips or promises a cure", async () => {
    const all = await allText();
    expect(all).not.toMatch(/symbiosis/i);
    expect(all).not.toMatch(/\breflex\b/i);
    expect(all).not.toMatch(/\bcure[sd]?\b/i);
    expect(all).not.toMatch(/permanent/i);
    expect(all).not.toMatch(/guarantee/i);
    // Where the imbalance or the symptom is named, it is named correctly.
    if (/imbalance|out of balance/i.test(all)) expect(all).toMatch(/dysbiosis/);
    if (/reflu/i.test(all)) expect(all).toMatch(/acid reflux/);
  });

  it("gives the 40 mg/day adult upper limit wherever it mentions zinc", async () => {
    const all = await allText();
    if (/zinc/i.test(all)) expect(all).toMatch(/Adults should not take more than 40 mg of zinc a day from supplements/);
  });

  it("says how strong the evidence is and sends people to a doctor or dermatologist", async () => {
    const all = await allText();
    expect(all).toMatch(/research|studies/i);
    expect(all).toMatch(/early|small/);
    expect(all).toMatch(/doctor or dermatologist/);
  });
});

describe("the skin-food-starter copy", () => {
  const starter = allCourses().find((course) => course.slug === "skin-food-starter");
  async function lessonText(n: number): Promise<string> {
    const lesson = starter?.lessons[n - 1];
    if (!lesson) throw new Error(`no starter lesson ${n}`);
    return (await renderEmail(lessonElement(lesson))).text;
  }

  it("ships as a registered course of three daily lessons", () => {
    expect(starter?.lessons.map((lesson) => lesson.dayOffset)).toEqual([0, 1, 2]);
  });

  it("starts a food-and-skin journal and names post-meal flare-ups 24 to 48 hours later", async () => {
    const text = await lessonText(1);
    expect(text).toMatch(/journal/);
    expect(text).toMatch(/24 to 48 hours/);
    expect(text).toMatch(/promising, but they are still early/);
  });

  it("feeds good bacteria with fermented foods and prebiotic fibres, and calls the probiotic studies small", async () => {
    const text = await lessonText(2);
    for (const food of ["Sauerkraut", "Kimchi", "Garlic", "Onions", "Asparagus", "Bananas"]) expect(text).toContain(food);
    expect(text).toMatch(/studies are\s+small/);
  });

  it("builds the anti-inflammatory plate, sets expectations of weeks to months and points to the full course", async () => {
    const text = await lessonText(3);
    expect(text).toMatch(/Omega-3/);
    expect(text).toMatch(/weeks\s+to months/);
    expect(text).toContain("Clear Skin from the Inside Out");
    expect(text).toContain(lessonPreviewProps.appUrl);
    expect(text).toMatch(/prescribed/);
  });
});
