import { createRoute, z } from "@hono/zod-openapi";
import { sendTestEvent } from "../outbound/deliver";
import { createEndpoint, deleteEndpoint, enableEndpoint, findEndpoint, listEndpoints, recentAttempts, type Attempt, type Endpoint } from "../outbound/store";
import { checkEndpointUrl } from "../outbound/url";
import { EVENT_TYPES } from "../events/types";
import { errors, json, security } from "./contract";
import { apiError } from "./errors";
import { api } from "./routes";
import { IdParam } from "./schemas";

/**
 * Webhook endpoints through the API (the console, src/admin/webhooks.tsx, has the same): register (the
 * `whsec_` secret is shown in that answer only), list, get, delete, re-enable, send a test event,
 * and read the recent attempts.
 */

const time = z.string().openapi({ format: "date-time" });
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

const EndpointSchema = z
  .object({
    id: z.string(),
    url: z.string(),
    eventTypes: z.array(z.string()),
    description: z.string().nullable(),
    createdAt: time,
    disabled: z.boolean(),
    disabledAt: time.nullable(),
    disabledReason: z.string().nullable(),
    failingSince: time.nullable(),
  })
  .openapi("WebhookEndpoint");

const CreatedEndpoint = EndpointSchema.extend({ secret: z.string().openapi({ description: "The `whsec_` signing secret. Shown only here: store it." }) }).openapi("CreatedWebhookEndpoint");

const CreateBody = z
  .object({
    url: z.string().max(2000).openapi({ example: "https://hooks.example.com/course" }),
    eventTypes: z
      .array(z.enum([...EVENT_TYPES, "*"]))
      .min(1)
      .max(EVENT_TYPES.length + 1)
      .openapi({ description: 'Event types to receive; ["*"] for all.', example: ["subscriber.confirmed", "enrollment.completed"] }),
    description: z.string().max(200).optional(),
  })
  .openapi("CreateWebhookEndpoint");

const AttemptSchema = z
  .object({
    id: z.string(),
    deliveryId: z.string(),
    attemptedAt: time,
    responseStatus: z.number().int().nullable().openapi({ description: "Null for a timeout or network error." }),
    durationMs: z.number().int(),
    excerpt: z.string().nullable(),
  })
  .openapi("WebhookAttempt");

function present(e: Endpoint): z.infer<typeof EndpointSchema> {
  return {
    id: e.id,
    url: e.url,
    eventTypes: JSON.parse(e.eventTypes) as string[],
    description: e.description,
    createdAt: iso(e.createdAt)!,
    disabled: e.disabledAt !== null,
    disabledAt: iso(e.disabledAt),
    disabledReason: e.disabledReason,
    failingSince: iso(e.failingSince),
  };
}

const presentAttempt = (a: Attempt) => ({ id: a.id, deliveryId: a.deliveryId, attemptedAt: iso(a.attemptedAt)!, responseStatus: a.responseStatus, durationMs: a.durationMs, excerpt: a.excerpt });

async function endpointOr404(db: Parameters<typeof findEndpoint>[0], id: string) {
  const endpoint = await findEndpoint(db, id);
  if (!endpoint) throw apiError("not_found", "No webhook endpoint with that id.");
  return endpoint;
}

api.openapi(
  createRoute({
    method: "post",
    path: "/api/v1/webhook-endpoints",
    tags: ["Webhooks"],
    summary: "Register a webhook endpoint",
    description: "Production accepts only https URLs of public hosts (no loopback, private or link-local addresses).",
    security,
    request: { body: { required: true, content: { "application/json": { schema: CreateBody } } } },
    responses: { 201: json(CreatedEndpoint, "Registered; the secret is shown only now"), ...errors("bad_request") },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const { db, clock, config } = c.get("deps");
    const check = checkEndpointUrl(body.url, { production: config.production });
    if (!check.ok) throw apiError("bad_request", `url: ${check.reason}`);
    const endpoint = await createEndpoint(db, { url: check.url.toString(), eventTypes: [...new Set(body.eventTypes)], description: body.description }, clock());
    return c.json({ ...present(endpoint), secret: endpoint.secret }, 201);
  },
);

api.openapi(
  createRoute({ method: "get", path: "/api/v1/webhook-endpoints", tags: ["Webhooks"], summary: "List webhook endpoints", security, responses: { 200: json(z.object({ data: z.array(EndpointSchema) }), "Endpoints"), ...errors() } }),
  async (c) => c.json({ data: (await listEndpoints(c.get("deps").db)).map(present) }, 200),
);

api.openapi(
  createRoute({ method: "get", path: "/api/v1/webhook-endpoints/{id}", tags: ["Webhooks"], summary: "Get a webhook endpoint", security, request: { params: IdParam }, responses: { 200: json(EndpointSchema, "The endpoint"), ...errors("not_found") } }),
  async (c) => c.json(present(await endpointOr404(c.get("deps").db, c.req.valid("param").id)), 200),
);

api.openapi(
  createRoute({ method: "delete", path: "/api/v1/webhook-endpoints/{id}", tags: ["Webhooks"], summary: "Delete a webhook endpoint", security, request: { params: IdParam }, responses: { 204: { description: "Deleted" }, ...errors("not_found") } }),
  async (c) => {
    if (!(await deleteEndpoint(c.get("deps").db, c.req.valid("param").id))) throw apiError("not_found", "No webhook endpoint with that id.");
    return c.body(null, 204);
  },
);

api.openapi(
  createRoute({
    method: "post",
    path: "/api/v1/webhook-endpoints/{id}/enable",
    tags: ["Webhooks"],
    summary: "Re-enable an endpoint that was disabled after failing for a day",
    security,
    request: { params: IdParam },
    responses: { 200: json(EndpointSchema, "The endpoint"), ...errors("not_found") },
  }),
  async (c) => {
    const endpoint = await enableEndpoint(c.get("deps").db, c.req.valid("param").id);
    if (!endpoint) throw apiError("not_found", "No webhook endpoint with that id.");
    return c.json(present(endpoint), 200);
  },
);

api.openapi(
  createRoute({
    method: "post",
    path: "/api/v1/webhook-endpoints/{id}/test",
    tags: ["Webhooks"],
    summary: "Send a signed test event now",
    description: "Sends `webhook.test` once, at once, and answers with what the receiver said. It is not retried and not stored as an event.",
    security,
    request: { params: IdParam },
    responses: { 200: json(z.object({ ok: z.boolean(), responseStatus: z.number().int().nullable(), durationMs: z.number().int(), excerpt: z.string().nullable() }), "The attempt"), ...errors("not_found") },
  }),
  async (c) => {
    const deps = c.get("deps");
    const endpoint = await endpointOr404(deps.db, c.req.valid("param").id);
    return c.json(await sendTestEvent(deps, endpoint), 200);
  },
);

api.openapi(
  createRoute({
    method: "get",
    path: "/api/v1/webhook-endpoints/{id}/attempts",
    tags: ["Webhooks"],
    summary: "The endpoint's last 100 delivery attempts, newest first",
    security,
    request: { params: IdParam },
    responses: { 200: json(z.object({ data: z.array(AttemptSchema) }), "Attempts"), ...errors("not_found") },
  }),
  async (c) => {
    const { db } = c.get("deps");
    const endpoint = await endpointOr404(db, c.req.valid("param").id);
    return c.json({ data: (await recentAttempts(db, endpoint.id)).map(presentAttempt) }, 200);
  },
);
