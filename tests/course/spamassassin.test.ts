import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import MailComposer from "nodemailer/lib/mail-composer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config";
import { signedConfirmUrl } from "../../src/lib/links";
import { composeConfirmation } from "../../src/mail/compose";
import { createOutboxMailer, type OutboxMessage } from "../../src/mail/outbox";

/**
 * The confirmation email as SpamAssassin sees it, with its local rules only (`-L`: no network
 * tests), on a MIME message built from the outbox JSON. Two wire forms: the quoted-printable that
 * mail libraries write (soft line breaks every 76 characters), and quoted-printable that keeps the
 * HTML's own lines (some relays re-encode that way; SpamAssassin's __LONGLINE then sees any
 * 998-character line, which with the hidden preview text fires LONG_INVISIBLE_TEXT).
 *
 * Needs Debian's `spamassassin` (`apt-get install -y spamassassin`; `.ci/run` installs it). It is
 * never skipped: without it this test fails and says how to install it.
 */

const SPAMASSASSIN = "spamassassin";

function requireSpamAssassin(): void {
  const probe = spawnSync(SPAMASSASSIN, ["-V"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      "SpamAssassin is not installed, so the confirmation email's spam score cannot be measured. " +
        "Install it with `sudo apt-get install -y spamassassin` (Debian/Ubuntu); .ci/run does this in CI.",
    );
  }
}

interface Score {
  points: number;
  rules: string[];
}

function spamScore(message: string): Score {
  const report = execFileSync(SPAMASSASSIN, ["-L", "-t"], { input: message, encoding: "utf8", maxBuffer: 16 * 1024 * 1024 });
  const points = Number(report.match(/Content analysis details:\s+\((-?[\d.]+) points/)?.[1]);
  const rules = [...report.matchAll(/^\s*-?[\d.]+\s+([A-Z][A-Z0-9_]+)\s/gm)].map((m) => m[1]!);
  return { points, rules };
}

const HEADERS = ["Date: Mon, 02 Mar 2026 12:00:00 +0000", "Message-ID: <01JABCDEFGH0123456789@course.example.com>", "MIME-Version: 1.0"];

/** RFC 2045 quoted-printable, but without soft line breaks: the body's own lines, however long. */
function quotedPrintableKeepingLines(body: string): string {
  const bytes = Buffer.from(body.replace(/\r?\n/g, "\r\n"), "utf8").toString("latin1");
  return bytes.replace(/[=\x80-\xff]/g, (ch) => `=${ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`);
}

function mimeKeepingLines(email: OutboxMessage): string {
  const boundary = "=_alt_0123456789";
  const part = (type: string, body: string) =>
    [`--${boundary}`, `Content-Type: ${type}; charset=utf-8`, "Content-Transfer-Encoding: quoted-printable", "", quotedPrintableKeepingLines(body)];
  return [
    `From: ${email.from}`,
    `To: ${email.to}`,
    `Subject: ${email.subject}`,
    ...HEADERS,
    `Content-Type: multipart/alternative; boundary="${boundary}"`,
    "",
    ...part("text/plain", email.text),
    ...part("text/html", email.html),
    `--${boundary}--`,
    "",
  ].join("\r\n");
}

async function mimeByLibrary(email: OutboxMessage): Promise<string> {
  const composer = new MailComposer({
    from: email.from,
    to: email.to,
    subject: email.subject,
    text: email.text,
    html: email.html,
    textEncoding: "quoted-printable",
    date: new Date("2026-03-02T12:00:00Z"),
    messageId: "<01JABCDEFGH0123456789@course.example.com>",
  });
  return (await composer.compile().build()).toString("utf8");
}

let dir: string;
let confirmation: OutboxMessage;

beforeAll(async () => {
  requireSpamAssassin();
  dir = mkdtempSync(join(tmpdir(), "spam-"));
  const config = loadConfig({
    APP_URL: "https://course.example.com",
    APP_SECRET: "spam-test-secret-spam-test-secret-0123456",
    MAIL_FROM: "Natural Acne Medicine <lessons@course.example.com>",
    MAIL_POSTAL_ADDRESS: "Natural Acne Medicine, 12 High Street, Bristol BS1 4DJ, United Kingdom",
  });
  const now = Date.parse("2026-03-02T12:00:00Z");
  const confirmUrl = await signedConfirmUrl(config.appUrl, config.appSecret, "01JABCDEFGH0123456789", 0, now);
  const mailer = createOutboxMailer(dir, () => now);
  const sent = await mailer.send(await composeConfirmation(config, { email: "maya@example.org", firstName: "Maya" }, confirmUrl));
  expect(sent.ok).toBe(true);
  const [file] = readdirSync(dir).filter((name) => name.endsWith(".json"));
  confirmation = JSON.parse(readFileSync(join(dir, file!), "utf8")) as OutboxMessage;
}, 60_000);
afterAll(() => dir && rmSync(dir, { recursive: true, force: true }));

describe("the confirmation email under SpamAssassin's local rules", () => {
  it("scores below 1 when sent as ordinary quoted-printable", async () => {
    const score = spamScore(await mimeByLibrary(confirmation));
    expect(score.points, score.rules.join(", ")).toBeLessThan(1);
  }, 60_000);

  it("scores below 1 even when its HTML is sent as long quoted-printable lines (no LONG_INVISIBLE_TEXT)", () => {
    const score = spamScore(mimeKeepingLines(confirmation));
    expect(score.rules).not.toContain("LONG_INVISIBLE_TEXT");
    expect(score.points, score.rules.join(", ")).toBeLessThan(1);
  }, 60_000);
});
