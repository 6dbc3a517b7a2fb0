import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Mailer, OutgoingEmail } from "./mailer";

/**
 * Development transport: each email becomes one JSON file in `dir`, named so `ls` sorts by send
 * time. Node only (it writes files); the Node server lists them at /dev/outbox.
 */
export interface OutboxMessage extends OutgoingEmail {
  id: string;
  sentAt: string;
  idempotencyKey?: string;
}

export function createOutboxMailer(dir: string, clock: () => number = Date.now): Mailer {
  let sequence = 0;
  const seen = new Map<string, string[]>();

  async function write(email: OutgoingEmail, idempotencyKey?: string): Promise<string> {
    const sentAt = new Date(clock()).toISOString();
    sequence = (sequence + 1) % 1_000_000;
    const id = `${sentAt.replace(/[:.]/g, "-")}-${String(process.pid % 100_000).padStart(5, "0")}-${String(sequence).padStart(6, "0")}`;
    const message: OutboxMessage = { id, sentAt, idempotencyKey, headers: {}, tags: [], ...email };
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, `${id}.json`), `${JSON.stringify(message, null, 2)}\n`);
    return id;
  }

  // Like Resend, a repeated idempotency key returns the first result instead of sending again.
  async function once(key: string | undefined, sendAll: () => Promise<string[]>): Promise<string[]> {
    if (key === undefined) return sendAll();
    const previous = seen.get(key);
    if (previous) return previous;
    const ids = await sendAll();
    seen.set(key, ids);
    return ids;
  }

  return {
    kind: "outbox",
    async send(email, options) {
      const [id] = await once(options?.idempotencyKey, async () => [await write(email, options?.idempotencyKey)]);
      return { ok: true, id: id! };
    },
    async sendBatch(emails, options) {
      const ids = await once(options?.idempotencyKey, async () => {
        const written: string[] = [];
        for (const email of emails) written.push(await write(email, options?.idempotencyKey));
        return written;
      });
      return { ok: true, ids };
    },
  };
}

export async function listOutbox(dir: string): Promise<string[]> {
  try {
    const names = await readdir(dir);
    return names.filter((name) => name.endsWith(".json")).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}

export async function readOutboxMessage(dir: string, id: string): Promise<OutboxMessage | null> {
  // Ids are our own file names; refuse anything else so the route cannot read outside `dir`.
  if (!/^[\w-]+$/.test(id)) return null;
  try {
    return JSON.parse(await readFile(join(dir, `${id}.json`), "utf8")) as OutboxMessage;
  } catch {
    return null;
  }
}
