import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config";
import { lessonByNumber } from "../src/course";
import { runDispatch } from "../src/drip/dispatch";
import { composeLessonEmail } from "../src/drip/lesson-email";
import { lessonTemplate } from "../src/mail/emails";
import { createOutboxMailer, listOutbox } from "../src/mail/outbox";
import { createSubscriber } from "./support/factories";
import { confirmByClick, signUp } from "./support/signup";
import { createTestContext, linkIn, TEST_APP_URL, testConfig, type TestContext } from "./support/test-app";

const INVITATION = "Just reply to this email.";
const REPLY_TO = "Natural Acne Medicine team <team@example.com>";

let t: TestContext | undefined;
afterEach(async () => t?.close());

async function signUpAndConfirm(context: TestContext, email: string) {
  await signUp(context, { email, firstName: "Ana", timeZone: "UTC" });
  const [confirmation] = context.resend.emailsTo(email);
  await confirmByClick(context.app, linkIn(confirmation!.text, `${TEST_APP_URL}/confirm?token=`));
  return confirmation!;
}

describe("REPLY_TO", () => {
  it("sets the Reply-To of lessons, and lesson 1 invites the reader to reply", async () => {
    t = await createTestContext({ env: { REPLY_TO } });
    const subscriber = await createSubscriber(t.db, t.clock.now());
    await runDispatch(t.deps);
    const [lesson] = t.resend.emailsTo(subscriber.email);
    expect(lesson?.reply_to).toEqual(REPLY_TO);
    expect(lesson?.from).toBe(t.config.mailFrom);
    expect(lesson?.text).toContain(INVITATION);
    // Out-of-office responders that honour these stay quiet (RFC 3834; Exchange).
    expect(lesson?.headers).toMatchObject({ "Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "OOF, AutoReply" });
  });

  it("never sets a Reply-To on the confirmation email", async () => {
    t = await createTestContext({ env: { REPLY_TO } });
    const confirmation = await signUpAndConfirm(t, "reply-confirm@example.com");
    expect(confirmation.reply_to).toBeUndefined();
  });

  it("is off by default: no Reply-To, and lesson 1 does not mention replying", async () => {
    t = await createTestContext();
    const subscriber = await createSubscriber(t.db, t.clock.now());
    await runDispatch(t.deps);
    const [lesson] = t.resend.emailsTo(subscriber.email);
    expect(lesson?.reply_to).toBeUndefined();
    expect(lesson?.text).not.toContain(INVITATION);
    expect(lesson?.html).not.toContain(INVITATION);
  });

  it("refuses a value that is not an address, naming the variable", () => {
    expect(() => loadConfig({ REPLY_TO: "not an address" })).toThrow(/REPLY_TO: must be an email address/);
    expect(() => loadConfig({ REPLY_TO: "a@b.example\r\nBcc: x@y.example" })).toThrow(/REPLY_TO/);
    expect(loadConfig({ REPLY_TO: "hello@example.com" }).replyTo).toBe("hello@example.com");
    expect(loadConfig({}).replyTo).toBeUndefined();
  });

  it("is written to the outbox JSON as replyTo", async () => {
    const dir = mkdtempSync(join(tmpdir(), "reply-to-outbox-"));
    try {
      const config = testConfig({ REPLY_TO });
      const lesson = lessonByNumber(1)!;
      const email = await composeLessonEmail(config, lesson, await lessonTemplate(lesson, config), {
        subscriberId: "s-1",
        email: "reader@example.com",
        firstName: null,
        run: 1,
      });
      await createOutboxMailer(join(dir, "outbox")).send(email);
      const [file] = await listOutbox(join(dir, "outbox"));
      const stored = JSON.parse(readFileSync(join(dir, "outbox", file!), "utf8")) as { replyTo?: string; from: string; text: string };
      expect(stored.replyTo).toBe(REPLY_TO);
      expect(stored.from).toBe(config.mailFrom);
      expect(stored.text).toContain(INVITATION);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
