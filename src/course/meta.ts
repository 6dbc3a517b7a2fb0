import { DEFAULT_COURSE_SLUG } from "./default-slug";
/**
 * The course as plain data, with no React and no email imports, so both the email components
 * (which need "Lesson N of 6", titles and preview text) and `lessons.ts` (which attaches the
 * components) can import it without a cycle.
 */

export const COURSE_TITLE = "Clear Skin from the Inside Out";
/**
 * The course's stable identifier in links and stored rows (lesson votes). The multi-course
 * registry (issue 12) gives every course one; this is the default course's.
 */
export const COURSE_SLUG = DEFAULT_COURSE_SLUG;

/** The one disclaimer, shown in every page footer and every lesson email. */
export const DISCLAIMER =
  "This course is for education only and is not medical advice. Talk to your doctor or dermatologist before you change a treatment or start a supplement, and don't stop any prescribed medication on your own.";

export interface LessonMeta {
  /** 1-based position in the course. */
  number: number;
  /** Stable identifier for URLs and database rows; never rename a published slug. */
  slug: string;
  /** Heading inside the email and on the landing page. */
  title: string;
  /**
   * Email subject line; at most 60 characters so it isn't cut off in most inboxes. It names the
   * lesson by its title (without the "Step n:" prefix), so the subject, the email's heading and the
   * landing page's list are recognisably the same lesson.
   */
  subject: string;
  /** Inbox preview text (shown after the subject); the <Preview> of the email. */
  preview: string;
  /** One sentence for the landing page's lesson list. */
  summary: string;
  /** Days after confirmation; lesson 1 goes out right away (0). */
  dayOffset: number;
}

export const LESSON_META = [
  {
    number: 1,
    slug: "gut-skin-axis",
    title: "What the gut–skin axis is",
    subject: "Lesson 1: What the gut–skin axis is, and why it matters",
    preview: "Why acne can be a messenger, not an enemy, and what your gut has to do with it.",
    summary: "How the trillions of bacteria in your gut stay in touch with your skin, and why that matters for acne.",
    dayOffset: 0,
  },
  {
    number: 2,
    slug: "three-signs",
    title: "Three signs your acne may be gut-related",
    subject: "Lesson 2: Three signs your acne may be gut-related",
    preview:
      "Where breakouts show up, how your digestion feels, what happens after meals, and a simple two-week journal.",
    summary:
      "Three clues that your breakouts may be linked to your gut, plus a two-week food-and-skin journal to spot your own patterns.",
    dayOffset: 2,
  },
  {
    number: 3,
    slug: "support-the-gut-lining",
    title: "Step 1: Support your gut lining",
    subject: "Lesson 3: Support your gut lining (step 1 of 3)",
    preview: "Bone broth, zinc and pumpkin seeds: simple foods that nourish your gut lining and your skin.",
    summary:
      "The first healing step: nourishing foods such as bone broth and zinc-rich pumpkin seeds, and how much zinc is too much.",
    dayOffset: 4,
  },
  {
    number: 4,
    slug: "probiotics-and-prebiotics",
    title: "Step 2: Probiotics and prebiotics",
    subject: "Lesson 4: Probiotics and prebiotics (step 2 of 3)",
    preview: "Helpful bacteria, the fibres that feed them, and what the research can and can't tell us yet.",
    summary:
      "The second step: helpful bacteria from fermented foods, the fibres that feed them, and an honest look at the research.",
    dayOffset: 7,
  },
  {
    number: 5,
    slug: "anti-inflammatory-plate",
    title: "Step 3: The anti-inflammatory plate",
    subject: "Lesson 5: The anti-inflammatory plate (step 3 of 3)",
    preview: "Omega-3 fats, colourful berries and leafy greens: everyday ways to help calm redness from the inside.",
    summary:
      "The third step: omega-3 fats and colourful, antioxidant-rich foods that may help calm red, swollen breakouts.",
    dayOffset: 10,
  },
  {
    number: 6,
    slug: "key-takeaways",
    title: "Key takeaways and gentle next steps",
    subject: "Lesson 6: Your key takeaways and gentle next steps",
    preview: "Everything from the course on one page, and how to keep going at your own pace, with the right support.",
    summary:
      "The whole course on one page, and gentle next steps to take at your own pace with a professional's support.",
    dayOffset: 14,
  },
] as const satisfies readonly LessonMeta[];

export const LESSON_COUNT: number = LESSON_META.length;

/** What the confirmation email says about a course: its title, lesson count and length in days. */
export function confirmationAbout(course: { title: string; lessons: readonly { dayOffset: number }[] }) {
  return { title: course.title, lessonCount: course.lessons.length, days: Math.max(...course.lessons.map((l) => l.dayOffset)) };
}

/** Subject and preview of the double opt-in email, kept next to the lessons' so copy lives in one place. */
export const CONFIRMATION_EMAIL = {
  subject: `Please confirm: ${COURSE_TITLE}`,
  preview: "One click to confirm your email, and your first lesson is on its way.",
  /** The button's label; the "check your inbox" page names it, so the two must match. */
  button: "Confirm my subscription",
} as const;

/** The subject of the confirmation email for a course title. */
export const confirmationSubject = (title: string): string => (title === COURSE_TITLE ? CONFIRMATION_EMAIL.subject : `Please confirm: ${title}`);

/**
 * Sent instead of a confirmation when an address that is already subscribed signs up again, so the
 * form answers (and takes as long) the same whoever's address is typed into it.
 */
export const ALREADY_SUBSCRIBED_EMAIL = {
  subject: `You're already subscribed: ${COURSE_TITLE}`,
  preview: "Here's your link to see your progress, pause or leave the course.",
} as const;

/** How long a confirmation link stays valid; the confirmation email states it. */
export const CONFIRM_LINK_TTL_HOURS = 48;
