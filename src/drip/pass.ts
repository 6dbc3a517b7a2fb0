import type { AppDeps } from "../app-env";
import { type Course, courseShape, coursesOf } from "../course";
import { releaseLeasesStatement, type ClaimedRow, type Delivery, type Lease } from "../db/drip-queries";
import { keyedHash } from "../lib/hash";
import { newId, newTimeOrderedId } from "../lib/ids";
import { MAX_BATCH, type OutgoingEmail } from "../mail/mailer";
import { ClaimedSet } from "./claimed-set";
import type { DispatchBudget, DispatchOptions, DispatchReport, StopReason } from "./dispatch";

/**
 * The state of one dispatcher pass (src/drip/dispatch.ts), given explicitly to each of its steps
 * (claim.ts, compose.ts, send.ts, record.ts, resume.ts), with the budget arithmetic they share.
 */

const DEFAULT_LEASE_MS = 5 * 60 * 1000;
const DEFAULT_MAX_ATTEMPTS = 8;
/**
 * The most calls preparing a claim can take (claim, delivery rows, advance recovered, finish
 * unsendable), sending one batch (mark, drop two, send, record, failures of refused emails two),
 * and resuming one (claim it, read its members).
 */
export const PREPARE_CALLS = 4;
export const SEND_CALLS = 7;
export const RESUME_CALLS = 2 + SEND_CALLS;

/** Exponential backoff: 1, 2, 4 … minutes, capped at an hour. */
export function backoffMs(attempts: number): number {
  return Math.min(60 * 60 * 1000, 60 * 1000 * 2 ** Math.max(0, attempts - 1));
}

/** A new batch's id, which is its idempotency key: unique (a UUIDv7), so a retired key is never reused. */
export function newBatchId(course: string): string {
  return `lessons-${course}-${newTimeOrderedId()}`;
}

/** A claimed enrollment and its delivery row. */
export interface Pending {
  row: ClaimedRow;
  delivery: Delivery;
}

export interface Composed extends Pending {
  email: OutgoingEmail;
}

/** A batch ready to go: its row's id (the key), whether it went out before, and its members. */
export interface Batch {
  id: string;
  /** Resent from its row (its outcome was unknown): members are not leased by this pass. */
  resumed: boolean;
  /** Provider calls already made under the key. */
  attempts: number;
  members: Composed[];
}

/** How a step ended: go on, or why the pass must stop. */
export type SendOutcome = "ok" | "rate_limited" | "provider_refused" | "out_of_budget";

export interface Pass extends Pick<AppDeps, "db" | "mailer" | "clock" | "config" | "logger"> {
  readonly course: Course;
  readonly shape: ReturnType<typeof courseShape>;
  readonly budget: DispatchBudget;
  readonly batchSize: number;
  readonly leaseMs: number;
  readonly maxAttempts: number;
  readonly sleep: (ms: number) => Promise<void>;
  /** Real time in ms: leases, the time budget, the key window. */
  readonly wallClock: () => number;
  readonly signal: AbortSignal | undefined;
  readonly passId: string;
  /** Wall time the pass started (ms). */
  readonly started: number;
  readonly report: DispatchReport;
  /** Emails composed for sending so far: what the email budget counts. */
  scheduled: number;
  /** Claimed rows that are neither sent nor to be sent in this pass: released when it ends. */
  readonly heldUntilEnd: string[];
  /** Every subscriber this pass has claimed: a pass never takes the same row twice. As fingerprints outside the V8 heap (claimed-set.ts), so the heap does not grow with the rows a pass claims. */
  readonly claimedEver: ClaimedSet;
  /** Told when a batch's request goes to the provider, so the next batch can start preparing. */
  onProviderCall: () => void;
}

function emptyReport(passId: string): DispatchReport {
  return { passId, claimed: 0, sent: 0, retried: 0, failed: 0, cancelled: 0, recovered: 0, unsendable: 0, resumed: 0, held: 0, calls: 0, durationMs: 0, stoppedBy: "done" };
}

/** A new pass over `options.course` (default: the registry's default course), its budget filled in from the configuration. */
export function createPass(deps: AppDeps, options: DispatchOptions): Pass {
  const { config } = deps;
  const course = options.course ?? coursesOf(deps).defaultCourse;
  const wallClock = options.wallClock ?? Date.now;
  const passId = options.passId ?? newId();
  return {
    db: deps.db,
    mailer: deps.mailer,
    clock: deps.clock,
    config,
    logger: deps.logger,
    course,
    shape: courseShape(course),
    budget: {
      maxEmails: options.budget?.maxEmails ?? config.dispatchBudget.maxEmails,
      maxMs: options.budget?.maxMs ?? config.dispatchBudget.maxMs,
      maxSubrequests: options.budget?.maxSubrequests ?? config.dispatchBudget.maxSubrequests,
    },
    batchSize: Math.min(MAX_BATCH, options.batchSize ?? MAX_BATCH),
    leaseMs: options.leaseMs ?? DEFAULT_LEASE_MS,
    maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    sleep: options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))),
    wallClock,
    signal: options.signal,
    passId,
    started: wallClock(),
    report: emptyReport(passId),
    scheduled: 0,
    heldUntilEnd: [],
    claimedEver: new ClaimedSet(),
    onProviderCall: () => {},
  };
}

/** Every database or provider call goes through here, so the subrequest count is exact. */
export async function call<T>(pass: Pass, work: Promise<T> | (() => Promise<T>)): Promise<T> {
  pass.report.calls++;
  return typeof work === "function" ? work() : work;
}

/** Whether `n` more calls fit, keeping one for the final release of held rows. */
export const fits = (pass: Pass, n: number) => pass.report.calls + n + 1 <= pass.budget.maxSubrequests;

/** Milliseconds of the time budget left (≥ 0). */
export const remainingMs = (pass: Pass) => Math.max(0, pass.budget.maxMs - (pass.wallClock() - pass.started));

/** A lease for rows or a batch taken now, for `leaseMs` of real time. */
export const lease = (pass: Pass): Lease => ({ passId: pass.passId, wallNow: pass.wallClock(), until: pass.wallClock() + pass.leaseMs });

/** Why the pass must stop before a step of up to `calls` calls, or null to go on. */
export function stopReason(pass: Pass, calls: number): StopReason | null {
  if (pass.budget.maxEmails - pass.scheduled <= 0) return "emails";
  if (pass.signal?.aborted) return "aborted";
  if (remainingMs(pass) <= 0) return "time";
  if (!fits(pass, calls)) return "subrequests";
  return null;
}

/** Who holds a batch's members' enrollments: this pass for a new batch; anyone for a resumed one. */
export const holderOf = (pass: Pass, batch: Batch) => (batch.resumed ? null : pass.passId);

export const subscribersOf = (members: Pending[]) => members.map((m) => m.row.subscriberId);

/** `releaseLeases` as one statement of a batch. */
export function releaseStatement(pass: Pass, ids: string[]) {
  return releaseLeasesStatement(pass.db, pass.passId, ids, pass.course.slug);
}

/** What the lifecycle store needs to record a transition of this course at `now`. */
export function storeContext(pass: Pass, now: number) {
  const { config, course } = pass;
  return { now, sendHour: course.sendHour ?? config.sendHour, emailHash: (email: string) => keyedHash(config.appSecret, email), course: pass.shape, courseSlug: course.slug };
}
