import { eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createApiKey } from "../../src/api/keys";
import { adminActions, apiKeys } from "../../src/db/schema";
import { createLogger } from "../../src/lib/logger";
import { consoleEnv, csrfFor, get, post, signIn } from "../support/console";
import { createSession } from "../../src/admin/sessions";
import { createTestContext, type TestContext } from "../support/test-app";

let t: TestContext;
let cookie: string;
let logs: string[];
beforeEach(async () => {
  t = await createTestContext({ env: consoleEnv });
  logs = [];
  t.deps.logger = createLogger((line) => logs.push(line));
  ({ cookie } = await signIn(t));
});
afterEach(async () => t.close());

const csrf = () => csrfFor(t, cookie, "/admin/keys");
const newKeyIn = (html: string) => html.match(/id="new-key">(ck_[A-Za-z0-9_-]+)</)?.[1];
const courses = (key: string) => t.app.request("/api/v1/courses", { headers: { authorization: `Bearer ${key}` } });

describe("API keys in the console", () => {
  it("creates a key shown once that works against the API, then lists it without the key or its hash", async () => {
    const res = await post(t, "/admin/keys", cookie, { csrf: await csrf(), name: "CRM sync", scope: "read" });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const page = await res.text();
    expect(page).toContain("Copy it now: it won&#39;t be shown again.");
    const key = newKeyIn(page)!;
    expect(key).toMatch(/^ck_/);
    expect((await courses(key)).status).toBe(200);

    const row = (await t.db.query.apiKeys.findFirst())!;
    const list = await (await get(t, "/admin/keys", cookie)).text();
    expect(list).toContain("CRM sync");
    expect(list).toContain(row.prefix);
    expect(list).toContain("read");
    expect(list).not.toContain(key);
    expect(list).not.toContain(row.hash);
    expect(await t.db.$count(adminActions, eq(adminActions.action, "api_key.create"))).toBe(1);
    expect(logs.join("\n")).toContain('"action":"api_key.create"');
    expect(logs.join("\n")).not.toContain(key);
  });

  it("revokes a key: the API answers 401 after, the list says when, and the action is recorded without the key", async () => {
    const { key, row } = await createApiKey(t.db, "Old form", "write", t.clock.now());
    expect((await courses(key)).status).toBe(200);
    const res = await post(t, `/admin/keys/${row.id}/revoke`, cookie, { csrf: await csrf() });
    expect([res.status, res.headers.get("location")]).toEqual([303, "/admin/keys?revoked=done"]);
    expect((await courses(key)).status).toBe(401);
    const list = await (await get(t, "/admin/keys?revoked=done", cookie)).text();
    expect(list).toContain("The key is revoked");
    expect(list).not.toContain(`/admin/keys/${row.id}/revoke`);
    expect(await t.db.$count(adminActions, eq(adminActions.action, "api_key.revoke"))).toBe(1);
    expect(logs.join("\n")).not.toContain(key);
  });

  it("answers a form without a name or with an unknown scope with a 400 page that says what to fix, creating nothing", async () => {
    const noName = await post(t, "/admin/keys", cookie, { csrf: await csrf(), name: "  ", scope: "read" });
    expect(noName.status).toBe(400);
    expect(await noName.text()).toContain("Give the key a name");
    const badScope = await post(t, "/admin/keys", cookie, { csrf: await csrf(), name: "x", scope: "admin" });
    expect(badScope.status).toBe(400);
    expect(await badScope.text()).toContain("Choose read or write.");
    expect(await t.db.$count(apiKeys)).toBe(0);
  });

  it("escapes a key's name in the list", async () => {
    await createApiKey(t.db, "<script>alert(1)</script>", "read", t.clock.now());
    const list = await (await get(t, "/admin/keys", cookie)).text();
    expect(list).not.toContain("<script>alert(1)</script>");
    expect(list).toContain("&lt;script&gt;");
  });

  it("says so when revoking a key that is unknown, already revoked, or named by its prefix", async () => {
    const { row } = await createApiKey(t.db, "k", "read", t.clock.now());
    for (const id of ["00000000-0000-0000-0000-000000000000", row.prefix]) {
      const res = await post(t, `/admin/keys/${id}/revoke`, cookie, { csrf: await csrf() });
      expect(res.headers.get("location")).toBe("/admin/keys?revoked=not_found");
    }
    expect((await t.db.query.apiKeys.findFirst())?.revokedAt).toBeNull();
  });

  it("refuses creating and revoking without the CSRF token, without a session, and for a non-operator", async () => {
    const { row } = await createApiKey(t.db, "k", "read", t.clock.now());
    const stranger = `console_session=${(await createSession(t.db, "stranger@example.com", t.clock.now())).id}`;
    expect((await post(t, "/admin/keys", cookie, { name: "x", scope: "read" })).status).toBe(403);
    expect((await post(t, `/admin/keys/${row.id}/revoke`, cookie, {})).status).toBe(403);
    for (const bad of ["", stranger]) {
      expect((await post(t, "/admin/keys", bad, { csrf: "x", name: "x", scope: "read" })).status).toBe(401);
      expect((await post(t, `/admin/keys/${row.id}/revoke`, bad, { csrf: "x" })).status).toBe(401);
      expect((await get(t, "/admin/keys", bad)).headers.get("location")).toBe("/admin/login");
    }
    expect(await t.db.$count(apiKeys)).toBe(1);
    expect((await t.db.query.apiKeys.findFirst())?.revokedAt).toBeNull();
  });
});
