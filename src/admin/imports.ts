import { parse } from "csv-parse/stream";
import { and, asc, eq, gt, inArray, isNotNull, isNull, lt, or, sql } from "drizzle-orm";
import { IANAZone } from "luxon";
import { z } from "zod";
import type { AppDeps } from "../app-env";
import type { Db } from "../db/client";
import { importJobs, importRows, subscribers, suppressions, type ImportMode } from "../db/schema";
import { confirmSubscriber, recordSignup } from "../db/subscribers";
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
const STAGE_CALL = 20;
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
  let queued: ReturnType<typeof stageStatement>[] = [];
  const stageStatement = (rows: typeof batch) => db.insert(importRows).values(rows);
  // Inserts of STAGE_BATCH rows go to the database STAGE_CALL at a time, in one call (db.batch): on
  // the Worker every call is a subrequest, so 100,000 rows cost 10 of them.
  const flush = async (force = false) => {
    if (batch.length > 0) queued.push(stageStatement(batch));
    batch = [];
    if (queued.length >= STAGE_CALL || (force && queued.length > 0)) {
      const [first, ...rest] = queued;
      queued = [];
      await db.batch([first!, ...rest]);
    }
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
    await flush(true);
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

/** IANA zone validity, cached: luxon builds an Intl formatter per check, which dominates a large import. */
const zoneNames = new Map<string, string | null>();
function zoneName(zone: string): string | null {
  let name = zoneNames.get(zone);
  if (name === undefined) {
    name = IANAZone.isValidZone(zone) ? IANAZone.create(zone).name : null;
    if (zoneNames.size < 1000) zoneNames.set(zone, name);
  }
  return name;
}

export type ValidRow = { ok: true; email: string; firstName: string | null; timeZone: string } | { ok: false; reason: string };

/** One row, validated the way the signup form validates (src/lib/email-address.ts, src/lib/first-name.ts). */
export function validateRow(cells: string[], mapping: ColumnMapping): ValidRow {
  const email = emailAddress.safeParse(cells[mapping.email] ?? "");
  if (!email.success) return { ok: false, reason: `Email: ${email.error.issues[0]?.message ?? "not an address"}` };
  const name = firstName.safeParse(mapping.firstName === undefined ? "" : (cells[mapping.firstName] ?? ""));
  if (!name.success) return { ok: false, reason: `First name: ${name.error.issues[0]?.message ?? "not a name"}` };
  const zone = mapping.timeZone === undefined ? "" : (cells[mapping.timeZone] ?? "").trim();
  const resolved = zone === "" ? "UTC" : zoneName(zone);
  if (resolved === null) return { ok: false, reason: `Time zone: "${zone.slice(0, 60)}" is not an IANA time zone, like Europe/Berlin.` };
  return { ok: true, email: email.data, firstName: name.data ?? null, timeZone: resolved };
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
    const decided = await importChunk(deps, leased, rows);
    await tally(db, jobId, decided, rows.length < chunkSize(deps), now);
  }
  const job = await findJob(db, jobId);
  if (!job) throw new AppError(404, "not_found", "There is no such import.");
  return { status: job.status, done: job.done, total: job.total };
}

/**
 * Adds a chunk's outcomes to the job's counters (the lease makes this request the only writer),
 * ends the job when no row is left, and frees the lease. Counting per chunk keeps a large import
 * linear: recounting all rows after every chunk would not be.
 */
async function tally(db: Db, jobId: string, decided: Decided[], finished: boolean, now: number): Promise<void> {
  const n = (o: RowOutcome) => decided.filter((d) => d.outcome === o).length;
  await db
    .update(importJobs)
    .set({
      imported: sql`${importJobs.imported} + ${n("imported")}`,
      existing: sql`${importJobs.existing} + ${n("existing")}`,
      suppressed: sql`${importJobs.suppressed} + ${n("suppressed")}`,
      rejected: sql`${importJobs.rejected} + ${n("rejected")}`,
      done: sql`${importJobs.done} + ${decided.length}`,
      leaseUntil: null,
      updatedAt: now,
      ...(finished && { status: "done" as const }),
    })
    .where(eq(importJobs.id, jobId));
}

interface Decided {
  rowNumber: number;
  outcome: RowOutcome;
  reason?: string;
  subscriberId?: string;
  email?: OutgoingEmail;
}

/** What is already known about a chunk's addresses: existing subscribers' statuses, suppressed hashes. */
interface Known {
  status: Map<string, string>;
  suppressed: Map<string, string>;
  hashes: Map<string, string>;
}

async function lookUp(deps: AppDeps, rows: ValidRow[]): Promise<Known> {
  const emails = [...new Set(rows.flatMap((r) => (r.ok ? [r.email] : [])))];
  const hashes = new Map(await Promise.all(emails.map(async (e) => [e, await keyedHash(deps.config.appSecret, e)] as const)));
  if (emails.length === 0) return { status: new Map(), suppressed: new Map(), hashes };
  const [people, blocked] = await Promise.all([
    deps.db.select({ email: subscribers.email, status: subscribers.status }).from(subscribers).where(inArray(subscribers.email, emails)),
    deps.db.select({ hash: suppressions.emailHash, reason: suppressions.reason }).from(suppressions).where(inArray(suppressions.emailHash, [...hashes.values()])),
  ]);
  return { status: new Map(people.map((p) => [p.email, p.status])), suppressed: new Map(blocked.map((b) => [b.hash, b.reason])), hashes };
}

/**
 * Decides and applies each row of a chunk (two lookups for the whole chunk, then the lifecycle's
 * own steps for each new person), sends the chunk's confirmation emails as one batch, and records
 * the rows' outcomes in one transaction.
 */
async function importChunk(deps: AppDeps, job: ImportJob, rows: { rowNumber: number; cells: string }[]): Promise<Decided[]> {
  const mapping = JSON.parse(job.mapping ?? "{}") as ColumnMapping;
  const valid = rows.map((row) => validateRow(JSON.parse(row.cells) as string[], mapping));
  const known = await lookUp(deps, valid);
  // Rows are independent (a repeated address is caught by `known` before any await), so a chunk's
  // steps overlap: on a remote database each is a round trip.
  const decided = await Promise.all(rows.map((row, i) => importRow(deps, job, row.rowNumber, valid[i]!, known)));
  const emails = decided.filter((d) => d.email);
  if (emails.length > 0) {
    // The key names the chunk: a retried request cannot mail these people twice (Resend keeps keys 24 h).
    const result = await deps.mailer.sendBatch(emails.map((d) => d.email!), { idempotencyKey: `import-${job.id}-${emails[0]!.rowNumber}` });
    if (!result.ok) {
      deps.logger.warn("import_confirmations_failed", { jobId: job.id, status: result.error.status, kind: result.error.kind });
      for (const d of emails) d.reason = "Added, but the confirmation email could not be sent: they can sign up again on the site.";
    }
  }
  const updates = decided.map((d) =>
    deps.db
      .update(importRows)
      .set({ outcome: d.outcome, reason: d.reason ?? null, subscriberId: d.subscriberId ?? null })
      .where(and(eq(importRows.jobId, job.id), eq(importRows.rowNumber, d.rowNumber), isNull(importRows.outcome))),
  );
  const [first, ...rest] = updates;
  if (first) await deps.db.batch([first, ...rest]);
  return decided;
}

const STOPPED: Record<string, string> = { unsubscribed: "They unsubscribed.", bounced: "Their mail bounced.", complained: "They reported spam." };

async function importRow(deps: AppDeps, job: ImportJob, rowNumber: number, row: ValidRow, known: Known): Promise<Decided> {
  const { db, config, clock } = deps;
  if (!row.ok) return { rowNumber, outcome: "rejected", reason: row.reason };
  const status = known.status.get(row.email);
  // Someone who unsubscribed (or whose mail bounced) is on the list but must not be re-added.
  if (status) return STOPPED[status] ? { rowNumber, outcome: "suppressed", reason: STOPPED[status] } : { rowNumber, outcome: "existing" };
  const hash = known.hashes.get(row.email)!;
  const suppressed = known.suppressed.get(hash);
  if (suppressed) return { rowNumber, outcome: "suppressed", reason: suppressed === "deleted" ? "Asked for their data to be deleted." : `Suppressed (${suppressed}).` };
  // The same address twice in one chunk: the second finds the first (set before the first await).
  known.status.set(row.email, "pending");
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
