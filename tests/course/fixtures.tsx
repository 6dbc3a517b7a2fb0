import type { ReactElement } from "react";
import AlreadySubscribedEmail, { type AlreadySubscribedProps } from "../../emails/already-subscribed";
import ConfirmSubscriptionEmail, { type ConfirmSubscriptionProps } from "../../emails/confirm-subscription";
import { lessonPreviewProps, type LessonEmailProps } from "../../emails/_components/lesson-props";
import { allCourses, type Lesson } from "../../src/course";
import { FIELD_NAMES, FIELDS, type FieldsOf, markerOf } from "../../src/mail/fields";
import { lessonComponent } from "../../emails/_build/registry";
import type { LessonComponent } from "../../emails/_build/compile";

/**
 * The placeholders the build renders every per-recipient field as (src/mail/fields.ts, the one
 * declaration), before the server fills them per recipient.
 */
export const MARKERS = Object.fromEntries(
  FIELD_NAMES.filter((name) => FIELDS[name].scope === "recipient").map((name) => [name, markerOf(name)]),
) as Record<FieldsOf<"recipient">, string>;

export function alreadySubscribedProps(overrides: Partial<AlreadySubscribedProps> = {}): AlreadySubscribedProps {
  return { ...AlreadySubscribedEmail.PreviewProps, ...overrides };
}

export function alreadySubscribedElement(overrides: Partial<AlreadySubscribedProps> = {}): ReactElement {
  return <AlreadySubscribedEmail {...alreadySubscribedProps(overrides)} />;
}

export function lessonProps(overrides: Partial<LessonEmailProps> = {}): LessonEmailProps {
  return { ...lessonPreviewProps, ...overrides };
}

export function confirmProps(overrides: Partial<ConfirmSubscriptionProps> = {}): ConfirmSubscriptionProps {
  return { ...ConfirmSubscriptionEmail.PreviewProps, ...overrides };
}

/** Each built-in lesson's component (emails/_build/registry.ts), by lesson value. */
const COMPONENTS = new Map<Lesson, LessonComponent>(
  allCourses().flatMap((course) => course.lessons.map((lesson) => [lesson, lessonComponent(course.slug, lesson.number)] as const)),
);

/** The email component of a built-in course's lesson. */
export function lessonEmail(lesson: Lesson): LessonComponent {
  const Email = COMPONENTS.get(lesson);
  if (!Email) throw new Error(`No component for lesson "${lesson.slug}"`);
  return Email;
}

export function lessonElement(lesson: Lesson, overrides: Partial<LessonEmailProps> = {}): ReactElement {
  const Email = lessonEmail(lesson);
  return <Email {...lessonProps(overrides)} />;
}

export function confirmElement(overrides: Partial<ConfirmSubscriptionProps> = {}): ReactElement {
  return <ConfirmSubscriptionEmail {...confirmProps(overrides)} />;
}

function lessonElementWith(lesson: Lesson, props: LessonEmailProps): ReactElement {
  const Email = lessonEmail(lesson);
  return <Email {...props} />;
}

type FirstName = { firstName: string | null | undefined };

/** Sets firstName, or removes the key entirely when it is undefined (a subscriber with no name). */
function withFirstName<P extends { firstName?: string | null }>(props: P, name?: FirstName): P {
  if (!name) return props;
  const { firstName: _drop, ...rest } = props;
  return (name.firstName === undefined ? rest : { ...rest, firstName: name.firstName }) as P;
}

/** Every email the service sends, rendered with its preview props, optionally with another first name. */
export const ALL_EMAILS: ReadonlyArray<{ name: string; element: (name?: FirstName) => ReactElement }> = [
  {
    name: "confirm-subscription",
    element: (name) => <ConfirmSubscriptionEmail {...withFirstName(confirmProps(), name)} />,
  },
  {
    name: "already-subscribed",
    element: (name) => <AlreadySubscribedEmail {...withFirstName(alreadySubscribedProps(), name)} />,
  },
  ...allCourses().flatMap((course) =>
    course.lessons.map((lesson) => ({
      name: `${course.slug} lesson ${lesson.number} (${lesson.slug})`,
      element: (name?: FirstName) => lessonElementWith(lesson, withFirstName(lessonProps(), name)),
    })),
  ),
];

/** The escaping React applies to text and attribute values. */
export function escapeHtml(s: string): string {
  return s
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#x27;");
}

export function hrefs(html: string): string[] {
  return [...html.matchAll(/\shref="([^"]*)"/g)].map((m) => m[1] ?? "");
}

export function wordCount(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}
