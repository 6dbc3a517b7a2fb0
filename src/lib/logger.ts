/**
 * Structured logs: one JSON object per line. Callers pass counts, ids and codes; never an email
 * address, a name or a token (personal data stays in the database).
 */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

export function createLogger(write: (line: string) => void = (line) => console.log(line)): Logger {
  const emit = (level: string, event: string, fields: LogFields = {}) =>
    write(JSON.stringify({ time: new Date().toISOString(), level, event, ...fields }));
  return {
    info: (event, fields) => emit("info", event, fields),
    warn: (event, fields) => emit("warn", event, fields),
    error: (event, fields) => emit("error", event, fields),
  };
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };

/**
 * The token in a link of ours: a path segment after /manage/, /unsubscribe/, /feedback/ or
 * /confirm/, or a `token=` query value. Lesson emails' tokens are base64url without dots
 * (src/lib/link-token.ts), so the JWT shape alone would miss them.
 */
const LINK_TOKEN = /(\/(?:manage|unsubscribe|feedback|confirm)\/|[?&]token=)[\w.%-]{16,}/g;

/** Masks anything shaped like an email address or a signed token in free text (provider messages). */
export function maskPersonalData(text: string): string {
  return text
    .replace(/[^\s@"'<>(),;]+@[^\s@"'<>(),;]+/g, "[address]")
    .replace(LINK_TOKEN, "$1[token]")
    .replace(/eyJ[\w-]*\.[\w-]*\.[\w-]*/g, "[token]");
}

/**
 * What an operator may see of an error: its kind and what failed, never the values involved. A
 * failed drizzle query's message lists the statement's parameters (addresses, names, tokens), so
 * only the statement is kept; anything shaped like an address or a signed token is masked too.
 */
export function errorFields(error: unknown): LogFields {
  if (!(error instanceof Error)) return { error: typeof error };
  const cause = error.cause instanceof Error ? error.cause : undefined;
  const code = (cause as { code?: unknown } | undefined)?.code;
  const message = maskPersonalData(error.message.split("\nparams:")[0] ?? "").slice(0, 500);
  return { error: error.name, message, ...(cause && { cause: cause.name }), ...(typeof code === "string" && { causeCode: code }) };
}
