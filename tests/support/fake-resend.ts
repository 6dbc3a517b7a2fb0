import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A stand-in for Resend's HTTP API on loopback, so tests drive the real SDK over real HTTP.
 * It records every accepted email, honours Idempotency-Key like Resend (same key, same answer,
 * nothing sent twice), and can be told to fail: `failNext(status)`, `hangNext()`.
 * Batch validation as Resend documents it (`x-batch-validation`): an email whose `to` is malformed
 * or listed in `refuse` fails the whole batch with a 422 (`strict`, the default), or (`permissive`)
 * only itself: the others are sent and the answer lists it in `errors` by index.
 */

export interface CapturedEmail {
  from: string;
  to: string[];
  subject: string;
  html: string;
  text: string;
  headers?: Record<string, string>;
  tags?: { name: string; value: string }[];
  /** As the SDK sends it (snake case), when the email has a Reply-To. */
  reply_to?: string | string[];
  id: string;
  idempotencyKey?: string;
}

type Fault =
  | { kind: "status"; status: number; headers?: Record<string, string>; body?: unknown }
  | { kind: "hang" }
  | { kind: "slow"; ms: number }
  | { kind: "hold"; arrived: () => void; released: Promise<void> }
  | { kind: "drop"; accept: boolean };

export interface FakeResend {
  url: string;
  emails: CapturedEmail[];
  /** How many emails were accepted in all (kept even when not recording). */
  accepted: number;
  /** Every request received, including refused ones: `POST /emails/batch 429`. */
  requests: { path: string; status: number; count: number; idempotencyKey?: string }[];
  failNext(status: number, options?: { headers?: Record<string, string>; body?: unknown; times?: number }): void;
  hangNext(times?: number): void;
  /** Accept the next request (the emails count as sent) but answer only after `ms`. */
  slowNext(ms: number): void;
  /**
   * Hold the next request until `release()`, then answer it normally: a provider as slow as the
   * test wants, with no timer involved. `arrived` resolves once the request is in.
   */
  holdNext(): { arrived: Promise<void>; release(): void };
  /**
   * Close the connection of the next request without an answer, after accepting its emails when
   * `accept` is set: the sender sees a network error whatever the machine's speed.
   */
  dropNext(options?: { accept?: boolean }): void;
  /** Addresses Resend's validation refuses, besides malformed ones (lower case). */
  refuse: Set<string>;
  /** Extra headers on every successful answer (rate-limit state, for instance). */
  successHeaders: Record<string, string>;
  emailsTo(address: string): CapturedEmail[];
  reset(): void;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

const INVALID_TO = "Invalid `to` field. The email address needs to follow the `email@example.com` format.";

/** Resend's check of `to`: one to fifty well-formed addresses, none of them refused. */
function isValidRecipient(to: unknown, refuse: Set<string>): boolean {
  const list = Array.isArray(to) ? to : [to];
  return list.length > 0 && list.length <= 50 && list.every((a) => typeof a === "string" && /^[^\s@]+@[^\s@]+$/.test(a) && !refuse.has(a.toLowerCase()));
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

/**
 * `record: false` keeps only counts (for benchmarks that send a hundred thousand emails), so the
 * fake's memory stays flat; `latencyMs` delays every answer, as a real API over the internet does.
 */
export async function startFakeResend(options: { record?: boolean; port?: number; latencyMs?: number } = {}): Promise<FakeResend> {
  const record = options.record ?? true;
  const latencyMs = options.latencyMs ?? 0;
  const faults: Fault[] = [];
  const hung: ServerResponse[] = [];
  const idempotent = new Map<string, { status: number; body: unknown; payload: string }>();
  let nextId = 1;

  const fake: FakeResend = {
    url: "",
    emails: [],
    accepted: 0,
    requests: [],
    refuse: new Set(),
    successHeaders: {},
    failNext(status, options = {}) {
      for (let i = 0; i < (options.times ?? 1); i++) faults.push({ kind: "status", status, headers: options.headers, body: options.body });
    },
    hangNext(times = 1) {
      for (let i = 0; i < times; i++) faults.push({ kind: "hang" });
    },
    slowNext(ms) {
      faults.push({ kind: "slow", ms });
    },
    holdNext() {
      let arrived!: () => void;
      let release!: () => void;
      const arrival = new Promise<void>((resolve) => (arrived = resolve));
      const released = new Promise<void>((resolve) => (release = resolve));
      faults.push({ kind: "hold", arrived, released });
      return { arrived: arrival, release };
    },
    dropNext(options = {}) {
      faults.push({ kind: "drop", accept: options.accept ?? false });
    },
    emailsTo(address) {
      return fake.emails.filter((email) => email.to.includes(address));
    },
    reset() {
      fake.emails.length = 0;
      fake.requests.length = 0;
      faults.length = 0;
      idempotent.clear();
      fake.refuse.clear();
      fake.successHeaders = {};
    },
    async close() {
      for (const res of hung) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  const server = createServer(async (req, res) => {
    const path = req.url ?? "/";
    const raw = await readBody(req);
    const key = req.headers["idempotency-key"] as string | undefined;
    const isBatch = path === "/emails/batch";
    if (req.method !== "POST" || (path !== "/emails" && !isBatch)) {
      return send(res, 404, { statusCode: 404, name: "not_found", message: "Not found" });
    }
    let payload: unknown;
    try {
      payload = JSON.parse(raw);
    } catch {
      return send(res, 422, { statusCode: 422, name: "validation_error", message: "Invalid JSON" });
    }
    const items = (isBatch ? payload : [payload]) as Omit<CapturedEmail, "id">[];

    if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
    const fault = faults.shift();
    if (fault?.kind === "slow") await new Promise((resolve) => setTimeout(resolve, fault.ms));
    if (fault?.kind === "hold") {
      fault.arrived();
      await fault.released;
    }
    if (fault?.kind === "drop") {
      if (fault.accept) {
        const ids = items.map((item) => {
          const id = `fake-${nextId++}`;
          fake.emails.push({ ...item, id, idempotencyKey: key });
          return id;
        });
        fake.accepted += items.length;
        const body = isBatch ? { data: ids.map((id) => ({ id })) } : { id: ids[0] };
        if (key) idempotent.set(`${path}:${key}`, { status: 200, body, payload: raw });
      }
      fake.requests.push({ path, status: 0, count: items.length, idempotencyKey: key });
      req.socket.destroy();
      return;
    }
    if (fault?.kind === "hang") {
      fake.requests.push({ path, status: 0, count: items.length, idempotencyKey: key });
      hung.push(res);
      return;
    }
    if (fault?.kind === "status") {
      fake.requests.push({ path, status: fault.status, count: items.length, idempotencyKey: key });
      return send(res, fault.status, fault.body ?? { statusCode: fault.status, name: "fake_error", message: `Fake ${fault.status}` }, fault.headers);
    }

    if (isBatch && items.length > 100) {
      return send(res, 422, { statusCode: 422, name: "validation_error", message: "Too many emails in batch" });
    }
    const previous = key ? idempotent.get(`${path}:${key}`) : undefined;
    if (previous && previous.payload !== raw) {
      // Resend refuses a key reused with a different payload.
      fake.requests.push({ path, status: 409, count: items.length, idempotencyKey: key });
      return send(res, 409, { statusCode: 409, name: "invalid_idempotent_request", message: "Same idempotency key used with a different payload" });
    }
    if (previous) {
      fake.requests.push({ path, status: previous.status, count: items.length, idempotencyKey: key });
      return send(res, previous.status, previous.body, fake.successHeaders);
    }
    const invalid = items.flatMap((item, index) => (isValidRecipient(item.to, fake.refuse) ? [] : [index]));
    const permissive = isBatch && req.headers["x-batch-validation"] === "permissive";
    if (invalid.length > 0 && !permissive) {
      fake.requests.push({ path, status: 422, count: items.length, idempotencyKey: key });
      return send(res, 422, { statusCode: 422, name: "validation_error", message: INVALID_TO });
    }
    const ids = items.flatMap((item, index) => {
      if (invalid.includes(index)) return [];
      const id = `fake-${nextId++}`;
      if (record) fake.emails.push({ ...item, id, idempotencyKey: key });
      return [id];
    });
    const errors = invalid.map((index) => ({ index, message: INVALID_TO }));
    const body = isBatch ? { data: ids.map((id) => ({ id })), ...(permissive && { errors }) } : { id: ids[0] };
    if (key && record) idempotent.set(`${path}:${key}`, { status: 200, body, payload: raw });
    if (record) fake.requests.push({ path, status: 200, count: items.length, idempotencyKey: key });
    fake.accepted += ids.length;
    send(res, 200, body, fake.successHeaders);
  });

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}
