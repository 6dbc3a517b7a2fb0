import { eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { rateLimits, subscribers } from "../src/db/schema";
import { runHousekeeping, UNCONFIRMED_SIGNUP_RETENTION_MS } from "../src/db/retention";
import { hitRateLimit } from "../src/lib/rate-limit";
import { confirmByClick, signUp } from "./support/signup";
import { createTestContext, linkIn, TEST_APP_URL, type TestContext } from "./support/test-app";

let t: TestContext;
beforeEach(async () => {
  t = await createTestContext();
});
afterEach(async () => t.close());

const DAY = 24 * 60 * 60 * 1000;
const rowOf = (email: string) => t.db.query.subscribers.findFirst({ where: eq(subscribers.email, email) });

describe("retention: what nobody asked us to keep is forgotten", () => {
  it("a signup nobody confirmed is forgotten a week later, while confirmed subscribers stay", async () => {
    await signUp(t, { email: "typed-by-someone@example.com", firstName: "Nobody" });
    await signUp(t, { email: "real@example.com", firstName: "Rea" });
    await confirmByClick(t.app, linkIn(t.resend.emailsTo("real@example.com")[0]!.text, `${TEST_APP_URL}/confirm?token=`));

    t.clock.advance(UNCONFIRMED_SIGNUP_RETENTION_MS - DAY);
    await runHousekeeping(t.deps);
    expect(await rowOf("typed-by-someone@example.com")).toBeDefined();

    t.clock.advance(DAY);
    await runHousekeeping(t.deps);
    expect(await rowOf("typed-by-someone@example.com")).toBeUndefined();
    expect(await rowOf("real@example.com")).toMatchObject({ status: "active" });
  });

  it("the address can sign up again afterwards like any other (no suppression is left behind)", async () => {
    await signUp(t, { email: "later@example.com" });
    t.clock.advance(UNCONFIRMED_SIGNUP_RETENTION_MS);
    await runHousekeeping(t.deps);
    await signUp(t, { email: "later@example.com", firstName: "Lou" });
    await confirmByClick(t.app, linkIn(t.resend.emailsTo("later@example.com").at(-1)!.text, `${TEST_APP_URL}/confirm?token=`));
    expect(await rowOf("later@example.com")).toMatchObject({ status: "active", firstName: "Lou" });
  });

  it("rate-limit counters are kept for the longest configured window, not less", async () => {
    const week = 7 * DAY;
    const deps = { ...t.deps, config: { ...t.config, signupLimits: { ...t.config.signupLimits, perAddress: { limit: 3, windowMs: week } } } };
    await hitRateLimit(t.db, "key", { limit: 3, windowMs: week }, t.clock.now());
    t.clock.advance(3 * DAY);
    await runHousekeeping(deps);
    expect(await t.db.$count(rateLimits)).toBe(1);
    t.clock.advance(week);
    await runHousekeeping(deps);
    expect(await t.db.$count(rateLimits)).toBe(0);
  });
});
