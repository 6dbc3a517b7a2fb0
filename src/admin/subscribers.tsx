/** @jsxImportSource hono/jsx */
import { Hono } from "hono";
import { coursesOf } from "../course/registry";
import { emailAddress } from "../lib/email-address";
import { AppError, notFound } from "../lib/errors";
import { ACTION_LABELS, runSubscriberAction, SUBSCRIBER_ACTIONS, type SubscriberAction } from "./actions";
import { consoleOn, readConsoleForm, requireOperator, type ConsoleEnv } from "./auth";
import { ConsolePage, Csrf, Scroll, when } from "./layout";
import { findSubscriberForConsole, subscriberDetail, type SubscriberDetail } from "./queries";


interface TimelineEntry {
  at: number;
  text: string;
}

/**
 * The subscriber's story from the rows that exist: their own times, each delivery's send and
 * first-seen provider times, and the operators' actions. (An events table will make this exact.)
 */
export function timeline(detail: SubscriberDetail): TimelineEntry[] {
  const { subscriber, deliveries, actions, courses } = detail;
  const entries: TimelineEntry[] = [{ at: subscriber.createdAt, text: "Signed up" }];
  if (subscriber.confirmedAt) entries.push({ at: subscriber.confirmedAt, text: "Confirmed" });
  for (const d of deliveries) {
    const lesson = `Lesson ${d.lessonNumber}${d.run > 1 ? ` (run ${d.run})` : ""}`;
    const seen: [number | null, string][] = [
      [d.sentAt, "sent"],
      [d.deliveredAt, "delivered"],
      [d.openedAt, "opened"],
      [d.clickedAt, "clicked"],
      [d.bouncedAt, "bounced"],
      [d.complainedAt, "complaint received"],
    ];
    for (const [at, what] of seen) if (at) entries.push({ at, text: `${lesson} ${what}` });
    if (d.status === "failed") entries.push({ at: d.updatedAt, text: `${lesson} failed: ${d.lastError ?? "no reason recorded"}` });
  }
  for (const { enrollment } of courses) if (enrollment.completedAt) entries.push({ at: enrollment.completedAt, text: "Completed the course" });
  if (subscriber.unsubscribedAt) entries.push({ at: subscriber.unsubscribedAt, text: subscriber.status === "unsubscribed" ? "Unsubscribed" : `Stopped (${subscriber.status})` });
  for (const a of actions) entries.push({ at: a.at, text: `${ACTION_LABELS[a.action as SubscriberAction] ?? a.action} by an operator (${a.operatorEmail}): ${a.outcome}` });
  return entries.sort((a, b) => a.at - b.at);
}

function SearchForm(props: { q?: string; error?: string }) {
  return (
    <form method="get" action="/admin/subscribers" class="card" role="search">
      <div class="field">
        <label for="q">Email address or subscriber id</label>
        <input id="q" name="q" type="search" value={props.q ?? ""} aria-describedby={props.error ? "q-error" : undefined} />
        {props.error && (
          <p id="q-error" class="error">
            {props.error}
          </p>
        )}
      </div>
      <button type="submit">Find</button>
    </form>
  );
}

const STATE_WORDS: Record<string, string> = { active: "Active", paused: "Paused", completed: "Completed", failed: "Failed sending", stopped: "Left" };

function CoursesSection({ detail }: { detail: SubscriberDetail }) {
  if (detail.courses.length === 0) return <p>Not in any course yet (they have not confirmed).</p>;
  return (
    <Scroll label="Courses"><table class="data">
      <thead>
        <tr>
          <th scope="col">Course</th>
          <th scope="col">State</th>
          <th scope="col">Progress</th>
          <th scope="col">Next lesson due</th>
        </tr>
      </thead>
      <tbody>
        {detail.courses.map(({ course, enrollment }) => (
          <tr>
            <td>{course.title}</td>
            <td>{STATE_WORDS[enrollment.state] ?? enrollment.state}</td>
            <td>{`${Math.min(enrollment.nextLesson - 1, course.lessons.length)} of ${course.lessons.length} lessons`}</td>
            <td>{enrollment.state === "active" ? when(enrollment.nextSendAt) : "—"}</td>
          </tr>
        ))}
      </tbody>
    </table></Scroll>
  );
}

const BUTTONS: { action: SubscriberAction; label: string; style: string }[] = [
  { action: "pause", label: "Pause", style: "secondary" },
  { action: "resume", label: "Resume", style: "secondary" },
  { action: "remove", label: "Remove from the course", style: "secondary" },
  { action: "unsubscribe", label: "Unsubscribe", style: "danger" },
  { action: "delete", label: "Delete their data", style: "danger" },
];

/** Actions on one course's enrollment; the others act on the person (all email, their data). */
const COURSE_ACTIONS = new Set<SubscriberAction>(["pause", "resume", "remove"]);

const OUTCOME_WORDS: Record<string, string> = {
  done: "Done.",
  done_lesson_on_its_way: "Done. One lesson was already with the provider and may still arrive.",
  not_found: "They no longer exist.",
  not_subscribed: "Not possible: they are not subscribed.",
  not_confirmed: "Not possible: they have not confirmed.",
  completed: "Not possible: they have finished the course.",
  already_unsubscribed: "They were already unsubscribed.",
};

function SubscriberPage({ detail, csrf, done }: { detail: SubscriberDetail; csrf: string; done?: { action: string; outcome: string } }) {
  const { subscriber, consent } = detail;
  return (
    <>
      {done && (
        <p class="notice" role="status">
          {`${ACTION_LABELS[done.action as SubscriberAction] ?? done.action}: ${OUTCOME_WORDS[done.outcome] ?? done.outcome}`}
        </p>
      )}
      <dl class="facts">
        <dt>Address</dt>
        <dd>{subscriber.email}</dd>
        <dt>Name</dt>
        <dd>{subscriber.firstName ?? "—"}</dd>
        <dt>Time zone</dt>
        <dd>{subscriber.timeZone}</dd>
        <dt>Status</dt>
        <dd>{subscriber.status}</dd>
        <dt>Id</dt>
        <dd>{subscriber.id}</dd>
      </dl>
      <h2>Consent</h2>
      <dl class="facts">
        <dt>Source</dt>
        <dd>{consent.source === "import" ? `Imported${consent.note ? ` (opted in at: ${consent.note})` : ""}` : "Signup form"}</dd>
        <dt>Confirmed</dt>
        <dd>{consent.confirmedAt ? `${when(consent.confirmedAt)}, ${consent.how === "operator" ? "by the operator's statement at import" : "by the link in the confirmation email"}` : "Not yet"}</dd>
      </dl>
      <h2>Courses</h2>
      <CoursesSection detail={detail} />
      <h2>Actions</h2>
      {detail.courses.map(({ course }) => (
        <div class="actions" role="group" aria-label={`Actions for ${course.title}`}>
          {detail.courses.length > 1 && <p class="hint">{course.title}</p>}
          {BUTTONS.filter((b) => COURSE_ACTIONS.has(b.action)).map((b) => (
            <form method="post" action={`/admin/subscribers/${subscriber.id}/${b.action}`}>
              <Csrf token={csrf} />
              <input type="hidden" name="course" value={course.slug} />
              <button type="submit" class={b.style}>
                {detail.courses.length > 1 ? `${b.label}: ${course.title}` : b.label}
              </button>
            </form>
          ))}
        </div>
      ))}
      <div class="actions">
        {BUTTONS.filter((b) => !COURSE_ACTIONS.has(b.action)).map((b) => (
          <form method="post" action={`/admin/subscribers/${subscriber.id}/${b.action}`}>
            <Csrf token={csrf} />
            <button type="submit" class={b.style}>
              {b.label}
            </button>
          </form>
        ))}
      </div>
      <h2>Timeline</h2>
      <ol class="timeline">
        {timeline(detail).map((entry) => (
          <li>
            <time datetime={new Date(entry.at).toISOString()}>{when(entry.at)}</time>
            {entry.text}
          </li>
        ))}
      </ol>
    </>
  );
}

export const subscriberRoutes = new Hono<ConsoleEnv>()
  .get("/subscribers", consoleOn, requireOperator, async (c) => {
    const { db, config } = c.get("deps");
    const q = (c.req.query("q") ?? "").trim().slice(0, 1000);
    const page = (error?: string, status: 200 | 400 | 404 = 200) =>
      c.html(
        <ConsolePage title="Find a subscriber" brandName={config.brandName} operator={{ email: c.get("operator").email, csrf: c.get("csrf") }}>
          <SearchForm q={q} error={error} />
        </ConsolePage>,
        status,
      );
    if (q === "") return page();
    const byId = /^[0-9a-f-]{36}$/i.test(q);
    const parsed = byId ? undefined : emailAddress.safeParse(q);
    if (parsed && !parsed.success) return page("Enter a whole email address (like name@example.com) or a subscriber id.", 400);
    const found = await findSubscriberForConsole(db, byId ? { id: q.toLowerCase() } : { email: parsed!.data });
    if (!found) return page("Nobody with that address or id.", 404);
    return c.redirect(`/admin/subscribers/${found.id}`, 303);
  })
  .get("/subscribers/:id", consoleOn, requireOperator, async (c) => {
    const { db, config } = c.get("deps");
    const detail = await subscriberDetail(db, c.req.param("id"));
    if (!detail) throw notFound("Nobody with that id: they may have been deleted.");
    const action = c.req.query("done");
    const outcome = c.req.query("outcome");
    return c.html(
      <ConsolePage title="Subscriber" brandName={config.brandName} operator={{ email: c.get("operator").email, csrf: c.get("csrf") }}>
        <SubscriberPage detail={detail} csrf={c.get("csrf")} done={action && outcome && action in ACTION_LABELS && outcome in OUTCOME_WORDS ? { action, outcome } : undefined} />
      </ConsolePage>,
    );
  })
  .post("/subscribers/:id/:action", consoleOn, requireOperator, async (c) => {
    const form = await readConsoleForm(c);
    const action = c.req.param("action") as SubscriberAction;
    if (!SUBSCRIBER_ACTIONS.includes(action)) throw new AppError(404, "not_found", "There is no such action.");
    const id = c.req.param("id");
    const registry = coursesOf(c.get("deps"));
    const course = typeof form.course === "string" && form.course !== "" ? registry.courseBySlug(form.course) : registry.defaultCourse;
    if (!course) throw new AppError(400, "unknown_course", "There is no course with that name.");
    const outcome = await runSubscriberAction(c.get("deps"), c.get("operator"), action, id, course);
    if (action === "delete" && outcome === "done") {
      return c.html(
        <ConsolePage title="Data deleted" brandName={c.get("deps").config.brandName} operator={{ email: c.get("operator").email, csrf: c.get("csrf") }}>
          <p class="notice" role="status">
            Their data is deleted. Only a one-way hash of the address is kept, so they are never mailed again unless they sign up anew.
          </p>
          <p>
            <a href="/admin/subscribers">Find another subscriber</a>
          </p>
        </ConsolePage>,
      );
    }
    if (outcome === "not_found") throw notFound("Nobody with that id: they may have been deleted.");
    return c.redirect(`/admin/subscribers/${id}?done=${action}&outcome=${outcome}`, 303);
  });
