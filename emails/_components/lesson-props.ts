import { z } from "zod";

/** Absolute http(s) URL: every link in an email must work outside the app, so no relative hrefs. */
export const absoluteUrl = z.url({ protocol: /^https?$/ });

/**
 * Props every lesson email takes. The dispatcher renders each lesson once with placeholder
 * strings as values and substitutes them per recipient, so components print these values
 * verbatim: never trim, re-case, split or encode them.
 */
export const lessonPropsSchema = z.object({
  firstName: z.string().nullish(),
  manageUrl: absoluteUrl,
  unsubscribeUrl: absoluteUrl,
  viewInBrowserUrl: absoluteUrl,
  /** "Was this lesson helpful?" links (emails/_components/lesson-feedback.tsx). */
  helpfulUrl: absoluteUrl,
  notHelpfulUrl: absoluteUrl,
  /**
   * Render-time, not per recipient: true when REPLY_TO is set, so lesson 1 may say "just reply".
   * Lessons are rendered once per configuration, so this is part of the template cache key.
   */
  repliesWelcome: z.boolean().optional(),
  brandName: z.string().min(1),
  postalAddress: z.string().min(1),
  appUrl: absoluteUrl,
});

export type LessonEmailProps = z.infer<typeof lessonPropsSchema>;

/** Realistic values for the React Email preview and for tests. */
export const lessonPreviewProps = {
  firstName: "Maya",
  manageUrl: "http://localhost:3000/manage/preview-token",
  unsubscribeUrl: "http://localhost:3000/unsubscribe/preview-token",
  viewInBrowserUrl: "http://localhost:3000/lessons/preview-token",
  helpfulUrl: "http://localhost:3000/feedback/preview-token/helpful",
  notHelpfulUrl: "http://localhost:3000/feedback/preview-token/not-helpful",
  repliesWelcome: true,
  brandName: "Natural Acne Medicine",
  postalAddress: "123 Example Street, Springfield, ST 00000, USA",
  appUrl: "http://localhost:3000",
} satisfies LessonEmailProps;
