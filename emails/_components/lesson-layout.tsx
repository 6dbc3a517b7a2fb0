import type { ReactNode } from "react";
import { Heading, Hr, Text } from "react-email";
import { COURSE_TITLE, LESSON_META, type LessonMeta } from "../../src/course/meta";
import { Footer } from "./footer";
import { Greeting } from "./greeting";
import { Layout } from "./layout";
import { LessonFeedback } from "./lesson-feedback";
import type { LessonEmailProps } from "./lesson-props";
import * as s from "./styles";

/** The course copy a lesson layout shows: its title and every lesson's copy (src/course/meta.ts shape). */
export interface LayoutCourse {
  title: string;
  lessons: readonly LessonMeta[];
}

const CLEAR_SKIN: LayoutCourse = { title: COURSE_TITLE, lessons: LESSON_META };

interface LessonLayoutProps extends LessonEmailProps {
  /** The course this lesson belongs to; the gut–skin course when not given. */
  course?: LayoutCourse;
  /** Which lesson this is; title, preview and "Lesson N of 6" come from the course data. */
  lesson: number;
  /** One or two sentences about the next lesson; its title is added from the course data. */
  comingNext?: ReactNode;
  children: ReactNode;
}

/**
 * Everything a lesson email shares: the "Lesson N of 6" label, title, greeting, teaser, sign-off,
 * "Was this lesson helpful?", footer.
 */
export function LessonLayout({ lesson, comingNext, children, course = CLEAR_SKIN, ...props }: LessonLayoutProps) {
  const meta = course.lessons.find((l) => l.number === lesson);
  if (!meta) throw new RangeError(`No lesson ${lesson} in "${course.title}" (1..${course.lessons.length})`);
  const next = course.lessons.find((l) => l.number === lesson + 1);
  return (
    <Layout
      title={meta.subject}
      preview={meta.preview}
      brandName={props.brandName}
      footer={
        <Footer
          brandName={props.brandName}
          postalAddress={props.postalAddress}
          appUrl={props.appUrl}
          reason={`You're getting this email because you signed up for the email course ${course.title}.`}
          links={{
            manageUrl: props.manageUrl,
            unsubscribeUrl: props.unsubscribeUrl,
            viewInBrowserUrl: props.viewInBrowserUrl,
          }}
        />
      }
    >
      <Text className={s.cls.muted} style={s.eyebrow}>
        {`Lesson ${meta.number} of ${course.lessons.length}`}
      </Text>
      <Heading as="h1" className={s.cls.text} style={s.h1}>
        {meta.title}
      </Heading>
      <Greeting firstName={props.firstName} />
      {children}
      {next && comingNext ? (
        <>
          <Hr className={s.cls.hr} style={s.hr} />
          <Text className={s.cls.muted} style={s.eyebrow}>
            Coming next
          </Text>
          <Heading as="h2" className={s.cls.text} style={{ ...s.h2, marginTop: 0 }}>
            {`Lesson ${next.number} – ${next.title}`}
          </Heading>
          <Text className={s.cls.text} style={s.paragraph}>
            {comingNext}
          </Text>
        </>
      ) : null}
      <Text className={s.cls.text} style={{ ...s.paragraph, margin: "24px 0 0" }}>
        Warmly,
        <br />
        {`The ${props.brandName} team`}
      </Text>
      <LessonFeedback helpfulUrl={props.helpfulUrl} notHelpfulUrl={props.notHelpfulUrl} />
    </Layout>
  );
}
