/** @jsxImportSource hono/jsx */
import { Hono } from "hono";
import { z } from "zod";
import { createApiKey, listApiKeys, revokeApiKey, type ApiKey } from "../api/keys";
import { apiKeyScopes } from "../db/schema";
import { recordAdminAction } from "./actions";
import { consoleOn, readConsoleForm, requireOperator, type ConsoleEnv } from "./auth";
import { ConsolePage, Csrf, Scroll, when } from "./layout";

/**
 * /admin/keys: the API keys operators make for their own tools (src/api/keys.ts does the work, as
 * for `npm run admin:key`). The list shows name, prefix, scope and times, never a key or its hash;
 * a new key is shown once, on the answer to the create form, which is never cached.
 */


const CreateKey = z.object({
  name: z.string().trim().min(1, "Give the key a name, e.g. the tool that will use it.").max(100, "Keep the name under 100 characters."),
  scope: z.enum(apiKeyScopes, { message: "Choose read or write." }),
});

const REVOKE_WORDS: Record<string, string> = {
  done: "The key is revoked: requests with it now get 401.",
  not_found: "That key does not exist or was already revoked.",
};

function KeyTable(props: { keys: ApiKey[]; csrf: string }) {
  if (props.keys.length === 0) return <p>No API keys yet.</p>;
  return (
    <Scroll label="API keys">
      <table class="data" id="keys-table">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Prefix</th>
            <th scope="col">Scope</th>
            <th scope="col">Created</th>
            <th scope="col">Last used</th>
            <th scope="col">Revoked</th>
            <th scope="col">Action</th>
          </tr>
        </thead>
        <tbody>
          {props.keys.map((k) => (
            <tr>
              <td>{k.name}</td>
              <td>
                <code>{k.prefix}…</code>
              </td>
              <td>{k.scope}</td>
              <td>{when(k.createdAt)}</td>
              <td>{when(k.lastUsedAt)}</td>
              <td>{k.revokedAt ? when(k.revokedAt) : "Active"}</td>
              <td>
                {!k.revokedAt && (
                  <form method="post" action={`/admin/keys/${k.id}/revoke`}>
                    <Csrf token={props.csrf} />
                    <button type="submit" class="secondary small" aria-label={`Revoke now: the key ${k.name} (${k.prefix})`}>
                      Revoke now
                    </button>
                  </form>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Scroll>
  );
}

function CreateKeyForm(props: { csrf: string; error?: string; name?: string }) {
  return (
    <form method="post" action="/admin/keys" class="card">
      <h2>Create a key</h2>
      <Csrf token={props.csrf} />
      <div class="field">
        <label for="key-name">Name</label>
        <input id="key-name" name="name" type="text" maxlength={100} required value={props.name ?? ""} aria-invalid={props.error ? "true" : undefined} aria-describedby={props.error ? "key-error" : "key-hint"} />
        <p id="key-hint" class="hint">
          What uses it, e.g. "Signup form on the website" or "CRM sync".
        </p>
        {props.error && (
          <p id="key-error" class="error">
            {props.error}
          </p>
        )}
      </div>
      <fieldset class="choices">
        <legend>Scope</legend>
        <label class="choice">
          <input type="radio" name="scope" value="read" checked />
          Read: list courses, subscribers and events
        </label>
        <label class="choice">
          <input type="radio" name="scope" value="write" />
          Write: also enroll, pause, unsubscribe, delete and manage webhooks
        </label>
      </fieldset>
      <button type="submit">Create key</button>
    </form>
  );
}

export const keyRoutes = new Hono<ConsoleEnv>()
  .get("/keys", consoleOn, requireOperator, async (c) => {
    const { db, config } = c.get("deps");
    const revoked = c.req.query("revoked") ?? "";
    return c.html(
      <ConsolePage title="API keys" brandName={config.brandName} operator={{ email: c.get("operator").email, csrf: c.get("csrf") }}>
        {revoked in REVOKE_WORDS && (
          <p class="notice" role="status">
            {REVOKE_WORDS[revoked]}
          </p>
        )}
        <p>
          Keys let your own tools use the API at <a href="/api/v1/reference">/api/v1</a> with <code>Authorization: Bearer &lt;key&gt;</code>. Only a hash of each key is
          stored, so a key is shown once, when it is made.
        </p>
        <KeyTable keys={await listApiKeys(db)} csrf={c.get("csrf")} />
        <CreateKeyForm csrf={c.get("csrf")} />
      </ConsolePage>,
    );
  })
  .post("/keys", consoleOn, requireOperator, async (c) => {
    const fields = await readConsoleForm(c);
    const deps = c.get("deps");
    const operator = { email: c.get("operator").email, csrf: c.get("csrf") };
    const parsed = CreateKey.safeParse(fields);
    if (!parsed.success) {
      const name = typeof fields.name === "string" ? fields.name.slice(0, 100) : "";
      return c.html(
        <ConsolePage title="API keys" brandName={deps.config.brandName} operator={operator}>
          <KeyTable keys={await listApiKeys(deps.db)} csrf={c.get("csrf")} />
          <CreateKeyForm csrf={c.get("csrf")} name={name} error={parsed.error.issues.map((i) => i.message).join(" ")} />
        </ConsolePage>,
        400,
      );
    }
    const { key, row } = await createApiKey(deps.db, parsed.data.name, parsed.data.scope, deps.clock());
    await recordAdminAction(deps, c.get("operator"), "api_key.create", "done", { keyId: row.id, prefix: row.prefix, scope: row.scope });
    c.header("cache-control", "no-store");
    return c.html(
      <ConsolePage title="Your new API key" brandName={deps.config.brandName} operator={operator}>
        <p class="notice" role="status">
          <strong>Copy it now: it won't be shown again.</strong> Only its hash is stored, so if it is lost, revoke it and make another.
        </p>
        <dl class="facts">
          <dt>Name</dt>
          <dd>{row.name}</dd>
          <dt>Scope</dt>
          <dd>{row.scope}</dd>
          <dt>Key</dt>
          <dd>
            <code id="new-key">{key}</code>
          </dd>
        </dl>
        <p>
          Use it as <code>Authorization: Bearer &lt;key&gt;</code>. <a href="/admin/keys">Back to API keys</a>
        </p>
      </ConsolePage>,
    );
  })
  .post("/keys/:id/revoke", consoleOn, requireOperator, async (c) => {
    await readConsoleForm(c);
    const deps = c.get("deps");
    const id = c.req.param("id");
    // By id only: the console's buttons carry ids, and a prefix could mean another key.
    const { revoked } = id.startsWith("ck_") ? { revoked: [] } : await revokeApiKey(deps.db, id, deps.clock());
    const outcome = revoked.length === 1 ? "done" : "not_found";
    await recordAdminAction(deps, c.get("operator"), "api_key.revoke", outcome, { keyId: id.slice(0, 40), prefix: revoked[0]?.prefix ?? "" });
    return c.redirect(`/admin/keys?revoked=${outcome}`, 303);
  });
