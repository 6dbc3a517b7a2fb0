import { and, asc, eq, isNull, lte, or, sql } from "drizzle-orm";
import { Webhook } from "standardwebhooks";
import type { AppDeps } from "../app-env";
import type { Db } from "../db/client";
import { events, webhookAttempts, webhookDeliveries, webhookEndpoints } from "../db/schema";
import { errorFields } from "../lib/logger";
import { newId } from "../lib/ids";
import { ALL_EVENTS, type Endpoint } from "./store";
import { checkEndpointUrl } from "./url";
import { TEST_EVENT_TYPE } from "../events/types";

/**
 * The outbound webhook pass, run by the Node timer and the Worker cron beside the dispatcher.
 * Per endpoint, under a lease (so two passes never work on one endpoint at once):
 *   1. fan out: new events of the endpoint's types become delivery rows (the cursor moves on in the
 *      same transaction);
 *   2. send the oldest pending delivery, then the next, in event order. A failure stops the
 *      endpoint's queue until its retry is due, so a receiver sees each subscriber's events in order.
 * A delivery is retried on timeouts, network errors, 5xx and 429, backing off exponentially (1 min,
 * 2, 4 … capped at 4 hours) for up to 24 hours after its first attempt; another answer (3xx, 4xx)
 * fails it at once. Every attempt is recorded (status, duration, a response excerpt). An endpoint
 * whose deliveries have failed for 24 hours is disabled and flagged.
 *
 * Signed with the `standardwebhooks` library: `webhook-id` (`evt_<event id>`, the same on every
 * retry so receivers can drop duplicates), `webhook-timestamp` (seconds, the wall clock at the
 * attempt) and `webhook-signature`. `clock` (deps) schedules; `wallClock` signs and times requests.
 */

export interface WebhookPassOptions {
  fetch?: typeof fetch;
  /** Real time, for signatures and durations (ms); default Date.now. */
  wallClock?: () => number;
  /** Per request (ms). */
  timeoutMs?: number;
  /** Most deliveries one pass sends (all endpoints). */
  maxDeliveries?: number;
  leaseMs?: number;
  /**
   * Outbound calls (database and HTTP) this pass may make; Workers count them as subrequests.
   * The pass starts nothing it could not finish within it. Default: no limit.
   */
  maxSubrequests?: number;
}

export interface WebhookPassReport {
  endpoints: number;
  succeeded: number;
  retrying: number;
  failed: number;
  disabled: number;
  /** Outbound calls made (database and HTTP). */
  calls: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** Outbound calls: claiming endpoints; per endpoint (fan-out, release); per delivery (next, event, POST, record, settle a failure). */
const CLAIM_CALLS = 1;
const ENDPOINT_CALLS = 2;
const DELIVERY_CALLS = 5;
const FAN_OUT_LIMIT = 500;
const EXCERPT_CHARS = 200;

export function retryDelayMs(attempts: number): number {
  return Math.min(60_000 * 2 ** Math.max(0, attempts - 1), 4 * 60 * 60 * 1000);
}

export async function runWebhookDeliveries(deps: Pick<AppDeps, "db" | "clock" | "config" | "logger">, options: WebhookPassOptions = {}): Promise<WebhookPassReport> {
  const report: WebhookPassReport = { endpoints: 0, succeeded: 0, retrying: 0, failed: 0, disabled: 0, calls: 0 };
  const maxCalls = options.maxSubrequests ?? Number.POSITIVE_INFINITY;
  if (maxCalls < CLAIM_CALLS + ENDPOINT_CALLS + DELIVERY_CALLS) return report;
  const leaseId = newId();
  report.calls++;
  const claimed = await claimEndpoints(deps.db, leaseId, deps.clock(), options.leaseMs ?? 5 * 60_000);
  let budget = options.maxDeliveries ?? 500;
  for (const endpoint of claimed) {
    report.endpoints++;
    try {
      report.calls += 2; // the fan-out now, the lease release in `finally`
      await fanOut(deps.db, endpoint, deps.clock());
      // Deliveries that still fit, keeping room for the other endpoints' release.
      const fit = Math.floor((maxCalls - report.calls - (claimed.length - report.endpoints)) / DELIVERY_CALLS);
      budget = await drain(deps, endpoint, options, report, Math.min(budget, fit));
    } catch (error) {
      deps.logger.error("webhook_pass_failed", { endpointId: endpoint.id, ...errorFields(error) });
    } finally {
      await deps.db.update(webhookEndpoints).set({ leaseId: null, leaseUntil: null }).where(eq(webhookEndpoints.leaseId, leaseId));
    }
  }
  return report;
}

async function claimEndpoints(db: Db, leaseId: string, now: number, leaseMs: number): Promise<Endpoint[]> {
  return db
    .update(webhookEndpoints)
    .set({ leaseId, leaseUntil: now + leaseMs })
    .where(and(isNull(webhookEndpoints.disabledAt), or(isNull(webhookEndpoints.leaseUntil), lte(webhookEndpoints.leaseUntil, now))))
    .returning();
}

/** New events of the endpoint's types become its pending deliveries; the cursor moves in the same batch. */
async function fanOut(db: Db, endpoint: Endpoint, now: number): Promise<void> {
  const window = sql`select id from events where id > ${endpoint.cursor} order by id limit ${FAN_OUT_LIMIT}`;
  const wanted = sql`(exists (select 1 from json_each(${endpoint.eventTypes}) where value = ${ALL_EVENTS}) or e.type in (select value from json_each(${endpoint.eventTypes})))`;
  await db.batch([
    db.run(sql`insert into webhook_deliveries (id, endpoint_id, event_id, status, attempts, next_attempt_at, created_at, updated_at)
      select lower(hex(randomblob(16))), ${endpoint.id}, e.id, 'pending', 0, 0, ${now}, ${now}
      from events e where e.id in (${window}) and ${wanted}
      on conflict (endpoint_id, event_id) do nothing`),
    db.run(sql`update webhook_endpoints set cursor = coalesce((select max(id) from (${window})), cursor)
      where id = ${endpoint.id} and cursor = ${endpoint.cursor}`),
  ]);
}

type Delivery = typeof webhookDeliveries.$inferSelect;

/** Sends the endpoint's due deliveries in event order until one fails or the budget runs out. */
async function drain(deps: Pick<AppDeps, "db" | "clock" | "config" | "logger">, endpoint: Endpoint, options: WebhookPassOptions, report: WebhookPassReport, budget: number) {
  const { db } = deps;
  while (budget > 0) {
    report.calls++;
    const [next] = await db
      .select()
      .from(webhookDeliveries)
      .where(and(eq(webhookDeliveries.endpointId, endpoint.id), eq(webhookDeliveries.status, "pending")))
      .orderBy(asc(webhookDeliveries.eventId))
      .limit(1);
    if (!next || next.nextAttemptAt > deps.clock()) return budget;
    budget--;
    report.calls += 3;
    const event = await db.query.events.findFirst({ where: eq(events.id, next.eventId) });
    const result = event ? await attempt(deps, endpoint, eventMessage(event), options) : ({ ok: true, status: null, durationMs: 0, excerpt: "event gone" } as AttemptResult);
    await recordAttempt(db, endpoint, next, result, deps.clock());
    if (result.ok) {
      report.succeeded++;
      continue;
    }
    report.calls++;
    const outcome = await settleFailure(deps, endpoint, next, result);
    report[outcome]++;
    return budget;
  }
  return budget;
}

export interface WebhookMessage {
  id: string;
  body: string;
}

/** The JSON body receivers get: no personal data, only ids, the course and the lesson. */
export function eventMessage(event: typeof events.$inferSelect): WebhookMessage {
  const body = {
    id: `evt_${event.id}`,
    type: event.type,
    createdAt: new Date(event.createdAt).toISOString(),
    data: { subscriberId: event.subscriberId, course: event.courseSlug, lesson: event.lesson, ...(JSON.parse(event.payload) as object) },
  };
  return { id: body.id, body: JSON.stringify(body) };
}

export interface AttemptResult {
  ok: boolean;
  /** HTTP status; null for a timeout or network error. */
  status: number | null;
  durationMs: number;
  excerpt: string | null;
  /** Whether trying again may help (timeout, network, 5xx, 429). */
  retryable?: boolean;
}

/** One signed POST. Never throws. Redirects are not followed (an allowed URL cannot point inward). */
export async function attempt(deps: Pick<AppDeps, "config">, endpoint: Pick<Endpoint, "url" | "secret">, message: WebhookMessage, options: WebhookPassOptions): Promise<AttemptResult> {
  const wallClock = options.wallClock ?? Date.now;
  const check = checkEndpointUrl(endpoint.url, { production: deps.config.production });
  if (!check.ok) return { ok: false, status: null, durationMs: 0, excerpt: check.reason, retryable: false };
  const at = wallClock();
  const signature = new Webhook(endpoint.secret).sign(message.id, new Date(at), message.body);
  const started = wallClock();
  try {
    const response = await (options.fetch ?? fetch)(check.url, {
      method: "POST",
      redirect: "manual",
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      headers: {
        "content-type": "application/json",
        "user-agent": "course-webhooks/1",
        "webhook-id": message.id,
        "webhook-timestamp": String(Math.floor(at / 1000)),
        "webhook-signature": signature,
      },
      body: message.body,
    });
    const excerpt = (await response.text().catch(() => "")).slice(0, EXCERPT_CHARS);
    const ok = response.status >= 200 && response.status < 300;
    return { ok, status: response.status, durationMs: wallClock() - started, excerpt, retryable: response.status >= 500 || response.status === 429 };
  } catch (error) {
    const name = error instanceof Error ? error.name : "Error";
    return { ok: false, status: null, durationMs: wallClock() - started, excerpt: name === "TimeoutError" ? "timeout" : `network error (${name})`, retryable: true };
  }
}

/** What "Send test event" answers: the receiver's status (null on timeout or network error), ms, excerpt. */
export interface TestEventResult {
  ok: boolean;
  responseStatus: number | null;
  durationMs: number;
  excerpt: string | null;
}

/**
 * Sends one signed `webhook.test` event (TEST_EVENT_TYPE) to `endpoint` at once, for the API's
 * test route and the console's "Send test event". Not stored as an event, not retried, no attempt
 * row. The body: `{ id: "evt_test_…", type, createdAt: ISO UTC from deps.clock, data: {} }`.
 */
export async function sendTestEvent(deps: Pick<AppDeps, "config" | "clock">, endpoint: Pick<Endpoint, "url" | "secret">, options: WebhookPassOptions = {}): Promise<TestEventResult> {
  const id = `evt_test_${newId().replace(/-/g, "")}`;
  const body = JSON.stringify({ id, type: TEST_EVENT_TYPE, createdAt: new Date(deps.clock()).toISOString(), data: {} });
  const result = await attempt(deps, endpoint, { id, body }, options);
  return { ok: result.ok, responseStatus: result.status, durationMs: Math.round(result.durationMs), excerpt: result.excerpt };
}

async function recordAttempt(db: Db, endpoint: Endpoint, delivery: Delivery, result: AttemptResult, now: number) {
  const statements = [
    db.insert(webhookAttempts).values({
      id: newId(),
      deliveryId: delivery.id,
      endpointId: endpoint.id,
      attemptedAt: now,
      responseStatus: result.status,
      durationMs: Math.max(0, Math.round(result.durationMs)),
      excerpt: result.excerpt,
    }),
  ] as const;
  if (!result.ok) return db.batch([...statements]);
  return db.batch([
    ...statements,
    db.update(webhookDeliveries).set({ status: "succeeded", attempts: delivery.attempts + 1, updatedAt: now }).where(eq(webhookDeliveries.id, delivery.id)),
    db.update(webhookEndpoints).set({ failingSince: null }).where(eq(webhookEndpoints.id, endpoint.id)),
  ]);
}

/** Schedules the retry (or fails the delivery), and disables an endpoint failing for a day. */
async function settleFailure(deps: Pick<AppDeps, "db" | "clock" | "logger">, endpoint: Endpoint, delivery: Delivery, result: AttemptResult): Promise<"retrying" | "failed" | "disabled"> {
  const { db } = deps;
  const now = deps.clock();
  const attempts = delivery.attempts + 1;
  // The 24 hours run from when the event was fanned out to the endpoint (`createdAt`); the last
  // retry is at their end.
  const deadline = delivery.createdAt + DAY_MS;
  const nextAt = Math.min(now + retryDelayMs(attempts), deadline);
  const giveUp = !result.retryable || now >= deadline;
  const failingSince = endpoint.failingSince ?? now;
  const disable = now - failingSince >= DAY_MS;
  await db.batch([
    db
      .update(webhookDeliveries)
      .set({ status: giveUp ? "failed" : "pending", attempts, nextAttemptAt: nextAt, updatedAt: now })
      .where(eq(webhookDeliveries.id, delivery.id)),
    db
      .update(webhookEndpoints)
      .set({ failingSince, ...(disable && { disabledAt: now, disabledReason: "Deliveries failed for 24 hours; re-enable it once the receiver works." }) })
      .where(eq(webhookEndpoints.id, endpoint.id)),
  ]);
  if (disable) {
    deps.logger.warn("webhook_endpoint_disabled", { endpointId: endpoint.id });
    return "disabled";
  }
  return giveUp ? "failed" : "retrying";
}
