import { and, desc, eq, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { events, webhookAttempts, webhookEndpoints } from "../db/schema";
import { newId } from "../lib/ids";

/**
 * Outbound webhook endpoints and their attempts. Each endpoint has its own `whsec_` secret
 * (Standard Webhooks: base64 of 24 random bytes) and a cursor: the last event id fanned out to it,
 * starting at the newest event when it is registered (it receives what happens from then on).
 */

export type Endpoint = typeof webhookEndpoints.$inferSelect;
export type Attempt = typeof webhookAttempts.$inferSelect;

/** `["*"]` means every event type. */
export const ALL_EVENTS = "*";

function newSecret(): string {
  let binary = "";
  for (const b of crypto.getRandomValues(new Uint8Array(24))) binary += String.fromCharCode(b);
  return `whsec_${btoa(binary)}`;
}

export async function createEndpoint(db: Db, input: { url: string; eventTypes: string[]; description?: string | null }, now: number): Promise<Endpoint> {
  const [row] = await db
    .insert(webhookEndpoints)
    .values({
      id: `ep_${newId().replace(/-/g, "")}`,
      url: input.url,
      eventTypes: JSON.stringify(input.eventTypes),
      secret: newSecret(),
      description: input.description ?? null,
      createdAt: now,
      cursor: sql`(select coalesce(max(${events.id}), 0) from ${events})`,
    })
    .returning();
  return row!;
}

export function listEndpoints(db: Db): Promise<Endpoint[]> {
  return db.select().from(webhookEndpoints).orderBy(webhookEndpoints.createdAt);
}

export function findEndpoint(db: Db, id: string): Promise<Endpoint | undefined> {
  return db.query.webhookEndpoints.findFirst({ where: eq(webhookEndpoints.id, id) });
}

/** Deletes the endpoint with its pending deliveries and attempts. True if it existed. */
export async function deleteEndpoint(db: Db, id: string): Promise<boolean> {
  const [, , removed] = await db.batch([
    db.run(sql`delete from webhook_deliveries where endpoint_id = ${id}`),
    db.delete(webhookAttempts).where(eq(webhookAttempts.endpointId, id)),
    db.delete(webhookEndpoints).where(eq(webhookEndpoints.id, id)).returning({ id: webhookEndpoints.id }),
  ]);
  return removed.length > 0;
}

/** Turns a disabled endpoint back on; deliveries held while it was off go out from the next pass. */
export async function enableEndpoint(db: Db, id: string): Promise<Endpoint | undefined> {
  const [row] = await db
    .update(webhookEndpoints)
    .set({ disabledAt: null, disabledReason: null, failingSince: null })
    .where(eq(webhookEndpoints.id, id))
    .returning();
  return row;
}

export function recentAttempts(db: Db, endpointId: string, limit = 100): Promise<Attempt[]> {
  return db
    .select()
    .from(webhookAttempts)
    .where(and(eq(webhookAttempts.endpointId, endpointId)))
    .orderBy(desc(webhookAttempts.attemptedAt), desc(webhookAttempts.id))
    .limit(limit);
}
