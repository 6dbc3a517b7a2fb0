/** @jsxImportSource hono/jsx */
import { Hono } from "hono";
import { consoleOn, requireOperator, type ConsoleEnv } from "./auth";
import { BarChart } from "./charts";
import { ConsolePage, Csrf, Scroll } from "./layout";
import { consoleCourses, dashboardReport, DEFAULT_COURSE_SLUG, type DashboardReport } from "./queries";

const shortDay = (ms: number) => new Date(ms).toISOString().slice(5, 10);
const percent = (part: number, whole: number) => (whole === 0 ? "—" : `${Math.round((part / whole) * 100)}%`);

function DailySection({ report }: { report: DashboardReport }) {
  const { daily, rate } = report;
  const labels = daily.days.map(shortDay);
  const totalSignups = daily.signups.reduce((a, b) => a + b, 0);
  const totalConfirmations = daily.confirmations.reduce((a, b) => a + b, 0);
  return (
    <section aria-labelledby="daily-heading">
      <h2 id="daily-heading">Signups and confirmations, last 30 days</h2>
      <p>
        {`${totalSignups} signups and ${totalConfirmations} confirmations (UTC days). Confirmation rate of the people who signed up in these 30 days: `}
        <strong>{percent(rate.confirmed, rate.signedUp)}</strong> {`(${rate.confirmed} of ${rate.signedUp}).`}
      </p>
      <BarChart
        id="daily"
        title="Signups and confirmations per day"
        description={`Bars per day for the last 30 days: ${totalSignups} signups and ${totalConfirmations} confirmations in all. The table below has each day's numbers.`}
        labels={labels}
        labelEvery={5}
        series={[
          { name: "Signups", className: "bar-a", values: daily.signups },
          { name: "Confirmations", className: "bar-c", values: daily.confirmations },
        ]}
      />
      <details class="alt">
        <summary>Signups and confirmations per day as a table</summary>
        <Scroll label="Signups and confirmations per day"><table class="data">
          <thead>
            <tr>
              <th scope="col">Day (UTC)</th>
              <th scope="col" class="num">Signups</th>
              <th scope="col" class="num">Confirmations</th>
            </tr>
          </thead>
          <tbody>
            {daily.days.map((day, i) => (
              <tr>
                <td>{new Date(day).toISOString().slice(0, 10)}</td>
                <td class="num">{daily.signups[i]}</td>
                <td class="num">{daily.confirmations[i]}</td>
              </tr>
            ))}
          </tbody>
        </table></Scroll>
      </details>
    </section>
  );
}

const FUNNEL_COLUMNS = [
  ["sent", "Sent"],
  ["delivered", "Delivered"],
  ["opened", "Opened"],
  ["clicked", "Clicked"],
  ["helpful", "Rated helpful"],
  ["notHelpful", "Not helpful"],
  ["comments", "Comments"],
  ["left", "Left after it"],
  ["bounced", "Bounced"],
  ["complained", "Complaints"],
] as const;

function FunnelSection({ report }: { report: DashboardReport }) {
  const { funnel } = report;
  return (
    <section aria-labelledby="funnel-heading">
      <h2 id="funnel-heading">Lesson funnel</h2>
      <p>Opens and clicks are counted once per email, from the first time the provider reported them.</p>
      <BarChart
        id="funnel"
        title="Per-lesson funnel: sent, delivered, opened, clicked"
        description={funnel.map((r) => `Lesson ${r.lesson}: ${r.sent} sent, ${r.delivered} delivered, ${r.opened} opened, ${r.clicked} clicked.`).join(" ")}
        labels={funnel.map((r) => `Lesson ${r.lesson}`)}
        series={[
          { name: "Sent", className: "bar-a", values: funnel.map((r) => r.sent) },
          { name: "Delivered", className: "bar-c", values: funnel.map((r) => r.delivered) },
          { name: "Opened", className: "bar-b", values: funnel.map((r) => r.opened) },
          { name: "Clicked", className: "bar-d", values: funnel.map((r) => r.clicked) },
        ]}
      />
      <Scroll label="Lesson funnel table"><table class="data" id="funnel-table">
        <caption class="hint">The funnel as numbers, with the readers' "Was this lesson helpful?" answers.</caption>
        <thead>
          <tr>
            <th scope="col">Lesson</th>
            {FUNNEL_COLUMNS.map(([, label]) => (
              <th scope="col" class="num">
                {label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {funnel.map((row) => (
            <tr>
              <th scope="row">{`${row.lesson}. ${row.subject}`}</th>
              {FUNNEL_COLUMNS.map(([key]) => (
                <td class="num">{String(row[key])}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table></Scroll>
    </section>
  );
}

/** The newest comments readers left with their vote; JSX escapes them (they are the readers' words). */
function CommentsSection({ report }: { report: DashboardReport }) {
  return (
    <section aria-labelledby="comments-heading">
      <h2 id="comments-heading">What readers said</h2>
      {report.comments.length === 0 ? (
        <p class="hint">No comments yet. Each lesson asks "Was this lesson helpful?" and offers a comment box.</p>
      ) : (
        <ul class="comments">
          {report.comments.map((c) => (
            <li>
              <strong>{`Lesson ${c.lesson}, ${c.vote === "helpful" ? "helpful" : "not helpful"}:`}</strong> {c.comment}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function StatesSection({ report }: { report: DashboardReport }) {
  const { states, due } = report;
  const items: [string, number][] = [
    ["Active", states.active],
    ["Paused", states.paused],
    ["Completed", states.completed],
    ["Left", states.left],
    ["Waiting to confirm", states.pending],
    ["Failed sending", states.failed],
    ["Bounced", states.bounced],
    ["Complained", states.complained],
  ];
  const dueTotal = due.reduce((sum, row) => sum + row.n, 0);
  return (
    <section aria-labelledby="states-heading">
      <h2 id="states-heading">Where people are</h2>
      <ul class="stats">
        {items.map(([label, n]) => (
          <li>
            <strong>{n}</strong>
            {label}
          </li>
        ))}
      </ul>
      <h2 id="due-heading">Due in the next 24 hours</h2>
      <p>{dueTotal === 0 ? "Nothing is due in the next 24 hours." : `${dueTotal} lesson${dueTotal === 1 ? "" : "s"} due (overdue ones included):`}</p>
      {dueTotal > 0 && (
        <ul>
          {due.map((row) => (
            <li>{`Lesson ${row.lesson}: ${row.n}`}</li>
          ))}
        </ul>
      )}
    </section>
  );
}

function TestSendForm({ report, csrf }: { report: DashboardReport; csrf: string }) {
  return (
    <section aria-labelledby="test-heading">
      <h2 id="test-heading">Send a test lesson</h2>
      <form method="post" action={`/admin/courses/${report.course.slug}/test-send`} class="card">
        <Csrf token={csrf} />
        <div class="field">
          <label for="test-lesson">Lesson</label>
          <select id="test-lesson" name="lesson">
            {report.course.lessons.map((lesson) => (
              <option value={String(lesson.number)}>{`${lesson.number}. ${lesson.subject}`}</option>
            ))}
          </select>
          <p class="hint">Sent to your own address, marked "[Test]"; its personal links do nothing and it counts nowhere.</p>
        </div>
        <button type="submit">Send me a test</button>
      </form>
    </section>
  );
}

export const dashboardRoutes = new Hono<ConsoleEnv>()
  .get("/", consoleOn, requireOperator, (c) => c.redirect(`/admin/courses/${DEFAULT_COURSE_SLUG}`, 303))
  .get("/courses/:slug", consoleOn, requireOperator, async (c) => {
    const { db, clock, config } = c.get("deps");
    const report = await dashboardReport(db, c.req.param("slug"), clock());
    const sent = /^\d{1,3}$/.test(c.req.query("sent") ?? "") ? c.req.query("sent") : undefined;
    return c.html(
      <ConsolePage title={report.course.title} brandName={config.brandName} operator={{ email: c.get("operator").email, csrf: c.get("csrf") }}>
        {consoleCourses().length > 1 && (
          <nav aria-label="Courses">
            {consoleCourses().map((course) => (
              <a href={`/admin/courses/${course.slug}`}>{course.title}</a>
            ))}
          </nav>
        )}
        {sent && (
          <p class="notice" role="status">
            {`Test of lesson ${sent} sent to your address.`}
          </p>
        )}
        <p class="actions">
          <a class="button secondary" href={`/admin/courses/${report.course.slug}/export.csv`}>
            Export subscribers (CSV)
          </a>
          <a class="button secondary" href="/admin/imports/new">
            Import a CSV
          </a>
        </p>
        <StatesSection report={report} />
        <FunnelSection report={report} />
        <CommentsSection report={report} />
        <DailySection report={report} />
        <TestSendForm report={report} csrf={c.get("csrf")} />
      </ConsolePage>,
    );
  });

