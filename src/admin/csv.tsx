/** @jsxImportSource hono/jsx */
import { stringify } from "csv-stringify/sync";
import { Hono, type Context } from "hono";
import { FORM_TOKEN_FIELD } from "../lib/form-token";
import { AppError, notFound } from "../lib/errors";
import { checkCsrf, consoleOn, readConsoleForm, requireOperator, type ConsoleEnv } from "./auth";
import { findJob, previewRows, reportRows, stageUpload, startJob, startSchema, workChunk, type ImportJob, MAX_IMPORT_BYTES, MAX_IMPORT_ROWS } from "./imports";
import { withUploadedFile } from "./upload-stream";
import { ConsolePage, Csrf, Scroll } from "./layout";
import { courseFor, DEFAULT_COURSE_SLUG, exportPage, type ExportRow } from "./queries";

/**
 * A cell a spreadsheet would run as a formula (`= + - @`, and tab / CR which some strip first) gets
 * a leading apostrophe (OWASP, "CSV Injection").
 */
export function neutralise(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

export const EXPORT_COLUMNS = ["email", "first_name", "time_zone", "source", "confirmed_at", "state", "lesson"] as const;

const EXPORT_PAGE = 1000;

function exportRecord(row: ExportRow, lessonCount: number): string[] {
  const state = row.state === "stopped" ? "left" : (row.state ?? (row.status === "pending" ? "pending" : row.status));
  // "lesson": the last lesson sent (0 = none yet).
  const lesson = row.nextLesson === null ? 0 : Math.min(row.nextLesson - 1, lessonCount);
  return [row.email, row.firstName ?? "", row.timeZone, row.source, row.confirmedAt ? new Date(row.confirmedAt).toISOString() : "", state, String(lesson)].map(neutralise);
}

/** The course's subscribers as CSV, a page at a time (keyset on id): memory stays flat however long the list. */
function exportStream(c: Context<ConsoleEnv>, slug: string): ReadableStream<Uint8Array> {
  const { db } = c.get("deps");
  const course = courseFor(slug);
  const encoder = new TextEncoder();
  let after = "";
  let headerSent = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!headerSent) {
        headerSent = true;
        controller.enqueue(encoder.encode(stringify([EXPORT_COLUMNS as unknown as string[]])));
        return;
      }
      const rows = await exportPage(db, slug, after, EXPORT_PAGE);
      if (rows.length === 0) return controller.close();
      after = rows.at(-1)!.id;
      controller.enqueue(encoder.encode(stringify(rows.map((row) => exportRecord(row, course.lessons.length)))));
    },
  });
}

const guess = (headers: string[], pattern: RegExp) => headers.findIndex((h) => pattern.test(h));

function MappingForm(props: { job: ImportJob; preview: string[][]; csrf: string; errors?: Record<string, string> }) {
  const headers = JSON.parse(props.job.headers) as string[];
  const select = (name: string, label: string, preset: number, optional: boolean) => (
    <div class="field">
      <label for={`map-${name}`}>{label}</label>
      <select id={`map-${name}`} name={name}>
        {optional && <option value="">(none)</option>}
        {headers.map((h, i) => (
          <option value={String(i)} selected={i === preset}>
            {h === "" ? `Column ${i + 1}` : h}
          </option>
        ))}
      </select>
    </div>
  );
  return (
    <>
      <p>{`${props.job.total} rows in the file. The first ${props.preview.length}:`}</p>
      <Scroll label="Preview of the first rows"><table class="data">
        <thead>
          <tr>
            {headers.map((h, i) => (
              <th scope="col">{h === "" ? `Column ${i + 1}` : h}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.preview.map((row) => (
            <tr>
              {headers.map((_, i) => (
                <td>{row[i] ?? ""}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table></Scroll>
      <form method="post" action={`/admin/imports/${props.job.id}/start`} class="card">
        <Csrf token={props.csrf} />
        <h2 class="flush">Which column is which</h2>
        {select("email", "Email address", Math.max(0, guess(headers, /e-?mail/i)), false)}
        {select("firstName", "First name (optional)", guess(headers, /first|name/i), true)}
        {select("timeZone", "Time zone (optional)", guess(headers, /zone|tz/i), true)}
        <fieldset class="choices">
          <legend>How do these people join?</legend>
          <label class="choice">
            <input type="radio" name="mode" value="confirm" checked />
            Send each a confirmation email: they join only when they click it
          </label>
          <label class="choice">
            <input type="radio" name="mode" value="consented" />
            They already opted in elsewhere: add them now
          </label>
        </fieldset>
        <div class="field">
          <label for="sourceNote">Where did they opt in? (required when they already opted in)</label>
          <textarea id="sourceNote" name="sourceNote" rows={2} aria-describedby={props.errors?.sourceNote ? "note-error" : "note-hint"}></textarea>
          <p id="note-hint" class="hint">
            Kept as their consent record, for example “signup form on example.com, 2025”.
          </p>
          {props.errors?.sourceNote && (
            <p id="note-error" class="error">
              {props.errors.sourceNote}
            </p>
          )}
        </div>
        {props.errors?.form && <p class="error">{props.errors.form}</p>}
        <button type="submit">Import</button>
      </form>
    </>
  );
}

function Running(props: { job: ImportJob; csrf: string }) {
  return (
    <>
      <label for="import-progress">Importing</label>
      <progress id="import-progress" max={String(Math.max(1, props.job.total))} value={String(props.job.done)}>
        {`${props.job.done} of ${props.job.total}`}
      </progress>
      <p role="status">{`${props.job.done} of ${props.job.total} rows`}</p>
      <form method="post" action={`/admin/imports/${props.job.id}/work`} data-auto-continue="">
        <Csrf token={props.csrf} />
        <p class="hint">This page carries on by itself, and you may reload it; without JavaScript, press the button until it is done.</p>
        <button type="submit" class="secondary">
          Import the next rows
        </button>
      </form>
    </>
  );
}

async function Report(props: { job: ImportJob; db: Parameters<typeof reportRows>[0] }) {
  const rows = await reportRows(props.db, props.job.id);
  const { job } = props;
  return (
    <>
      <ul class="stats">
        <li>
          <strong>{job.imported}</strong>Added
        </li>
        <li>
          <strong>{job.existing}</strong>Already on the list
        </li>
        <li>
          <strong>{job.suppressed}</strong>Skipped: unsubscribed, bounced or deleted
        </li>
        <li>
          <strong>{job.rejected}</strong>Rejected
        </li>
      </ul>
      <p>{job.mode === "confirm" ? "The people added got a confirmation email; they join when they click it." : `The people added are in the course now. Consent recorded: “${job.sourceNote ?? ""}”.`}</p>
      <h2>Rows not added, and why</h2>
      {rows.length === 0 ? (
        <p>None.</p>
      ) : (
        <Scroll label="Rows not added"><table class="data" id="import-report">
          <thead>
            <tr>
              <th scope="col" class="num">Row</th>
              <th scope="col">Why</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr>
                <td class="num">{String(row.rowNumber)}</td>
                <td>{row.reason}</td>
              </tr>
            ))}
          </tbody>
        </table></Scroll>
      )}
      {rows.length === 1000 && <p class="hint">The first 1,000 are shown.</p>}
    </>
  );
}

const page = (c: Context<ConsoleEnv>, title: string, body: unknown, status: 200 | 400 = 200, scripts?: string[]) =>
  c.html(
    <ConsolePage title={title} brandName={c.get("deps").config.brandName} operator={{ email: c.get("operator").email, csrf: c.get("csrf") }} scripts={scripts}>
      {body as never}
    </ConsolePage>,
    status,
  );

async function jobOr404(c: Context<ConsoleEnv>): Promise<ImportJob> {
  const job = await findJob(c.get("deps").db, c.req.param("id") ?? "");
  if (!job) throw notFound("There is no such import.");
  return job;
}

export const csvRoutes = new Hono<ConsoleEnv>()
  .get("/courses/:slug/export.csv", consoleOn, requireOperator, (c) => {
    const slug = c.req.param("slug");
    courseFor(slug);
    c.get("deps").logger.info("admin_export", { course: slug, session: c.get("operator").idHash.slice(0, 12) });
    return c.body(exportStream(c, slug), 200, {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="${slug}-subscribers.csv"`,
    });
  })
  .get("/imports/new", consoleOn, requireOperator, (c) =>
    page(
      c,
      "Import subscribers",
      <form method="post" action="/admin/imports" enctype="multipart/form-data" class="card">
        <Csrf token={c.get("csrf")} />
        <div class="field">
          <label for="file">CSV file (UTF-8, with a header row)</label>
          <input id="file" name="file" type="file" accept=".csv,text/csv" required aria-describedby="file-hint" />
          <p id="file-hint" class="hint">{`Up to ${MAX_IMPORT_ROWS.toLocaleString("en")} rows. Next you choose the columns and see the first rows before anything is imported.`}</p>
        </div>
        <button type="submit">Upload</button>
      </form>,
    ),
  )
  .post("/imports", consoleOn, requireOperator, async (c) => {
    if (!/^multipart\/form-data/i.test(c.req.header("content-type") ?? "")) {
      await readConsoleForm(c); // a missing or foreign CSRF token is a 403 before anything else
      throw new AppError(400, "no_file", "Choose a CSV file to upload.");
    }
    const { db, clock, logger } = c.get("deps");
    // The form's CSRF field comes before its file, so it is checked before a byte is staged.
    const jobId = await withUploadedFile(c.req.raw, "file", MAX_IMPORT_BYTES, async (fields, file) => {
      await checkCsrf(c, fields[FORM_TOKEN_FIELD]);
      return stageUpload(db, file, DEFAULT_COURSE_SLUG, c.get("operator").email, clock());
    });
    logger.info("admin_import_uploaded", { jobId, session: c.get("operator").idHash.slice(0, 12) });
    return c.redirect(`/admin/imports/${jobId}`, 303);
  })
  .get("/imports/:id", consoleOn, requireOperator, async (c) => {
    const job = await jobOr404(c);
    if (job.status === "uploaded") return page(c, "Map the columns", <MappingForm job={job} preview={await previewRows(c.get("deps").db, job.id)} csrf={c.get("csrf")} />);
    if (job.status === "running") return page(c, "Importing", <Running job={job} csrf={c.get("csrf")} />, 200, ["/admin/assets/console.js"]);
    return page(c, "Import finished", await Report({ job, db: c.get("deps").db }));
  })
  .post("/imports/:id/start", consoleOn, requireOperator, async (c) => {
    const fields = await readConsoleForm(c);
    const job = await jobOr404(c);
    const parsed = startSchema.safeParse(fields);
    if (!parsed.success) {
      const errors: Record<string, string> = {};
      for (const issue of parsed.error.issues) errors[issue.path[0] === "sourceNote" ? "sourceNote" : "form"] ??= issue.message;
      return page(c, "Map the columns", <MappingForm job={job} preview={await previewRows(c.get("deps").db, job.id)} csrf={c.get("csrf")} errors={errors} />, 400);
    }
    await startJob(c.get("deps").db, job, parsed.data, c.get("deps").clock());
    c.get("deps").logger.info("admin_import_started", { jobId: job.id, mode: parsed.data.mode, session: c.get("operator").idHash.slice(0, 12) });
    return c.redirect(`/admin/imports/${job.id}`, 303);
  })
  .post("/imports/:id/work", consoleOn, requireOperator, async (c) => {
    await readConsoleForm(c);
    const job = await jobOr404(c);
    const progress = await workChunk(c.get("deps"), job.id);
    if ((c.req.header("accept") ?? "").includes("application/json")) return c.json(progress);
    return c.redirect(`/admin/imports/${job.id}`, 303);
  });
