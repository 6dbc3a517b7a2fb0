/** @jsxImportSource hono/jsx */
import { Hono, type Context } from "hono";
import { EVENT_TYPES } from "../events/types";
import { AppError } from "../lib/errors";
import { FORM_TOKEN_FIELD } from "../lib/form-token";
import { sendTestEvent, type TestEventResult } from "../outbound/deliver";
import { ALL_EVENTS, createEndpoint, deleteEndpoint, enableEndpoint, findEndpoint, listEndpoints, recentAttempts, type Endpoint } from "../outbound/store";
import { checkEndpointUrl } from "../outbound/url";
import { recordAdminAction } from "./actions";
import { checkCsrf, consoleOn, readConsoleForm, requireOperator, type ConsoleEnv } from "./auth";
import { ConsolePage, Csrf, Scroll, when } from "./layout";

/**
 * /admin/webhooks: outbound webhook endpoints, through the same functions as the API
 * (src/outbound/store.ts, url.ts, deliver.ts `sendTestEvent`). The `whsec_` secret is shown once,
 * on the answer to the register form. An endpoint the delivery pass disabled after a day of
 * failures is flagged with its reason and time. Response excerpts are receivers' text: JSX escapes them.
 */

type Page = Context<ConsoleEnv>;
const operatorOf = (c: Page) => ({ email: c.get("operator").email, csrf: c.get("csrf") });
const typesOf = (e: Endpoint) => JSON.parse(e.eventTypes) as string[];

const DONE_WORDS: Record<string, string> = {
  enabled: "The endpoint is on again: held deliveries go out from the next pass.",
  deleted: "The endpoint is deleted, with its pending deliveries and attempts.",
  not_found: "That endpoint no longer exists.",
};

function Status(props: { endpoint: Endpoint }) {
  const e = props.endpoint;
  if (e.disabledAt !== null) {
    return (
      <strong class="error">
        Disabled {when(e.disabledAt)}: {e.disabledReason ?? "no reason recorded"}
      </strong>
    );
  }
  return <>{e.failingSince ? `Active, failing since ${when(e.failingSince)}` : "Active"}</>;
}

function EndpointTable(props: { endpoints: Endpoint[] }) {
  if (props.endpoints.length === 0) return <p>No webhook endpoints yet.</p>;
  return (
    <Scroll label="Webhook endpoints">
      <table class="data" id="endpoints-table">
        <thead>
          <tr>
            <th scope="col">URL</th>
            <th scope="col">Events</th>
            <th scope="col">Created</th>
            <th scope="col">Status</th>
          </tr>
        </thead>
        <tbody>
          {props.endpoints.map((e) => (
            <tr>
              <td>
                <a href={`/admin/webhooks/${e.id}`}>{e.url}</a>
              </td>
              <td>{typesOf(e).includes(ALL_EVENTS) ? "All events" : typesOf(e).join(", ")}</td>
              <td>{when(e.createdAt)}</td>
              <td>
                <Status endpoint={e} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Scroll>
  );
}

function RegisterForm(props: { csrf: string; production: boolean; error?: string; url?: string; chosen?: string[] }) {
  const chosen = new Set(props.chosen ?? [ALL_EVENTS]);
  return (
    <form method="post" action="/admin/webhooks" class="card">
      <h2>Register an endpoint</h2>
      <Csrf token={props.csrf} />
      <div class="field">
        <label for="endpoint-url">URL</label>
        <input id="endpoint-url" name="url" type="text" inputmode="url" maxlength={2000} required value={props.url ?? ""} aria-invalid={props.error ? "true" : undefined} aria-describedby={props.error ? "url-error url-hint" : "url-hint"} />
        <p id="url-hint" class="hint">
          {props.production ? "An https URL of a public host." : "An https URL of a public host; in development also http on this machine (localhost, 127.0.0.1)."}
        </p>
        {props.error && (
          <p id="url-error" class="error">
            {props.error}
          </p>
        )}
      </div>
      <fieldset class="choices">
        <legend>Events to send</legend>
        <label class="choice">
          <input type="checkbox" name="eventTypes" value={ALL_EVENTS} checked={chosen.has(ALL_EVENTS)} />
          All events (also those added later)
        </label>
        {EVENT_TYPES.map((type) => (
          <label class="choice">
            <input type="checkbox" name="eventTypes" value={type} checked={chosen.has(type)} />
            <code>{type}</code>
          </label>
        ))}
      </fieldset>
      <button type="submit">Register endpoint</button>
    </form>
  );
}

/** The form's fields with every value of repeated ones (the event checkboxes), CSRF checked. */
async function readMultiForm(c: Page): Promise<{ url: string; eventTypes: string[] }> {
  const body = await c.req.parseBody({ all: true }).catch(() => {
    throw new AppError(400, "invalid_form", "The form could not be read.");
  });
  const list = (v: unknown) => (Array.isArray(v) ? v : v === undefined ? [] : [v]).filter((x): x is string => typeof x === "string");
  await checkCsrf(c, list(body[FORM_TOKEN_FIELD])[0]);
  return { url: (list(body.url)[0] ?? "").trim(), eventTypes: list(body.eventTypes) };
}

/** Checks the register form like the API does; returns the endpoint's input or a message for the form. */
function validate(input: { url: string; eventTypes: string[] }, production: boolean): { ok: true; url: string; eventTypes: string[] } | { ok: false; error: string } {
  if (input.url.length === 0) return { ok: false, error: "Enter the URL that should receive the events." };
  if (input.url.length > 2000) return { ok: false, error: "The URL is too long (2,000 characters at most)." };
  const check = checkEndpointUrl(input.url, { production });
  if (!check.ok) return { ok: false, error: `${check.reason} ${production ? "Use an https URL of a public host." : "Use an https URL of a public host, or http on localhost while developing."}` };
  const known = new Set<string>([...EVENT_TYPES, ALL_EVENTS]);
  const types = [...new Set(input.eventTypes)];
  if (types.length === 0) return { ok: false, error: "Choose at least one event, or All events." };
  if (!types.every((t) => known.has(t))) return { ok: false, error: "Choose events from the list." };
  return { ok: true, url: check.url.toString(), eventTypes: types.includes(ALL_EVENTS) ? [ALL_EVENTS] : types };
}

async function endpointOr404(c: Page): Promise<Endpoint> {
  const endpoint = await findEndpoint(c.get("deps").db, c.req.param("id") ?? "");
  if (!endpoint) throw new AppError(404, "not_found", "There is no webhook endpoint with that id.");
  return endpoint;
}

async function detailPage(c: Page, endpoint: Endpoint, tested?: TestEventResult, notice?: string) {
  const { db, config } = c.get("deps");
  const attempts = await recentAttempts(db, endpoint.id, 50);
  const csrf = c.get("csrf");
  return (
    <ConsolePage title="Webhook endpoint" brandName={config.brandName} operator={operatorOf(c)}>
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      {tested && (
        <p class="notice" role="status" id="test-result">
          {tested.ok ? "Test event delivered" : "Test event not delivered"}: {tested.responseStatus === null ? "no answer" : `HTTP ${tested.responseStatus}`} in {tested.durationMs} ms
          {tested.excerpt ? ` — "${tested.excerpt}"` : ""}
        </p>
      )}
      <dl class="facts">
        <dt>URL</dt>
        <dd>{endpoint.url}</dd>
        <dt>Events</dt>
        <dd>{typesOf(endpoint).includes(ALL_EVENTS) ? "All events" : typesOf(endpoint).join(", ")}</dd>
        <dt>Created</dt>
        <dd>{when(endpoint.createdAt)}</dd>
        <dt>Status</dt>
        <dd>
          <Status endpoint={endpoint} />
        </dd>
      </dl>
      <form method="post" action={`/admin/webhooks/${endpoint.id}/test`}>
        <Csrf token={csrf} />
        <button type="submit">Send test event</button>
      </form>
      {endpoint.disabledAt !== null && (
        <form method="post" action={`/admin/webhooks/${endpoint.id}/enable`}>
          <Csrf token={csrf} />
          <button type="submit" class="secondary">
            Re-enable this endpoint
          </button>
        </form>
      )}
      <h2>Recent delivery attempts</h2>
      {attempts.length === 0 ? (
        <p>No attempts yet. (Test events are not recorded here.)</p>
      ) : (
        <Scroll label="Delivery attempts">
          <table class="data" id="attempts-table">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Status</th>
                <th scope="col" class="num">Duration (ms)</th>
                <th scope="col">Response</th>
              </tr>
            </thead>
            <tbody>
              {attempts.map((a) => (
                <tr>
                  <td>{when(a.attemptedAt)}</td>
                  <td>{a.responseStatus === null ? "No answer" : String(a.responseStatus)}</td>
                  <td class="num">{String(a.durationMs)}</td>
                  <td>
                    <code>{a.excerpt ?? ""}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </Scroll>
      )}
      <h2>Delete</h2>
      <form method="post" action={`/admin/webhooks/${endpoint.id}/delete`}>
        <Csrf token={csrf} />
        <button type="submit" class="secondary">
          Delete this endpoint and its pending deliveries
        </button>
      </form>
      <p>
        <a href="/admin/webhooks">Back to webhooks</a>
      </p>
    </ConsolePage>
  );
}

export const webhookConsoleRoutes = new Hono<ConsoleEnv>()
  .get("/webhooks", consoleOn, requireOperator, async (c) => {
    const { db, config } = c.get("deps");
    const endpoints = await listEndpoints(db);
    const disabled = endpoints.filter((e) => e.disabledAt !== null).length;
    const done = c.req.query("done") ?? "";
    return c.html(
      <ConsolePage title="Webhooks" brandName={config.brandName} operator={operatorOf(c)}>
        {done in DONE_WORDS && (
          <p class="notice" role="status">
            {DONE_WORDS[done]}
          </p>
        )}
        {disabled > 0 && (
          <p class="notice" role="alert">
            {disabled === 1 ? "1 endpoint was" : `${disabled} endpoints were`} disabled after failing for a day. Open it, fix the receiver, and re-enable it.
          </p>
        )}
        <p>Endpoints receive signed events (Standard Webhooks) as subscribers move through the course.</p>
        <EndpointTable endpoints={endpoints} />
        <RegisterForm csrf={c.get("csrf")} production={config.production} />
      </ConsolePage>,
    );
  })
  .post("/webhooks", consoleOn, requireOperator, async (c) => {
    const deps = c.get("deps");
    const input = await readMultiForm(c);
    const valid = validate(input, deps.config.production);
    if (!valid.ok) {
      return c.html(
        <ConsolePage title="Webhooks" brandName={deps.config.brandName} operator={operatorOf(c)}>
          <EndpointTable endpoints={await listEndpoints(deps.db)} />
          <RegisterForm csrf={c.get("csrf")} production={deps.config.production} error={valid.error} url={input.url.slice(0, 2000)} chosen={input.eventTypes} />
        </ConsolePage>,
        400,
      );
    }
    const endpoint = await createEndpoint(deps.db, { url: valid.url, eventTypes: valid.eventTypes }, deps.clock());
    await recordAdminAction(deps, c.get("operator"), "webhook.create", "done", { endpointId: endpoint.id });
    c.header("cache-control", "no-store");
    return c.html(
      <ConsolePage title="Endpoint registered" brandName={deps.config.brandName} operator={operatorOf(c)}>
        <p class="notice" role="status">
          <strong>Copy the signing secret now: it won't be shown again.</strong> Your receiver verifies each delivery with it (any Standard Webhooks library).
        </p>
        <dl class="facts">
          <dt>URL</dt>
          <dd>{endpoint.url}</dd>
          <dt>Signing secret</dt>
          <dd>
            <code id="new-secret">{endpoint.secret}</code>
          </dd>
        </dl>
        <p>
          <a href={`/admin/webhooks/${endpoint.id}`}>Open the endpoint</a> to send a test event.
        </p>
      </ConsolePage>,
    );
  })
  .get("/webhooks/:id", consoleOn, requireOperator, async (c) => {
    const notice = c.req.query("done") === "enabled" ? DONE_WORDS.enabled : undefined;
    return c.html(await detailPage(c, await endpointOr404(c), undefined, notice));
  })
  .post("/webhooks/:id/test", consoleOn, requireOperator, async (c) => {
    await readConsoleForm(c);
    const deps = c.get("deps");
    const endpoint = await endpointOr404(c);
    const result = await sendTestEvent(deps, endpoint);
    await recordAdminAction(deps, c.get("operator"), "webhook.test", result.ok ? "done" : "failed", { endpointId: endpoint.id, status: String(result.responseStatus) });
    return c.html(await detailPage(c, endpoint, result));
  })
  .post("/webhooks/:id/enable", consoleOn, requireOperator, async (c) => {
    await readConsoleForm(c);
    const deps = c.get("deps");
    const endpoint = await enableEndpoint(deps.db, c.req.param("id"));
    await recordAdminAction(deps, c.get("operator"), "webhook.enable", endpoint ? "done" : "not_found", { endpointId: c.req.param("id").slice(0, 40) });
    return c.redirect(endpoint ? `/admin/webhooks/${endpoint.id}?done=enabled` : "/admin/webhooks?done=not_found", 303);
  })
  .post("/webhooks/:id/delete", consoleOn, requireOperator, async (c) => {
    await readConsoleForm(c);
    const deps = c.get("deps");
    const deleted = await deleteEndpoint(deps.db, c.req.param("id"));
    await recordAdminAction(deps, c.get("operator"), "webhook.delete", deleted ? "done" : "not_found", { endpointId: c.req.param("id").slice(0, 40) });
    return c.redirect(`/admin/webhooks?done=${deleted ? "deleted" : "not_found"}`, 303);
  });
