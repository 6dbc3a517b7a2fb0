/** @jsxImportSource hono/jsx */
import { DEFAULT_COURSE, lessonOf, type Course } from "../course";
import type { Enrollment } from "../db/subscribers";
import type { Subscription } from "../db/controls";
import { formatLocal } from "../drip/schedule";
import { FORM_TOKEN_FIELD } from "../lib/form-token";
import { Layout, MessagePage, type SiteInfo } from "./layout";
import { DetailsForm, type DetailsFormState } from "./manage-details";

/** What a POST just did, shown once after the redirect (`?done=`); unknown values are ignored. */
export const DONE_MESSAGES = {
  "paused-week": "Done: your lessons are paused for a week. They start again by themselves.",
  paused: "Done: your lessons are paused until you resume them.",
  resumed: "Welcome back: your lessons are on again.",
  restarted: "Done: the course starts again from lesson 1. The time it arrives is below.",
  unsubscribed: "You're unsubscribed. We won't send you any more lessons.",
  details: "Saved: your details are up to date.",
  left: "Done: you've left that course. Your other courses carry on.",
} as const;
export type DoneKey = keyof typeof DONE_MESSAGES;

export function isDoneKey(value: string | undefined): value is DoneKey {
  return value !== undefined && Object.hasOwn(DONE_MESSAGES, value);
}

/** The subscriber's situation in words a page can show. */
export type CourseState =
  | { kind: "active" }
  | { kind: "paused-until"; until: number }
  | { kind: "paused" }
  | { kind: "completed" }
  | { kind: "failed" }
  | { kind: "unsubscribed" }
  | { kind: "pending" };

export function courseState({ subscriber, enrollment }: Subscription, now: number): CourseState {
  if (subscriber.status === "unsubscribed") return { kind: "unsubscribed" };
  if (subscriber.status === "pending" || !enrollment) return { kind: "pending" };
  switch (enrollment.state) {
    case "paused":
      // A timed pause that has run out is active even before the dispatcher's next pass notices.
      if (enrollment.pausedUntil === null) return { kind: "paused" };
      return enrollment.pausedUntil > now ? { kind: "paused-until", until: enrollment.pausedUntil } : { kind: "active" };
    case "completed":
      return { kind: "completed" };
    case "failed":
      return { kind: "failed" };
    case "stopped":
      return { kind: "unsubscribed" };
    default:
      return { kind: "active" };
  }
}

export interface ManagePageProps {
  site: SiteInfo;
  subscription: Subscription;
  /** `/manage/<token>`: every form posts below it. */
  base: string;
  now: number;
  done?: DoneKey;
  /** Signed form token (src/lib/form-token.ts) put in every form of the page. */
  formToken: string;
  /** The details form's values: the saved ones, or a rejected submission with its errors. */
  details: DetailsFormState;
  /** A lesson was already with our email provider when the lessons were paused or stopped. */
  onItsWay?: boolean;
  /** The course the main part of the page is about; default: the default course. */
  course?: Course;
  /** The subscriber's other courses, each with its own progress and controls. */
  others?: { course: Course; enrollment: Enrollment }[];
}

/** Said when a pause or unsubscribe landed while a lesson was already handed to the provider. */
export function OnItsWayNotice() {
  return (
    <p class="notice" role="status">
      One lesson was already on its way when you did this, so it may still arrive. Nothing more is sent after it.
    </p>
  );
}

function stateLabel(state: CourseState, timeZone: string): string {
  switch (state.kind) {
    case "active":
      return "Active";
    case "paused-until":
      return `Paused until ${formatLocal(state.until, timeZone)}`;
    case "paused":
      return "Paused until you resume";
    case "completed":
      return "Completed";
    case "failed":
      return "On hold: we couldn't deliver your last lesson";
    case "unsubscribed":
      return "Unsubscribed";
    case "pending":
      return "Waiting for you to confirm your email address";
  }
}

/** The hidden field with the signed form token, in every form that changes something. */
export function FormTokenField(props: { token: string }) {
  return <input type="hidden" name={FORM_TOKEN_FIELD} value={props.token} />;
}

/** A form with one button: every action is a POST, so nothing changes by following a link. */
function ActionButton(props: { base: string; action: string; label: string; token: string; variant?: "secondary" | "danger" }) {
  return (
    <form method="post" action={`${props.base}/${props.action}`}>
      <FormTokenField token={props.token} />
      <button type="submit" class={props.variant}>
        {props.label}
      </button>
    </form>
  );
}

/** The notice after an action; after a details change it says when the next lesson now arrives. */
function doneMessage(done: DoneKey, next: { number: number } | undefined, when: string): string {
  if (done !== "details" || !next || when === "") return DONE_MESSAGES[done];
  if (when === "When you resume" || when === "On its way now") return DONE_MESSAGES.details;
  return `Saved: your details are up to date. Lesson ${next.number} now arrives on ${when}.`;
}

export function ManagePage({ site, subscription, base, now, done, formToken, details, onItsWay, course = DEFAULT_COURSE, others = [] }: ManagePageProps) {
  const { subscriber, enrollment } = subscription;
  const LESSON_COUNT = course.lessons.length;
  const state = courseState(subscription, now);
  const receiving = state.kind === "active" || state.kind === "paused" || state.kind === "paused-until";
  const received = enrollment ? Math.min(Math.max(enrollment.nextLesson - 1, 0), LESSON_COUNT) : 0;
  const next = enrollment && receiving ? lessonOf(course, enrollment.nextLesson) : undefined;
  const subscribed = subscriber.status === "active";
  const greeting = subscriber.firstName ? `Hi ${subscriber.firstName}, here` : "Here";

  let when = "";
  if (next && enrollment) {
    if (state.kind === "paused") when = "When you resume";
    else if (enrollment.nextSendAt === null || enrollment.nextSendAt <= now) when = "On its way now";
    else when = formatLocal(enrollment.nextSendAt, subscriber.timeZone);
  }

  return (
    <Layout title="Manage your lessons" site={site}>
      <h1>Manage your lessons</h1>
      <p class="lead">
        {greeting} is where you are in <cite>{course.title}</cite>.
      </p>
      {done && (
        <p class="notice" role="status">
          {doneMessage(done, next, when)}
        </p>
      )}
      {onItsWay && <OnItsWayNotice />}

      <section class="card" aria-labelledby="progress-heading">
        <h2 id="progress-heading" class="flush">
          Your progress
        </h2>
        <p>
          <label for="progress">
            {state.kind === "completed" ? `You've received all ${LESSON_COUNT} lessons.` : `You've received ${received} of ${LESSON_COUNT} lessons.`}
          </label>
          <progress id="progress" value={received} max={LESSON_COUNT}>
            {received} of {LESSON_COUNT}
          </progress>
        </p>
        <dl class="facts">
          <dt>Status</dt>
          <dd>{stateLabel(state, subscriber.timeZone)}</dd>
          {next && (
            <>
              <dt>Next</dt>
              <dd>
                Lesson {next.number} of {LESSON_COUNT}: {next.title}
              </dd>
              <dt>When</dt>
              <dd>{when}</dd>
            </>
          )}
          <dt>Time zone</dt>
          <dd>{subscriber.timeZone}</dd>
        </dl>
      </section>

      {others.length > 0 && subscribed && (
        <section aria-labelledby="other-courses-heading">
          <h2 id="other-courses-heading">Your other courses</h2>
          {others.map((other) => (
            <OtherCourse {...other} base={base} formToken={formToken} now={now} timeZone={subscriber.timeZone} />
          ))}
        </section>
      )}

      <DetailsForm action={`${base}/details`} formToken={formToken} state={details} />

      {subscribed && (state.kind === "active" || state.kind === "paused-until" || state.kind === "paused" || state.kind === "failed") && (
        <section aria-labelledby="pause-heading">
          <h2 id="pause-heading">{state.kind === "active" ? "Take a break" : "Carry on"}</h2>
          {state.kind === "active" && (
            <>
              <p>Pausing keeps your place. Nothing is sent while you're paused.</p>
              <div class="actions">
                <ActionButton base={base} token={formToken} action="pause-week" label="Pause for a week" />
                <ActionButton base={base} token={formToken} action="pause" label="Pause until I resume" variant="secondary" />
              </div>
            </>
          )}
          {state.kind === "paused-until" && (
            <>
              <p>Your lessons start again by themselves when the week is up. You can also carry on now.</p>
              <div class="actions">
                <ActionButton base={base} token={formToken} action="resume" label="Resume now" />
                <ActionButton base={base} token={formToken} action="pause" label="Pause until I resume" variant="secondary" />
              </div>
            </>
          )}
          {state.kind === "paused" && (
            <>
              <p>
                The next lesson goes out at {String(details.sendHour).padStart(2, "0")}:00 your time after you resume, one
                lesson at a time.
              </p>
              <div class="actions">
                <ActionButton base={base} token={formToken} action="resume" label="Resume my lessons" />
              </div>
            </>
          )}
          {state.kind === "failed" && (
            <>
              <p>Our email provider could not deliver to your address. If your inbox works again, try once more.</p>
              <div class="actions">
                <ActionButton base={base} token={formToken} action="resume" label="Try sending again" />
              </div>
            </>
          )}
        </section>
      )}

      {subscribed && state.kind !== "pending" && (
        <section aria-labelledby="restart-heading">
          <h2 id="restart-heading">Start again</h2>
          <p>Get the whole course again from lesson 1, at your next lesson time (never sooner than 20 hours after your last lesson).</p>
          <div class="actions">
            <ActionButton base={base} token={formToken} action="restart" label="Restart from lesson 1" variant="secondary" />
          </div>
        </section>
      )}

      <section aria-labelledby="leave-heading">
        <h2 id="leave-heading">{subscribed ? "Leave" : "Your data"}</h2>
        {subscribed && (
          <p>
            Unsubscribe to stop all email from us, in every course. Delete your data to also erase your address, name and
            progress.
          </p>
        )}
        {state.kind === "unsubscribed" && (
          <p>
            We won't email you. Want the course again? <a href="/">Sign up on the home page</a>: you'll confirm your address,
            and the course picks up where you left off (or starts again if you had finished). You can also erase everything
            we hold about you.
          </p>
        )}
        {state.kind === "pending" && (
          <p>
            Confirm your address with the link we emailed you and your lessons continue. You can also erase everything we
            hold about you.
          </p>
        )}
        <div class="actions">
          {subscribed && others.length > 0 && (state.kind === "active" || state.kind.startsWith("paused") || state.kind === "failed") && (
            <ActionButton base={`${base}/courses/${course.slug}`} token={formToken} action="leave" label={`Leave ${course.title} only`} variant="secondary" />
          )}
          {subscribed && <ActionButton base={base} token={formToken} action="unsubscribe" label="Unsubscribe" variant="secondary" />}
          <a class="button danger" href={`${base}/delete`}>
            Delete my data…
          </a>
        </div>
      </section>
    </Layout>
  );
}

export function DeleteConfirmPage(props: { site: SiteInfo; base: string; formToken: string }) {
  return (
    <MessagePage title="Delete your data?" site={props.site}>
      <p class="lead">This erases your email address, your name and your course progress. It can't be undone.</p>
      <p>
        We keep only a one-way fingerprint of your address, which can't be turned back into it, so that we never email you
        again. If you sign up anew one day, you'll start from lesson 1.
      </p>
      <div class="actions">
        <form method="post" action={`${props.base}/delete`}>
          <FormTokenField token={props.formToken} />
          <button type="submit" class="danger">
            Yes, delete my data
          </button>
        </form>
        <a href={props.base}>No, keep my data</a>
      </div>
    </MessagePage>
  );
}

export function DeletedPage(props: { site: SiteInfo }) {
  return (
    <MessagePage title="Your data has been deleted" site={props.site}>
      <p class="lead">We've erased your email address, your name and your course progress.</p>
      <p>
        We won't email you again. The links in any lessons you kept no longer work. If you'd like the course again some day,
        you can <a href="/">sign up on the home page</a>.
      </p>
    </MessagePage>
  );
}

/**
 * One more course of the subscriber: progress, next lesson and when, and its own controls, which
 * post to `<base>/courses/<slug>/<action>` (pause, resume, restart, leave).
 */
function OtherCourse(props: { course: Course; enrollment: Enrollment; base: string; formToken: string; now: number; timeZone: string }) {
  const { course, enrollment, now } = props;
  const count = course.lessons.length;
  const received = Math.min(Math.max(enrollment.nextLesson - 1, 0), count);
  const state = courseState({ subscriber: { status: "active" } as Subscription["subscriber"], enrollment }, now);
  const next = state.kind === "active" || state.kind.startsWith("paused") ? lessonOf(course, enrollment.nextLesson) : undefined;
  const when = state.kind === "paused" ? "When you resume" : enrollment.nextSendAt === null || enrollment.nextSendAt <= now ? "On its way now" : formatLocal(enrollment.nextSendAt, props.timeZone);
  const base = `${props.base}/courses/${course.slug}`;
  return (
    <div class="card">
      <h3 class="flush">{course.title}</h3>
      <p>{state.kind === "completed" ? `You've received all ${count} lessons.` : `You've received ${received} of ${count} lessons.`}</p>
      <dl class="facts">
        <dt>Status</dt>
        <dd>{state.kind === "unsubscribed" ? "You left this course" : stateLabel(state, props.timeZone)}</dd>
        {next && (
          <>
            <dt>Next</dt>
            <dd>{`Lesson ${next.number} of ${count}: ${next.title}`}</dd>
            <dt>When</dt>
            <dd>{when}</dd>
          </>
        )}
      </dl>
      <div class="actions">
        {state.kind === "active" && <ActionButton base={base} token={props.formToken} action="pause" label="Pause" variant="secondary" />}
        {(state.kind === "paused" || state.kind === "paused-until" || state.kind === "failed") && (
          <ActionButton base={base} token={props.formToken} action="resume" label="Resume" />
        )}
        <ActionButton base={base} token={props.formToken} action="restart" label="Restart from lesson 1" variant="secondary" />
        {state.kind !== "unsubscribed" && state.kind !== "completed" && (
          <ActionButton base={base} token={props.formToken} action="leave" label="Leave this course" variant="secondary" />
        )}
      </div>
    </div>
  );
}
