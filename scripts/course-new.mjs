#!/usr/bin/env node
// `npm run course:new -- <slug>`: scaffolds a course — its module (src/course/<slug>.ts, plain
// data), its copy and lesson emails (emails/<slug>/, with index.ts listing the lessons for the
// build), and a test (tests/course/<slug>.test.ts) — then says the two lines to add (to
// src/course/registry.ts and emails/_build/registry.ts) and to run `npm run build:emails`.
// Never overwrites a file.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const slug = process.argv[2];
if (!slug || !/^[a-z0-9]+(?:-[a-z0-9]+)*$/.test(slug)) {
  console.error("Usage: npm run course:new -- <slug>   (lower-case words joined by hyphens, e.g. gut-reset)");
  process.exit(2);
}
const camel = slug.replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase());
const title = slug.split("-").map((w) => w[0].toUpperCase() + w.slice(1)).join(" ");

const files = {
  [`emails/${slug}/copy.ts`]: `import type { LayoutCourse } from "../_components/lesson-layout";

/** The course's copy: plain data, imported by its emails and by src/course/${slug}.ts. */
export const COPY = {
  title: ${JSON.stringify(title)},
  lessons: [
    { number: 1, slug: "lesson-one", title: "Lesson one", subject: "Lesson 1: Lesson one", preview: "What lesson one is about.", summary: "Lesson one in a sentence.", dayOffset: 0 },
    { number: 2, slug: "lesson-two", title: "Lesson two", subject: "Lesson 2: Lesson two", preview: "What lesson two is about.", summary: "Lesson two in a sentence.", dayOffset: 2 },
    { number: 3, slug: "lesson-three", title: "Lesson three", subject: "Lesson 3: Lesson three", preview: "What lesson three is about.", summary: "Lesson three in a sentence.", dayOffset: 4 },
  ],
} as const satisfies LayoutCourse;
`,
  ...Object.fromEntries(
    [1, 2, 3].map((n) => [
      `emails/${slug}/lesson-${n}.tsx`,
      `import { P } from "../_components/content";
import { LessonLayout } from "../_components/lesson-layout";
import { lessonPreviewProps, type LessonEmailProps } from "../_components/lesson-props";
import { COPY } from "./copy";

export default function Lesson${n}(props: LessonEmailProps) {
  return (
    <LessonLayout {...props} course={COPY} lesson={${n}}${n < 3 ? ' comingNext="One sentence about the next lesson."' : ""}>
      <P>Write lesson ${n} here.</P>
    </LessonLayout>
  );
}

Lesson${n}.PreviewProps = lessonPreviewProps;
`,
    ]),
  ),
  [`emails/${slug}/index.ts`]: `import Lesson1 from "./lesson-1";
import Lesson2 from "./lesson-2";
import Lesson3 from "./lesson-3";

/** This course's lesson emails in lesson order, for the build (emails/_build/registry.ts). */
export const LESSON_EMAILS = [Lesson1, Lesson2, Lesson3];
`,
  [`src/course/${slug}.ts`]: `import { COPY } from "../../emails/${slug}/copy";
import { defineCourse } from "./course";

/** Plain data (no React): its lesson emails are compiled by \`npm run build:emails\` from emails/${slug}/. */
export const ${camel} = defineCourse({
  slug: ${JSON.stringify(slug)},
  title: COPY.title,
  description: "One or two sentences for the course list.",
  language: "en",
  lessons: COPY.lessons.map(({ number: _number, ...meta }) => meta),
});
`,
  [`tests/course/${slug}.test.ts`]: `import { describe, expect, it } from "vitest";
import { createElement } from "react";
import { LESSON_EMAILS } from "../../emails/${slug}";
import { lessonPreviewProps } from "../../emails/_components/lesson-props";
import { renderEmail } from "../../src/course/render";
import { ${camel} } from "../../src/course/${slug}";

describe(${JSON.stringify(`the ${slug} course`)}, () => {
  it("renders every lesson with its title and its place in the course", async () => {
    for (const lesson of ${camel}.lessons) {
      const { text } = await renderEmail(createElement(LESSON_EMAILS[lesson.number - 1]!, lessonPreviewProps));
      expect(text.toLowerCase()).toContain(lesson.title.toLowerCase());
      expect(text).toContain(\`Lesson \${lesson.number} of \${${camel}.lessons.length}\`);
    }
  });
});
`,
};

const existing = Object.keys(files).filter((path) => existsSync(join(root, path)));
if (existing.length > 0) {
  console.error(`Not overwriting: ${existing.join(", ")}`);
  process.exit(1);
}
for (const [path, text] of Object.entries(files)) {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), text);
  console.log(`created ${path}`);
}
console.log(`\nNext:
  1. src/course/registry.ts: import { ${camel} } from "./${slug}" and add it to BUILT_IN_COURSES.
  2. emails/_build/registry.ts: import { LESSON_EMAILS as ${camel} } from "../${slug}" and add "${slug}": ${camel} to LESSON_COMPONENTS.
  3. npm run build:emails (after every change to a lesson), and commit src/mail/templates.generated.ts.`);
