#!/usr/bin/env node
// `npm run course:new -- <slug>`: scaffolds a course — its module (src/course/<slug>.ts), its
// copy and lesson emails (emails/<slug>/), and a test (tests/course/<slug>.test.ts) — then says
// the one line to add to src/course/registry.ts. Never overwrites a file.
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
  [`src/course/${slug}.ts`]: `import Lesson1 from "../../emails/${slug}/lesson-1";
import Lesson2 from "../../emails/${slug}/lesson-2";
import Lesson3 from "../../emails/${slug}/lesson-3";
import { COPY } from "../../emails/${slug}/copy";
import { defineCourse } from "./course";

const EMAILS = [Lesson1, Lesson2, Lesson3];

export const ${camel} = defineCourse({
  slug: ${JSON.stringify(slug)},
  title: COPY.title,
  description: "One or two sentences for the course list.",
  language: "en",
  lessons: COPY.lessons.map(({ number, ...meta }) => ({ ...meta, Email: EMAILS[number - 1]! })),
});
`,
  [`tests/course/${slug}.test.ts`]: `import { describe, expect, it } from "vitest";
import { renderEmail } from "../../src/course";
import { ${camel} } from "../../src/course/${slug}";
import { lessonPreviewProps } from "../../emails/_components/lesson-props";

describe(${JSON.stringify(`the ${slug} course`)}, () => {
  it("renders every lesson with its title and its place in the course", async () => {
    for (const lesson of ${camel}.lessons) {
      const { text } = await renderEmail(lesson.Email(lessonPreviewProps));
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
console.log(`\nNext: in src/course/registry.ts, import { ${camel} } from "./${slug}" and add it to BUILT_IN_COURSES.`);
