import { mkdtempSync, rmSync } from "node:fs";
import { readdir, readFile, rename, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { OutgoingEmail } from "../src/mail/mailer";
import { createOutboxMailer, listOutbox, readOutboxMessage } from "../src/mail/outbox";
import { createTestClock } from "./support/test-app";

let root: string;
let dir: string;
beforeEach(() => {
  // The key records live beside the outbox folder, so each test gets a parent folder of its own.
  root = mkdtempSync(join(tmpdir(), "outbox-test-"));
  dir = join(root, "outbox");
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function email(n: number): OutgoingEmail {
  return {
    to: `reader${n}@example.com`,
    from: "Natural Acne Medicine <lessons@localhost>",
    subject: `Lesson ${n}`,
    html: `<p>Lesson ${n}</p>`,
    text: `Lesson ${n}`,
    headers: { "List-Unsubscribe": `<http://localhost:3000/unsubscribe/tok${n}>`, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click" },
    tags: [{ name: "category", value: "lesson" }],
  };
}

const batch = [email(1), email(2), email(3)];

async function subjects(): Promise<string[]> {
  const names = await listOutbox(dir);
  return Promise.all(names.map(async (name) => (await readOutboxMessage(dir, name.replace(/\.json$/, "")))!.subject));
}

describe("outbox mailer", () => {
  it("two outboxes on one folder (the server and the CLI) write a batch with the same idempotency key once", async () => {
    const server = createOutboxMailer(dir);
    const cli = createOutboxMailer(dir);
    const first = await server.sendBatch(batch, { idempotencyKey: "batch-key-1" });
    const replay = await cli.sendBatch(batch, { idempotencyKey: "batch-key-1" });
    expect(first.ok && replay.ok).toBe(true);
    expect(replay).toEqual(first);
    expect(await subjects()).toEqual(["Lesson 1", "Lesson 2", "Lesson 3"]);
  });

  it("two outboxes sending the same key at the same moment write it once and both get the same ids", async () => {
    const [a, b] = await Promise.all([
      createOutboxMailer(dir).sendBatch(batch, { idempotencyKey: "racing-key" }),
      createOutboxMailer(dir).sendBatch(batch, { idempotencyKey: "racing-key" }),
    ]);
    expect(a).toEqual(b);
    expect(await subjects()).toEqual(["Lesson 1", "Lesson 2", "Lesson 3"]);
  });

  it("a single send repeated with its key returns the first id and writes nothing more", async () => {
    const first = await createOutboxMailer(dir).send(email(1), { idempotencyKey: "single" });
    const again = await createOutboxMailer(dir).send(email(1), { idempotencyKey: "single" });
    expect(again).toEqual(first);
    expect(await listOutbox(dir)).toHaveLength(1);
  });

  it("sends without a key, or with different keys, are all written", async () => {
    const mailer = createOutboxMailer(dir);
    await mailer.send(email(1));
    await mailer.send(email(1));
    await mailer.sendBatch(batch, { idempotencyKey: "a" });
    await mailer.sendBatch(batch, { idempotencyKey: "b" });
    expect(await listOutbox(dir)).toHaveLength(8);
  });

  it("two outboxes in one process never give two emails sent in the same millisecond the same file", async () => {
    const clock = createTestClock();
    await createOutboxMailer(dir, clock.now).send(email(1));
    await createOutboxMailer(dir, clock.now).send(email(2));
    expect(await subjects()).toEqual(["Lesson 1", "Lesson 2"]);
  });

  it("a replay after a crash between recording the key and publishing the emails publishes them once", async () => {
    const first = await createOutboxMailer(dir).sendBatch(batch, { idempotencyKey: "crash-key" });
    if (!first.ok) throw new Error("send failed");
    // Put the files back where they were before the crash: recorded, staged, not yet in the outbox.
    for (const id of first.ids) await rename(join(dir, `${id}.json`), join(dir, `.${id}.json.partial`));
    expect(await listOutbox(dir)).toEqual([]);

    expect(await createOutboxMailer(dir).sendBatch(batch, { idempotencyKey: "crash-key" })).toEqual(first);
    expect(await subjects()).toEqual(["Lesson 1", "Lesson 2", "Lesson 3"]);
  });

  it("names files so that they sort by send time, across outboxes", async () => {
    const clock = createTestClock(Date.parse("2026-03-02T09:00:00Z"));
    const server = createOutboxMailer(dir, clock.now);
    const cli = createOutboxMailer(dir, clock.now);
    await server.send(email(1));
    clock.advance(1);
    await cli.send(email(2));
    await server.send(email(3)); // same millisecond as the one before
    clock.set("2026-03-02T10:00:00Z");
    await cli.sendBatch([email(4), email(5)], { idempotencyKey: "later" });
    clock.set("2026-03-03T08:00:00Z");
    await server.send(email(6));
    expect(await subjects()).toEqual(["Lesson 1", "Lesson 2", "Lesson 3", "Lesson 4", "Lesson 5", "Lesson 6"]);
  });

  it("writes one JSON file per email with to, from, subject, html, text, headers and tags", async () => {
    const result = await createOutboxMailer(dir).sendBatch(batch, { idempotencyKey: "fields" });
    if (!result.ok) throw new Error("send failed");
    for (const [i, id] of result.ids.entries()) {
      const stored = JSON.parse(await readFile(join(dir, `${id}.json`), "utf8")) as Record<string, unknown>;
      expect(stored).toMatchObject({ ...batch[i], id });
      for (const field of ["to", "from", "subject", "html", "text", "headers", "tags"]) expect(stored).toHaveProperty(field);
    }
  });

  it("gives an email without headers or tags empty ones, so every file has the same shape", async () => {
    const { headers: _h, tags: _t, ...bare } = email(1);
    const result = await createOutboxMailer(dir).send(bare);
    if (!result.ok) throw new Error("send failed");
    expect(await readOutboxMessage(dir, result.id)).toMatchObject({ headers: {}, tags: [] });
  });

  it("keeps nothing but the emails in the outbox folder: key records go in a hidden folder beside it", async () => {
    await createOutboxMailer(dir).sendBatch(batch, { idempotencyKey: "hidden" });
    const files = await readdir(dir);
    expect(files).toHaveLength(3);
    for (const name of files) expect(name).toMatch(/^\d{4}-\d{2}-\d{2}T[\w-]+\.json$/);
    expect(await listOutbox(dir)).toEqual(files.sort());
    expect(await readdir(root)).toEqual(expect.arrayContaining(["outbox", ".outbox-idempotency"]));
    expect(await readdir(join(root, ".outbox-idempotency"))).toHaveLength(1);
  });

  it("lists only finished emails, not one still being written", async () => {
    const result = await createOutboxMailer(dir).send(email(1));
    if (!result.ok) throw new Error("send failed");
    await writeFile(join(dir, ".2026-03-02T12-00-00-000Z-0000001-000009.json.partial"), "{");
    expect(await listOutbox(dir)).toEqual([`${result.id}.json`]);
  });

  it("an outbox folder that does not exist yet lists as empty", async () => {
    expect(await listOutbox(join(dir, "missing"))).toEqual([]);
  });
});
