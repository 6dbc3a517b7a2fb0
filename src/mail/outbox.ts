import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rename, unlink, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import type { Mailer, OutgoingEmail } from "./mailer";

/**
 * Development transport: each email becomes one JSON file in `dir`, named so `ls` sorts by send
 * time. Node only (it writes files); the Node server lists them at /dev/outbox.
 *
 * Like Resend, a repeated idempotency key returns the first result instead of sending again, and
 * that holds across processes (the server and `npm run tick` beside it) and restarts: a dispatcher
 * replaying a batch after a crash must not write it twice.
 * - Keys are recorded in a hidden folder beside the outbox, `.<outbox name>-idempotency/` (so
 *   `data/.outbox-idempotency/` for `data/outbox`), one `<sha256 of key>.json` holding the ids. The
 *   outbox folder itself keeps holding nothing but the emails, for tools that read every file in it.
 *   A record is created with the `wx` flag, so of two writers racing on one key exactly one creates
 *   it; the other returns the ids it holds.
 * - Each email is first written in full to a hidden `.<id>.json.partial` in `dir`, then renamed to
 *   `<id>.json` (a rename is atomic, so a reader never sees half an email). Keyed emails are staged
 *   before the key is recorded and published after; a replay of a recorded key publishes whatever a
 *   crash left staged.
 */
export interface OutboxMessage extends OutgoingEmail {
  id: string;
  sentAt: string;
  idempotencyKey?: string;
}

/** Shared by every outbox in the process, so two of them never name two emails alike. */
let sequence = 0;

function isErrno(error: unknown, code: string): boolean {
  return (error as NodeJS.ErrnoException | null)?.code === code;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function createOutboxMailer(dir: string, clock: () => number = Date.now): Mailer {
  const keysDir = join(dirname(resolve(dir)), `.${basename(resolve(dir))}-idempotency`);
  const staged = (id: string) => join(dir, `.${id}.json.partial`);

  /** Writes the email under a hidden name and returns its id (the final file name). */
  async function stage(email: OutgoingEmail, idempotencyKey?: string): Promise<string> {
    const sentAt = new Date(clock()).toISOString();
    sequence = (sequence + 1) % 1_000_000;
    const id = `${sentAt.replace(/[:.]/g, "-")}-${String(process.pid).padStart(7, "0")}-${String(sequence).padStart(6, "0")}`;
    const message: OutboxMessage = { id, sentAt, idempotencyKey, headers: {}, tags: [], ...email };
    await writeFile(staged(id), `${JSON.stringify(message, null, 2)}\n`);
    return id;
  }

  /** Moves staged emails into the outbox; one already moved (by us or another process) is skipped. */
  async function publish(ids: string[]): Promise<void> {
    for (const id of ids) {
      await rename(staged(id), join(dir, `${id}.json`)).catch((error: unknown) => {
        if (!isErrno(error, "ENOENT")) throw error;
      });
    }
  }

  /** The ids recorded for a key, or null if the key is new. */
  async function recorded(path: string): Promise<string[] | null> {
    for (let attempt = 0; ; attempt++) {
      let raw: string;
      try {
        raw = await readFile(path, "utf8");
      } catch (error) {
        if (isErrno(error, "ENOENT")) return null;
        throw error;
      }
      try {
        const { ids } = JSON.parse(raw) as { ids?: unknown };
        if (Array.isArray(ids) && ids.every((id) => typeof id === "string")) return ids;
      } catch {
        // Fall through: the file is being written.
      }
      // The process that created the record writes its ids straight after; give it a moment.
      if (attempt >= 50) throw new Error(`Unreadable outbox idempotency record: ${path}`);
      await sleep(10);
    }
  }

  async function sendAll(emails: OutgoingEmail[], key: string | undefined): Promise<string[]> {
    await mkdir(dir, { recursive: true });
    if (key === undefined) {
      const ids: string[] = [];
      for (const email of emails) ids.push(await stage(email));
      await publish(ids);
      return ids;
    }

    await mkdir(keysDir, { recursive: true });
    const recordPath = join(keysDir, `${createHash("sha256").update(key).digest("hex")}.json`);
    const previous = await recorded(recordPath);
    if (previous) {
      await publish(previous);
      return previous;
    }

    const ids: string[] = [];
    for (const email of emails) ids.push(await stage(email, key));
    try {
      await writeFile(recordPath, `${JSON.stringify({ ids })}\n`, { flag: "wx" });
    } catch (error) {
      if (!isErrno(error, "EEXIST")) throw error;
      // Another process recorded this key first: its emails count, ours are dropped.
      await Promise.all(ids.map((id) => unlink(staged(id)).catch(() => undefined)));
      const winner = (await recorded(recordPath)) ?? [];
      await publish(winner);
      return winner;
    }
    await publish(ids);
    return ids;
  }

  return {
    kind: "outbox",
    async send(email, options) {
      const [id] = await sendAll([email], options?.idempotencyKey);
      return { ok: true, id: id! };
    },
    async sendBatch(emails, options) {
      return { ok: true, ids: await sendAll(emails, options?.idempotencyKey) };
    },
  };
}

/** The outbox's email files, oldest first; hidden files (emails still being written) are left out. */
export async function listOutbox(dir: string): Promise<string[]> {
  try {
    const names = await readdir(dir);
    return names.filter((name) => name.endsWith(".json") && !name.startsWith(".")).sort();
  } catch (error) {
    if (isErrno(error, "ENOENT")) return [];
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
