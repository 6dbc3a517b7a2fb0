import type { ReactElement } from "react";
import ConfirmSubscriptionEmail, { type ConfirmSubscriptionProps } from "../../emails/confirm-subscription";
import { lessonPreviewProps, type LessonEmailProps } from "../../emails/_components/lesson-props";
import { COURSE, type Lesson } from "../../src/course";

/** Placeholder values the dispatcher renders with once, then replaces per recipient. */
export const MARKERS = {
  firstName: "__CS_FIRST_NAME__",
  manageUrl: "https://x.test/__CS_MANAGE_URL__",
  unsubscribeUrl: "https://x.test/__CS_UNSUBSCRIBE_URL__",
  viewInBrowserUrl: "https://x.test/__CS_VIEW_URL__",
  confirmUrl: "https://x.test/__CS_CONFIRM_URL__",
} as const;

export function lessonProps(overrides: Partial<LessonEmailProps> = {}): LessonEmailProps {
  return { ...lessonPreviewProps, ...overrides };
}

export function confirmProps(overrides: Partial<ConfirmSubscriptionProps> = {}): ConfirmSubscriptionProps {
  return { ...ConfirmSubscriptionEmail.PreviewProps, ...overrides };
}

export function lessonElement(lesson: Lesson, overrides: Partial<LessonEmailProps> = {}): ReactElement {
  return <lesson.Email {...lessonProps(overrides)} />;
}

export function confirmElement(overrides: Partial<ConfirmSubscriptionProps> = {}): ReactElement {
  return <ConfirmSubscriptionEmail {...confirmProps(overrides)} />;
}

/** Every email the service sends, rendered with its preview props (or overrides). */
export const ALL_EMAILS: ReadonlyArray<{ name: string; element: (firstName?: string | null) => ReactElement }> = [
  { name: "confirm-subscription", element: (firstName) => confirmElement(firstName === undefined ? {} : { firstName }) },
  ...COURSE.lessons.map((lesson) => ({
    name: `lesson ${lesson.number} (${lesson.slug})`,
    element: (firstName?: string | null) => lessonElement(lesson, firstName === undefined ? {} : { firstName }),
  })),
];

export function hrefs(html: string): string[] {
  return [...html.matchAll(/\shref="([^"]*)"/g)].map((m) => m[1] ?? "");
}

export function wordCount(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}
