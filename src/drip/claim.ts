import { lessonOf } from "../course";
import { advanceEnrollments, claimDue, finishUnsendable, upsertDeliveries, type ClaimedRow, type Delivery } from "../db/drip-queries";
import { newTimeOrderedId } from "../lib/ids";
import { MAX_BATCH } from "../mail/mailer";
import { compose } from "./compose";
import { call, lease, newBatchId, type Batch, type Pass, type Pending } from "./pass";
import { advanceFrom } from "./record";

/**
 * The claim step of a pass: due enrollments leased to it, their delivery rows written, lessons
 * found already sent advanced, and the rest composed into new batches of up to 100.
 */

const SENT_STATUSES = new Set<Delivery["status"]>(["sent", "delivered", "delivery_delayed", "opened", "clicked", "bounced", "complained"]);
const UNCERTAIN_STATUSES = new Set<Delivery["status"]>(["sending", "retrying"]);
/** With the provider in a batch whose answer is not recorded: only that batch may send it. */
const inBatch = (d: Delivery) => d.batchId !== null && UNCERTAIN_STATUSES.has(d.status);

/**
 * Claims up to `room` due rows and gets them ready to send: delivery rows written, lessons found
 * already sent advanced, emails composed into new batches. Returns null when nothing is due.
 */
export async function claimAndCompose(pass: Pass, room: number): Promise<Batch[] | null> {
  const now = pass.clock();
  const taken = await call(pass, claimDue(pass.db, lease(pass), now, room, pass.course.slug));
  if (taken.length === 0) return null;
  pass.report.claimed += taken.length;
  const claimed = await setAsideUnsendable(pass, taken, now);
  const pending = await withDeliveries(pass, claimed, now);
  await advanceRecovered(pass, pending.filter((p) => SENT_STATUSES.has(p.delivery.status)), now);
  const toSend = pending.filter((p) => !SENT_STATUSES.has(p.delivery.status) && !inBatch(p.delivery));
  // Anything else claimed (in a batch still waiting for its answer, or a subscriber deleted since
  // the claim) stays leased to the end of the pass rather than being claimed again and again.
  const used = new Set([...pending.filter((p) => SENT_STATUSES.has(p.delivery.status)), ...toSend].map((p) => p.row.subscriberId));
  pass.heldUntilEnd.push(...claimed.filter((row) => !used.has(row.subscriberId)).map((row) => row.subscriberId));
  const composed = compose(pass, toSend);
  const batches: Batch[] = [];
  for (let i = 0; i < composed.length; i += MAX_BATCH) batches.push({ id: newBatchId(pass.course.slug), resumed: false, attempts: 0, members: composed.slice(i, i + MAX_BATCH) });
  return batches;
}

/** Each claimed row with its delivery row (written if new); a subscriber deleted since the claim has none and is left out. */
async function withDeliveries(pass: Pass, claimed: ClaimedRow[], now: number): Promise<Pending[]> {
  const found = await call(pass, upsertDeliveries(pass.db, claimed, newTimeOrderedId, now, pass.course.slug));
  const byKey = new Map(found.map((d) => [`${d.subscriberId}:${d.run}:${d.lessonNumber}`, d]));
  return claimed.flatMap((row) => {
    const delivery = byKey.get(`${row.subscriberId}:${row.run}:${row.lessonNumber}`);
    return delivery ? [{ row, delivery }] : [];
  });
}

/** Recorded as sent before a pass died: move on without sending again. */
async function advanceRecovered(pass: Pass, recovered: Pending[], now: number) {
  if (recovered.length === 0) return;
  const schedules = new Map();
  await call(pass, advanceEnrollments(pass.db, pass.passId, recovered.map((p) => advanceFrom(pass, p.row, p.delivery.sentAt ?? now, schedules)), now, pass.course.slug));
  pass.report.recovered += recovered.length;
}

/**
 * Takes out of a claim the rows that cannot be sent, so that they leave the due set in this pass:
 * an enrollment past the last lesson is finished (the lifecycle's "unsendable" step); a row this
 * pass claimed before (which should never happen) is held to the end of the pass. Logged with a
 * reason and counts, never personal data.
 */
async function setAsideUnsendable(pass: Pass, taken: ClaimedRow[], now: number): Promise<ClaimedRow[]> {
  const { course, passId, logger, heldUntilEnd } = pass;
  const again = taken.filter((row) => pass.claimedEver.has(row.subscriberId));
  for (const row of taken) pass.claimedEver.add(row.subscriberId);
  const noLesson = taken.filter((row) => !again.includes(row) && lessonOf(course, row.lessonNumber) === undefined);
  if (noLesson.length > 0) {
    await call(pass, finishUnsendable(pass.db, passId, noLesson.map((row) => row.subscriberId), course.lessons.length, now, course.slug));
    // Anything else without a lesson (a number below 1) cannot be fixed here: hold it.
    heldUntilEnd.push(...noLesson.filter((row) => row.lessonNumber <= course.lessons.length).map((row) => row.subscriberId));
    logger.warn("dispatch_unsendable", { passId, rows: noLesson.length, reason: "no_such_lesson" });
  }
  if (again.length > 0) {
    heldUntilEnd.push(...again.map((row) => row.subscriberId));
    logger.error("dispatch_claimed_twice", { passId, rows: again.length });
  }
  pass.report.unsendable += noLesson.length + again.length;
  return taken.filter((row) => !again.includes(row) && !noLesson.includes(row));
}
