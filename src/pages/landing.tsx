/** @jsxImportSource hono/jsx */
import { DEFAULT_COURSE, type Course } from "../course";
import type { Child } from "hono/jsx";
import { Layout, type SiteInfo } from "./layout";

export interface SignupFormState {
  email?: string;
  firstName?: string;
  timeZone?: string;
  /** Field name → message, shown beside the field. */
  errors?: Partial<Record<"email" | "firstName" | "form", string>>;
  /** Extra hidden fields the signup protection needs (signed form time, Turnstile site key). */
  formToken?: string;
  turnstileSiteKey?: string;
}

/** The landing page's meta description and Open Graph description (about 155 characters, shown in search results). */
export const LANDING_DESCRIPTION =
  "A free six-lesson email course on the gut–skin axis: what your gut may have to do with your acne, and gentle, food-first steps you can take.";

/**
 * A course's landing page with its signup form. The default course (no `course` given, or the
 * default one) is the site's home page at `/`; any course also lives at `/courses/<slug>`.
 */
export function LandingPage(props: { site: SiteInfo; sendHour: number; form?: SignupFormState; course?: Course; isDefault?: boolean }) {
  const course = props.course ?? DEFAULT_COURSE;
  const isDefault = props.isDefault ?? course.slug === DEFAULT_COURSE.slug;
  const form = props.form ?? {};
  const errors = form.errors ?? {};
  const scripts = ["/assets/timezone.js"];
  if (form.turnstileSiteKey) scripts.push("https://challenges.cloudflare.com/turnstile/v0/api.js");
  return (
    <Layout
      title={course.title}
      site={props.site}
      scripts={scripts}
      summary={{ description: isDefault ? LANDING_DESCRIPTION : course.description, url: `${props.site.appUrl ?? ""}${isDefault ? "/" : `/courses/${course.slug}`}` }}
    >
      <h1>{course.title}</h1>
      {isDefault ? (
        <p class="lead">
          A free six-lesson email course on the gut–skin axis: what your gut may have to do with your acne, and gentle,
          food-first steps you can take. Acne is a messenger, not an enemy.
        </p>
      ) : (
        <p class="lead">{course.description}</p>
      )}

      <section class="card" aria-labelledby="signup-heading">
        <h2 id="signup-heading" class="flush">
          Get lesson 1 today
        </h2>
        {errors.form && (
          <p class="error" role="alert">
            {errors.form}
          </p>
        )}
        <form method="post" action="/subscribe" novalidate>
          <TextField name="email" label="Email address" type="email" autocomplete="email" required maxlength={254} value={form.email} error={errors.email} />
          <TextField
            name="firstName"
            label={
              <>
                First name <span class="hint">(optional)</span>
              </>
            }
            type="text"
            autocomplete="given-name"
            maxlength={60}
            value={form.firstName}
            error={errors.firstName}
          />
          <input type="hidden" name="timeZone" value={form.timeZone ?? ""} />
          {!isDefault && <input type="hidden" name="course" value={course.slug} />}
          {form.formToken && <input type="hidden" name="formToken" value={form.formToken} />}
          <div class="hp" aria-hidden="true">
            <label for="website">Leave this field empty</label>
            <input id="website" name="website" type="text" tabindex={-1} autocomplete="off" />
          </div>
          {form.turnstileSiteKey && <div class="cf-turnstile" data-sitekey={form.turnstileSiteKey} />}
          <button type="submit">Send me the course</button>
          <p class="hint">
            We'll email you a link to confirm. One lesson every few days, at {formatHour(course.sendHour ?? props.sendHour)} your time. Pause or leave
            with one click from any email.
          </p>
        </form>
      </section>

      <h2>What you'll learn</h2>
      <ol class="lessons">
        {course.lessons.map((lesson) => (
          <li>
            <strong>{lesson.title}</strong>
            {lesson.summary}
          </li>
        ))}
      </ol>
    </Layout>
  );
}

function formatHour(hour: number): string {
  if (hour === 0) return "midnight";
  if (hour === 12) return "noon";
  return hour < 12 ? `${hour} in the morning` : `${hour - 12} in the ${hour < 18 ? "afternoon" : "evening"}`;
}

/** A labelled input whose error, if any, is announced and tied to the field for screen readers. */
function TextField(props: {
  name: string;
  label: Child;
  type: "email" | "text";
  autocomplete: string;
  maxlength: number;
  required?: boolean;
  value: string | undefined;
  error: string | undefined;
}) {
  const errorId = `${props.name}-error`;
  return (
    <div class="field">
      <label for={props.name}>{props.label}</label>
      <input
        id={props.name}
        name={props.name}
        type={props.type}
        autocomplete={props.autocomplete}
        required={props.required}
        maxlength={props.maxlength}
        value={props.value ?? ""}
        aria-invalid={props.error ? "true" : undefined}
        aria-describedby={props.error ? errorId : undefined}
      />
      {props.error && (
        <p id={errorId} class="error" role="alert">
          {props.error}
        </p>
      )}
    </div>
  );
}

/** `/courses`: every course the service runs, each with its description and a link to its page. */
export function CoursesPage(props: { site: SiteInfo; courses: readonly Course[] }) {
  return (
    <Layout title="All courses" site={props.site} summary={{ description: "Free email courses: pick one, one lesson every few days.", url: `${props.site.appUrl ?? ""}/courses` }}>
      <h1>All courses</h1>
      <ul class="lessons">
        {props.courses.map((course) => (
          <li>
            <strong>
              <a href={`/courses/${course.slug}`}>{course.title}</a>
            </strong>
            {`${course.description} ${course.lessons.length} lessons.`}
          </li>
        ))}
      </ul>
    </Layout>
  );
}
