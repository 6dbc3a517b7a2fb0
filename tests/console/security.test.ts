import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createSession, findSession, revokeSession, SESSION_TTL_MS } from "../../src/admin/sessions";
import { consoleEnv, csrfFor, get, post, signIn } from "../support/console";
import { apiKeys, webhookEndpoints } from "../../src/db/schema";
import { createSubscriber } from "../support/factories";
import { createTestContext, type TestContext } from "../support/test-app";

/**
 * Every console page and action, refused in each way a request can lack the right: no session,
 * an expired one, a revoked one, a session of an address that is not an operator, and (for
 * actions) a missing CSRF token. Nothing may change, and nothing may answer 5xx.
 */
let t: TestContext;
let subscriberId: string;
beforeEach(async () => {
  t = await createTestContext({ env: consoleEnv });
  subscriberId = (await createSubscriber(t.db, t.clock.now())).id;
});
afterEach(async () => t.close());

const PAGES = () => [
  "/admin",
  "/admin/courses/clear-skin",
  "/admin/courses/clear-skin/export.csv",
  "/admin/subscribers",
  `/admin/subscribers/${subscriberId}`,
  "/admin/mail",
  "/admin/imports/new",
  "/admin/imports/00000000-0000-0000-0000-000000000000",
  "/admin/keys",
  "/admin/webhooks",
  "/admin/webhooks/ep_0",
];

const ACTIONS = () => [
  ["/admin/logout", {}],
  [`/admin/subscribers/${subscriberId}/pause`, {}],
  [`/admin/subscribers/${subscriberId}/delete`, {}],
  ["/admin/courses/clear-skin/test-send", { lesson: "1" }],
  ["/admin/mail/00000000-0000-0000-0000-000000000000/retry", {}],
  ["/admin/imports", {}],
  ["/admin/imports/00000000-0000-0000-0000-000000000000/start", { email: "0", mode: "confirm" }],
  ["/admin/imports/00000000-0000-0000-0000-000000000000/work", {}],
  ["/admin/keys", { name: "k", scope: "write" }],
  ["/admin/keys/00000000-0000-0000-0000-000000000000/revoke", {}],
  ["/admin/webhooks", { url: "https://hooks.example.com/x", eventTypes: "*" }],
  ["/admin/webhooks/ep_0/test", {}],
  ["/admin/webhooks/ep_0/enable", {}],
  ["/admin/webhooks/ep_0/delete", {}],
] as const;

async function badSessions(): Promise<Record<string, string>> {
  const expired = await signIn(t);
  const revoked = await signIn(t);
  const revokedSession = await findSession(t.db, revoked.cookie.split("=")[1]!, t.clock.now());
  await revokeSession(t.db, revokedSession!.idHash, t.clock.now());
  // Expire the first one by moving the clock; the stranger's session is made after, so it is live.
  t.clock.advance(SESSION_TTL_MS + 1);
  const stillLive = await createSession(t.db, "stranger@example.com", t.clock.now());
  return { none: "", expired: expired.cookie, revoked: revoked.cookie, "non-operator": `console_session=${stillLive.id}`, forged: "console_session=forged" };
}

describe("console security", () => {
  it("sends every page to sign-in without a live operator session", async () => {
    const sessions = await badSessions();
    for (const [kind, cookie] of Object.entries(sessions)) {
      for (const path of PAGES()) {
        const res = await get(t, path, cookie);
        expect([res.status, res.headers.get("location")], `${kind} GET ${path}`).toEqual([303, "/admin/login"]);
      }
    }
  });

  it("refuses every action with a 401 page without a live operator session, changing nothing", async () => {
    const sessions = await badSessions();
    for (const [kind, cookie] of Object.entries(sessions)) {
      for (const [path, fields] of ACTIONS()) {
        const res = await post(t, path, cookie, { csrf: "x", ...fields });
        expect(res.status, `${kind} POST ${path}`).toBe(401);
      }
    }
    expect(t.resend.emails.filter((e) => e.subject.startsWith("[Test]"))).toHaveLength(0);
    expect((await t.db.query.enrollments.findFirst())?.state).toBe("active");
    expect(await t.db.$count(apiKeys)).toBe(0);
    expect(await t.db.$count(webhookEndpoints)).toBe(0);
  });

  it("refuses every action with a 403 without the session's CSRF token", async () => {
    const { cookie } = await signIn(t);
    const other = await signIn(t, "boss@example.com");
    const foreign = await csrfFor(t, other.cookie);
    for (const [path, fields] of ACTIONS()) {
      expect((await post(t, path, cookie, { ...fields })).status, `no token: POST ${path}`).toBe(403);
      expect((await post(t, path, cookie, { csrf: foreign, ...fields })).status, `another session's token: POST ${path}`).toBe(403);
    }
    expect((await t.db.query.enrollments.findFirst())?.state).toBe("active");
    expect(await t.db.$count(apiKeys)).toBe(0);
    expect(await t.db.$count(webhookEndpoints)).toBe(0);
    // The refusals did not end the operator's session.
    expect((await get(t, "/admin", cookie)).headers.get("location")).toBe("/admin/courses/clear-skin");
  });
});
