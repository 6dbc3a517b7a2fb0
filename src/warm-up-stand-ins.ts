/**
 * The stand-ins src/warm-up.ts runs under. A Worker's global scope may not do I/O, start timers,
 * draw random values or build a Request, a Response or an AbortController (workerd throws
 * "Disallowed operation called within global scope"), yet the code paths worth compiling do all
 * of these. So for the duration of one call, `withStandIns` replaces those globals with in-memory stand-ins, and puts every one
 * back before it returns or throws. Nothing here is ever reachable from a request: the warm-up
 * runs, and ends, before the isolate's first event.
 */

type Value = { type: "null" } | { type: "integer" | "text"; value: string } | { type: "float"; value: number } | { type: "blob"; base64: string };
type Stmt = { sql?: string; sql_id?: number; args?: Value[] };
type HranaRequest = { type: string; stmt?: Stmt; batch?: { steps: { stmt: Stmt }[] }; sql_id?: number; sql?: string };
type StmtResult = { cols: { name: string }[]; rows: Value[][]; affected_row_count: number; last_insert_rowid: null };

export interface StandIns {
  /** `fetch` for the libSQL client: a Hrana-over-HTTP (v2, JSON) server in memory. */
  database: typeof fetch;
  /** Emails the stand-in Resend API has taken so far. */
  emailsSent(): number;
}

/** Runs `run` with the globals replaced (see above); restores them however it ends. */
export async function withStandIns<T>(run: (standIns: StandIns) => Promise<T>): Promise<T> {
  let emails = 0;
  const database = inertDatabase();
  // Each swap's undo is kept as soon as it is made, so a swap the runtime refuses still puts back
  // the ones made before it; one undo that throws does not stop the rest.
  const restore: (() => void)[] = [];
  try {
    restore.push(
      swap(globalThis, "Request", InertRequest),
      swap(globalThis, "Response", InertResponse),
      swap(globalThis, "fetch", async (input: unknown, init?: RequestInit) => {
        const body: unknown = JSON.parse((await new InertRequest(input as string, init).text()) || "null");
        emails += Array.isArray(body) ? body.length : 1;
        const data = Array.isArray(body) ? { data: body.map((_, i) => ({ id: `warm-up-${i}` })) } : { id: "warm-up" };
        return InertResponse.json(data, { headers: { "ratelimit-remaining": "10", "ratelimit-reset": "1" } });
      }),
    );
    // A zero-delay turn becomes a microtask; nothing in the warm-up waits longer.
    restore.push(swap(globalThis, "setTimeout", (callback: () => void) => (queueMicrotask(callback), 0)));
    // No signal at all: even an AbortController may not be made in global scope.
    restore.push(swap(AbortSignal, "timeout", () => undefined));
    // Ids and IVs of rows and links that only the stand-ins ever see: counted, not random.
    restore.push(swap(crypto, "randomUUID", counterUuid()));
    restore.push(swap(crypto, "getRandomValues", <A extends ArrayBufferView | null>(array: A) => array));
    return await run({ database: database as unknown as typeof fetch, emailsSent: () => emails });
  } finally {
    for (const undo of restore.reverse()) {
      try {
        undo();
      } catch {
        // Nothing more can be done for this one; the others still go back.
      }
    }
  }
}

/** Sets `target[key]` and returns how to put the old one back (an inherited one by deleting the own). */
function swap(target: object, key: string, value: unknown): () => void {
  const own = Object.getOwnPropertyDescriptor(target, key);
  Object.defineProperty(target, key, {
    value,
    configurable: true,
    writable: true,
    enumerable: own?.enumerable ?? false,
  });
  return () => {
    if (own) Object.defineProperty(target, key, own);
    else delete (target as Record<string, unknown>)[key];
  };
}

function counterUuid() {
  let n = 0;
  return () => `00000000-0000-4000-8000-${String(++n).padStart(12, "0")}`;
}

type Body = string | Uint8Array | ArrayBuffer | URLSearchParams | null | undefined;

function textOf(body: unknown): string {
  if (body === null || body === undefined) return "";
  if (typeof body === "string") return body;
  if (body instanceof Uint8Array || body instanceof ArrayBuffer) return new TextDecoder().decode(body);
  if (body instanceof URLSearchParams) return body.toString();
  throw new TypeError("the warm-up's stand-in Request and Response take text bodies only");
}

/** What the warm-up's code reads of a body: text, JSON, bytes or a form. */
class InertBody {
  readonly #text: string;
  bodyUsed = false;
  constructor(body: unknown) {
    this.#text = textOf(body);
  }
  get body() {
    return this.#text === "" ? null : this.#text;
  }
  async text() {
    this.bodyUsed = true;
    return this.#text;
  }
  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }
  async arrayBuffer() {
    return new TextEncoder().encode(await this.text()).buffer;
  }
  async formData() {
    const form = new FormData();
    for (const [key, value] of new URLSearchParams(await this.text())) form.append(key, value);
    return form;
  }
}

class InertRequest extends InertBody {
  readonly url: string;
  readonly method: string;
  readonly headers: Headers;
  constructor(input: string | URL | InertRequest, init: RequestInit = {}) {
    super(init.body ?? (input instanceof InertRequest ? input.body : null));
    this.url = input instanceof InertRequest ? input.url : String(input);
    this.method = (init.method ?? (input instanceof InertRequest ? input.method : "GET")).toUpperCase();
    this.headers = new Headers(init.headers ?? (input instanceof InertRequest ? input.headers : undefined));
  }
}

class InertResponse extends InertBody {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  readonly redirected = false;
  readonly type = "default";
  readonly url = "";
  constructor(body?: Body, init: ResponseInit = {}) {
    super(body);
    this.status = init.status ?? 200;
    this.statusText = init.statusText ?? "";
    this.headers = new Headers(init.headers);
  }
  get ok() {
    return this.status >= 200 && this.status < 300;
  }
  static json(data: unknown, init: ResponseInit = {}) {
    const response = new InertResponse(JSON.stringify(data), init);
    if (!response.headers.has("content-type")) response.headers.set("content-type", "application/json");
    return response;
  }
}

const text = (value: string): Value => ({ type: "text", value });
const integer = (value: number): Value => ({ type: "integer", value: String(value) });
const NULL: Value = { type: "null" };
const result = (cols: string[] = [], rows: Value[][] = []): StmtResult => ({
  cols: cols.map((name) => ({ name })),
  rows,
  affected_row_count: rows.length,
  last_insert_rowid: null,
});

const CLAIMED = ["subscriber_id", "run", "next_lesson", "last_sent_at", "email", "first_name", "time_zone", "send_hour"];
const DELIVERY = [
  "id",
  "subscriber_id",
  "course",
  "run",
  "lesson_number",
  "status",
  "attempts",
  "batch_key",
  "batch_id",
  "provider_message_id",
  "last_error",
  "created_at",
  "sent_at",
  "updated_at",
];

/** What the in-memory libSQL server remembers between statements. */
interface DatabaseState {
  claimedCourses: Set<string>;
  deliveries: Set<string>;
  /** Statements the client stored once and names by id (`store_sql`). */
  stored: Map<number, string>;
}

const str = (v: Value | undefined) => (v && "value" in v ? String(v.value) : "");

/**
 * One statement's answer. The few a signup and a pass read back are answered by their SQL: the
 * signup limits' counters and drizzle's `insert … returning` (`insertedRow`); the claim
 * (`UPDATE enrollments SET lease_id`), which returns one due subscriber the first time for each
 * course; the delivery upsert, which returns the rows it was given; the last check before sending
 * (`UPDATE deliveries SET batch_id`), which keeps them. Any other statement succeeds with no rows.
 */
function answer(state: DatabaseState, stmt: Stmt): StmtResult {
  const sql = stmt.sql ?? state.stored.get(stmt.sql_id ?? -1) ?? "";
  const args = stmt.args ?? [];
  if (/UPDATE enrollments SET lease_id/i.test(sql) && /RETURNING/i.test(sql)) {
    const course = str(args[2]);
    if (state.claimedCourses.has(course)) return result(CLAIMED);
    state.claimedCourses.add(course);
    const id = `warm-up-${state.claimedCourses.size}`;
    return result(CLAIMED, [[text(id), integer(1), integer(1), NULL, text("warm-up@example.com"), text("Ada"), text("Europe/Berlin"), NULL]]);
  }
  if (/INSERT INTO deliveries/i.test(sql) && /RETURNING/i.test(sql) && (args.length - 3) % 4 === 0) {
    // The statement's course and time come first, then (id, subscriber, run, lesson) per row.
    const [course, now] = [args[0]!, args[1]!];
    const rows: Value[][] = [];
    for (let i = 3; i + 4 <= args.length; i += 4) {
      state.deliveries.add(str(args[i]));
      rows.push([args[i]!, args[i + 1]!, course, args[i + 2]!, args[i + 3]!, text("sending"), integer(0), NULL, NULL, NULL, NULL, now, NULL, now]);
    }
    return result(DELIVERY, rows);
  }
  if (/^\s*insert into rate_limits/i.test(sql) && /returning count, window_start/i.test(sql)) {
    // A signup's limits: the first hit in a new window, (key, now, …).
    return result(["count", "window_start"], [[integer(1), args[1] ?? integer(0)]]);
  }
  if (/UPDATE deliveries SET batch_id/i.test(sql) && /RETURNING id/i.test(sql)) {
    return result(
      ["id"],
      args.filter((v) => state.deliveries.has(str(v))).map((v) => [v]),
    );
  }
  return insertedRow(sql, args) ?? result();
}

/** One Hrana stream request's answer (`execute`, `batch`, `store_sql`, `close`, …). */
function streamResult(state: DatabaseState, r: HranaRequest) {
  if (r.type === "execute") return { type: "ok", response: { type: "execute", result: answer(state, r.stmt ?? {}) } };
  if (r.type === "batch") {
    const steps = r.batch?.steps ?? [];
    const batch = { step_results: steps.map((s) => answer(state, s.stmt)), step_errors: steps.map(() => null) };
    return { type: "ok", response: { type: "batch", result: batch } };
  }
  if (r.type === "store_sql") state.stored.set(r.sql_id!, r.sql!);
  if (r.type === "get_autocommit") return { type: "ok", response: { type: "get_autocommit", is_autocommit: true } };
  return { type: "ok", response: { type: r.type } };
}

/**
 * A libSQL server in memory (Hrana over HTTP, v2 pipeline, JSON) that knows one due subscriber per
 * course, so a signup and a cron pass go all the way through once (`answer`). The version probe is
 * refused, so the client speaks v2.
 */
function inertDatabase() {
  const state: DatabaseState = { claimedCourses: new Set(), deliveries: new Set(), stored: new Map() };
  return async (input: unknown, init?: RequestInit): Promise<InertResponse> => {
    const request = input instanceof InertRequest ? input : new InertRequest(input as string, init);
    if (request.method !== "POST") return new InertResponse("not found", { status: 404, headers: { "content-type": "text/plain" } });
    const { requests } = (await request.json()) as { requests: HranaRequest[] };
    return InertResponse.json({ baton: null, base_url: null, results: requests.map((r) => streamResult(state, r)) });
  };
}

/**
 * drizzle's single-row `insert into "t" ("a", "b") values (?, null) … returning "a", "b"`: the
 * row as inserted (each `?` takes the next argument), so a signup finds its new subscriber.
 */
function insertedRow(sql: string, args: Value[]): StmtResult | undefined {
  const match = /^insert into "\w+" \(([^)]*)\) values \(([^)]*)\)[^]* returning ((?:"\w+"(?:, )?)+)$/.exec(sql.trim());
  if (!match) return undefined;
  const names = (list: string) => list.split(", ").map((name) => name.replaceAll('"', ""));
  const [columns, tokens, returned] = [names(match[1]!), match[2]!.split(", "), names(match[3]!)];
  if (columns.length !== tokens.length) return undefined;
  let next = 0;
  const values = new Map(columns.map((column, i) => [column, tokens[i] === "?" ? (args[next++] ?? NULL) : NULL]));
  return result(returned, [returned.map((column) => values.get(column) ?? NULL)]);
}
