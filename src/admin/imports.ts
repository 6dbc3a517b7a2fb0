import { parse } from "csv-parse/stream";
import { and, asc, count, eq, gt, isNotNull, isNull, lt, or } from "drizzle-orm";
import { IANAZone } from "luxon";
import { z } from "zod";
import type { AppDeps } from "../app-env";
import type { Db } from "../db/client";
import { importJobs, importRows, type ImportMode } from "../db/schema";
import { confirmSubscriber, findSubscriberByEmail, isSuppressed, recordSignup } from "../db/subscribers";
import { emailAddress } from "../lib/email-address";
import { AppError } from "../lib/errors";
import { firstName } from "../lib/first-name";
import { keyedHash } from "../lib/hash";
import { newId } from "../lib/ids";
import { signedConfirmUrl } from "../lib/links";
import { composeConfirmation } from "../mail/compose";
import type { OutgoingEmail } from "../mail/mailer";

/**
 * CSV import: an upload is parsed (csv-parse, streamed) into staging rows; the operator maps the
 * columns; then the rows are worked through in small chunks, each chunk one request (the page's
 * script asks for the next one), so a Worker never holds more than a chunk's work and a reload
 * carries on from the stored progress. A row is validated like a signup. A new address becomes a
 * pending subscriber with a confirmation email (mode "confirm": they join only by clicking it), or,
 * when the operator states that they opted in elsewhere (mode "consented", with a required note),
 * a confirmed one. Existing, suppressed and deleted addresses are skipped and counted, so importing
 * the same file again changes nothing.
 */

/** Rows in one upload; beyond this, split the file (keeps one upload's staging bounded). */
export const MAX_IMPORT_ROWS = 200_000;
/** Upload size the console accepts (the app's default body limit is 64 KB). */
export const MAX_IMPORT_BYTES = 20 * 1024 * 1024;
const STAGE_BATCH = 500;
/** A chunk's lease: long enough for one chunk, short enough that a crashed request is soon taken over. */
const LEASE_MS = 60_000;

export type RowOutcome = "imported" | "existing" | "suppressed" | "rejected";

/**
 * Parses an uploaded CSV and stages its rows; returns the new job's id. The first record is the
 * header row. Throws a 400 AppError naming the line for a file csv-parse cannot read.
 */
export async function stageUpload(db: Db, file: ReadableStream<Uint8Array>, courseSlug: string, operatorEmail: string, now: number): Promise<string> {
  const jobId = newId();
  const records = file.pipeThrough(parse({ bom: true, relax_column_count: true, skip_empty_lines: true, trim: true, max_record_size: 64 * 1024 }));
  const reader = records.getReader();
  let headers: string[] | undefined;
  let batch: { jobId: string; rowNumber: number; cells: string }[] = [];
  let total = 0;
  const flush = async () => {
    if (batch.length > 0) await db.insert(importRows).values(batch);
    batch = [];
  };
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      const cells = (value as string[]).map(String);
      if (!headers) {
        headers = cells;
        await db.insert(importJobs).values({ id: jobId, courseSlug, operatorEmail, createdAt: now, headers: JSON.stringify(headers), updatedAt: now });
        continue;
      }
      if (++total > MAX_IMPORT_ROWS) throw new AppError(400, "too_many_rows", `A file may hold at most ${MAX_IMPORT_ROWS.toLocaleString("en")} rows. Please split it.`);
      batch.push({ jobId, rowNumber: total, cells: JSON.stringify(cells) });
      if (batch.length >= STAGE_BATCH) await flush();
    }
    await flush();
  } catch (error) {
    await db.delete(importJobs).where(eq(importJobs.id, jobId));
    await db.delete(importRows).where(eq(importRows.jobId, jobId));
    if (error instanceof AppError) throw error;
    const message = error instanceof Error ? error.message.replace(/[^\x20-\x7e]/g, "").slice(0, 200) : "unreadable";
    throw new AppError(400, "invalid_csv", `That file is not a CSV we can read (${message}).`);
  }
  if (!headers) throw new AppError(400, "empty_csv", "That file is empty: it needs a header row and at least one row.");
  await db.update(importJobs).set({ total }).where(eq(importJobs.id, jobId));
  return jobId;
}

export type ImportJob = typeof importJobs.$inferSelect;

export async function findJob(db: Db, jobId: string): Promise<ImportJob | undefined> {
  return db.query.importJobs.findFirst({ where: eq(importJobs.id, jobId) });
}

/** The first `limit` staged rows, for the preview. */
export async function previewRows(db: Db, jobId: string, limit = 5): Promise<string[][]> {
  const rows = await db.select({ cells: importRows.cells }).from(importRows).where(eq(importRows.jobId, jobId)).orderBy(asc(importRows.rowNumber)).limit(limit);
  return rows.map((row) => JSON.parse(row.cells) as string[]);
}

/** Which column holds what: indexes into a row's cells. */
export interface ColumnMapping {
  email: number;
  firstName?: number;
  timeZone?: number;
}

/** The operator's choices on the mapping form. */
export const startSchema = z
  .object({
    email: z.coerce.number({ error: "Choose the column that holds the email address." }).int().min(0),
    firstName: z.union([z.literal("").transform(() => undefined), z.coerce.number().int().min(0)]).optional(),
    timeZone: z.union([z.literal("").transform(() => undefined), z.coerce.number().int().min(0)]).optional(),
    mode: z.enum(["confirm", "consented"], { error: "Choose how these people join." }),
    sourceNote: z.string().trim().max(500, "Keep the note under 500 characters.").optional(),
  })
  .refine((v) => v.mode !== "consented" || (v.sourceNote ?? "").length >= 3, {
    message: "Say where these people opted in (for example: “newsletter signup form on example.com, 2025”). It is kept as their consent record.",
    path: ["sourceNote"],
  });

/** Starts the work on a staged job: its mapping, mode and (for "consented") the consent note. */
export async function startJob(db: Db, job: ImportJob, choice: z.infer<typeof startSchema>, now: number): Promise<void> {
  const width = (JSON.parse(job.headers) as string[]).length;
  const columns = [choice.email, choice.firstName, choice.timeZone].filter((i): i is number => i !== undefined);
  if (columns.some((i) => i >= width)) throw new AppError(400, "bad_mapping", "That column is not in the file.");
  const mapping: ColumnMapping = { email: choice.email, firstName: choice.firstName, timeZone: choice.timeZone };
  await db
    .update(importJobs)
    .set({ mapping: JSON.stringify(mapping), mode: choice.mode, sourceNote: choice.mode === "consented" ? choice.sourceNote : null, status: "running", updatedAt: now })
    .where(and(eq(importJobs.id, job.id), eq(importJobs.status, "uploaded")));
}

export type ValidRow = { ok: true; email: string; firstName: string | null; timeZone: string } | { ok: false; reason: string };

/** One row, validated the way the signup form validates (src/lib/email-address.ts, src/lib/first-name.ts). */
export function validateRow(cells: string[], mapping: ColumnMapping): ValidRow {
  const email = emailAddress.safeParse(cells[mapping.email] ?? "");
  if (!email.success) return { ok: false, reason: `Email: ${email.error.issues[0]?.message ?? "not an address"}` };
  const name = firstName.safeParse(mapping.firstName === undefined ? "" : (cells[mapping.firstName] ?? ""));
  if (!name.success) return { ok: false, reason: `First name: ${name.error.issues[0]?.message ?? "not a name"}` };
  const zone = mapping.timeZone === undefined ? "" : (cells[mapping.timeZone] ?? "").trim();
  if (zone !== "" && !IANAZone.isValidZone(zone)) return { ok: false, reason: `Time zone: "${zone.slice(0, 60)}" is not an IANA time zone, like Europe/Berlin.` };
  return { ok: true, email: email.data, firstName: name.data ?? null, timeZone: zone === "" ? "UTC" : IANAZone.create(zone).name };
}

export interface Progress {
  status: "uploaded" | "running" | "done";
  done: number;
  total: number;
}

/** Rows per chunk: fewer where each database statement is a subrequest with a budget (the Worker). */
export function chunkSize(deps: AppDeps): number {
  const perRow = 8;
  return Math.max(1, Math.min(100, Math.floor(deps.config.dispatchBudget.maxSubrequests / perRow)));
}

/**
 * Works the next chunk of a running job, if no other request holds it, and returns the progress.
 * Safe to call from several tabs at once: the lease lets one work, the others just report.
 */
export async function workChunk(deps: AppDeps, jobId: string): Promise<Progress> {
  const { db, clock } = deps;
  const now = clock();
  const [leased] = await db
    .update(importJobs)
    .set({ leaseUntil: now + LEASE_MS })
    .where(and(eq(importJobs.id, jobId), eq(importJobs.status, "running"), or(isNull(importJobs.leaseUntil), lt(importJobs.leaseUntil, now))))
    .returning();
  if (leased) {
    const rows = await db
      .select({ rowNumber: importRows.rowNumber, cells: importRows.cells })
      .from(importRows)
      .where(and(eq(importRows.jobId, jobId), isNull(importRows.outcome)))
      .orderBy(asc(importRows.rowNumber))
      .limit(chunkSize(deps));
    await importChunk(deps, leased, rows);
    await tally(db, jobId, rows.length === 0, now);
  }
  const job = await findJob(db, jobId);
  if (!job) throw new AppError(404, "not_found", "There is no such import.");
  return { status: job.status, done: job.done, total: job.total };
}

/** Recounts a job's outcomes from its rows (indexed), ends it when nothing is left, and frees the lease. */
async function tally(db: Db, jobId: string, finished: boolean, now: number): Promise<void> {
  const counts = await db.select({ outcome: importRows.outcome, n: count() }).from(importRows).where(eq(importRows.jobId, jobId)).groupBy(importRows.outcome);
  const of = (o: RowOutcome) => counts.find((c) => c.outcome === o)?.n ?? 0;
  const left = counts.find((c) => c.outcome === null)?.n ?? 0;
  const [imported, existing, suppressed, rejected] = [of("imported"), of("existing"), of("suppressed"), of("rejected")];
  await db
    .update(importJobs)
    .set({ imported, existing, suppressed, rejected, done: imported + existing + suppressed + rejected, leaseUntil: null, updatedAt: now, ...((finished || left === 0) && { status: "done" as const }) })
    .where(eq(importJobs.id, jobId));
}

interface Decided {
  rowNumber: number;
  outcome: RowOutcome;
  reason?: string;
  subscriberId?: string;
  email?: OutgoingEmail;
}

/** Decides and applies each row of a chunk, then sends the chunk's confirmation emails as one batch. */
async function importChunk(deps: AppDeps, job: ImportJob, rows: { rowNumber: number; cells: string }[]): Promise<void> {
  const mapping = JSON.parse(job.mapping ?? "{}") as ColumnMapping;
  const decided: Decided[] = [];
  for (const row of rows) decided.push(await importRow(deps, job, row.rowNumber, validateRow(JSON.parse(row.cells) as string[], mapping)));
  const emails = decided.filter((d) => d.email);
  if (emails.length > 0) {
    // The key names the chunk: a retried request cannot mail these people twice (Resend keeps keys 24 h).
    const result = await deps.mailer.sendBatch(emails.map((d) => d.email!), { idempotencyKey: `import-${job.id}-${emails[0]!.rowNumber}` });
    if (!result.ok) {
      deps.logger.warn("import_confirmations_failed", { jobId: job.id, status: result.error.status, kind: result.error.kind });
      for (const d of emails) d.reason = "Added, but the confirmation email could not be sent: they can sign up again on the site.";
    }
  }
  for (const d of decided) {
    await deps.db
      .update(importRows)
      .set({ outcome: d.outcome, reason: d.reason ?? null, subscriberId: d.subscriberId ?? null })
      .where(and(eq(importRows.jobId, job.id), eq(importRows.rowNumber, d.rowNumber), isNull(importRows.outcome)));
  }
}

async function importRow(deps: AppDeps, job: ImportJob, rowNumber: number, row: ValidRow): Promise<Decided> {
  const { db, config, clock } = deps;
  if (!row.ok) return { rowNumber, outcome: "rejected", reason: row.reason };
  const existing = await findSubscriberByEmail(db, row.email);
  if (existing) {
    // Someone who unsubscribed (or whose mail bounced) is on the list but must not be re-added.
    const stopped = existing.status === "unsubscribed" || existing.status === "bounced" || existing.status === "complained";
    return stopped ? { rowNumber, outcome: "suppressed", reason: `They ${existing.status === "complained" ? "reported spam" : existing.status}.` } : { rowNumber, outcome: "existing" };
  }
  const hash = await keyedHash(config.appSecret, row.email);
  const suppressed = await isSuppressed(db, hash);
  if (suppressed) return { rowNumber, outcome: "suppressed", reason: suppressed === "deleted" ? "Asked for their data to be deleted." : `Suppressed (${suppressed}).` };
  const now = clock();
  const subscriber = await recordSignup(db, { email: row.email, firstName: row.firstName, timeZone: row.timeZone }, now);
  if (!subscriber || subscriber.createdAt !== now) return { rowNumber, outcome: "existing" };
  if ((job.mode as ImportMode) === "consented") {
    await confirmSubscriber(db, subscriber.id, subscriber.confirmationNonce, hash, now, { sendHour: config.sendHour });
    return { rowNumber, outcome: "imported", subscriberId: subscriber.id };
  }
  // The signup's own confirmation: the same email and link, so they join only by clicking it.
  const details = { firstName: row.firstName, timeZone: row.timeZone };
  const url = await signedConfirmUrl(config.appUrl, config.appSecret, subscriber.id, subscriber.confirmationNonce, now, details);
  const email = await composeConfirmation(config, { email: subscriber.email, firstName: row.firstName }, url);
  return { rowNumber, outcome: "imported", subscriberId: subscriber.id, email };
}

/** Every row with a reason (rejected, suppressed, or added without its email), in file order; a page of them. */
export async function reportRows(db: Db, jobId: string, limit = 1000, afterRow = 0) {
  return db
    .select({ rowNumber: importRows.rowNumber, outcome: importRows.outcome, reason: importRows.reason, cells: importRows.cells })
    .from(importRows)
    .where(and(eq(importRows.jobId, jobId), isNotNull(importRows.reason), gt(importRows.rowNumber, afterRow)))
    .orderBy(asc(importRows.rowNumber))
    .limit(limit);
}
