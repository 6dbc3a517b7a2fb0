import { Buffer } from "node:buffer";
import nodeCrypto from "node:crypto";

/**
 * The one link token of a lesson email: names the subscriber, the course, the run and the lesson,
 * with a truncated HMAC-SHA-256 over them. Every link of that email (manage, unsubscribe, view in
 * browser, the two feedback answers) carries the same token and the path says the action, so an
 * email costs one MAC where it cost four JWT signatures. What a token opens is decided by the
 * route (src/lib/tokens.ts `verifyToken`): managing that subscriber, leaving that course, viewing
 * that lesson, voting on that lesson in that run. Never a confirmation, never the console, never
 * another lesson.
 *
 * Format (version 1), base64url without padding, no dots (so never mistaken for a JWT):
 *   format byte (1: id is a UUID, as 16 bytes; 2: id as 1 length byte + UTF-8)
 *   ‖ subscriber id ‖ run (LEB128) ‖ lesson (LEB128) ‖ course slug (UTF-8, the rest)
 *   ‖ tag: the first 16 bytes (128 bits, NIST SP 800-107 §5.3.4) of
 *     HMAC-SHA-256(K, everything before it), K = HMAC-SHA-256(APP_SECRET, "lesson-email-links/1").
 * K is derived so these MACs never share a key with the JWTs and address hashes keyed with the
 * secret itself. A token for a UUID subscriber and "clear-skin" is 60 characters.
 *
 * Revocation: the subscriber id is a random UUID minted at signup (src/lib/ids.ts) and erased with
 * the row when the person deletes their data; signing up again mints a new one, so a deleted
 * person's links open nothing, theirs or the newcomer's. Rotating APP_SECRET revokes every link.
 *
 * node:crypto's createHmac (Node, and workerd under `nodejs_compat`) rather than WebCrypto: it is
 * synchronous and about 4 µs against about 16 µs of CPU for `crypto.subtle.sign` on Node 20
 * (`npm run bench:links`).
 */

export interface EmailLinkClaims {
  subscriberId: string;
  /** The course's slug. */
  course: string;
  /** The enrollment run the email was sent in (≥ 1). */
  run: number;
  /** The lesson number (≥ 1). */
  lesson: number;
}

const TAG_BYTES = 16;
const FORMAT_UUID = 1;
const FORMAT_TEXT_ID = 2;
const MAX_TEXT = 100;
const MAX_NUMBER = 0xffff_ffff;
/** Longer than any token this module makes (a 100-byte id and a 100-byte slug). */
const MAX_TOKEN_CHARS = 400;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** Derived per secret once per process or isolate. */
const keys = new Map<string, Buffer>();

function linkKey(secret: string): Buffer {
  let key = keys.get(secret);
  if (!key) {
    key = nodeCrypto.createHmac("sha256", secret).update("lesson-email-links/1").digest();
    keys.set(secret, key);
  }
  return key;
}

function tag(secret: string, payload: Uint8Array): Buffer {
  // Called through the module object (not a named import) so tests can count the MACs with vi.spyOn.
  return nodeCrypto.createHmac("sha256", linkKey(secret)).update(payload).digest().subarray(0, TAG_BYTES);
}

/** Writes `n` as LEB128 at `at`; the next free offset. */
function writeNumber(out: Buffer, at: number, n: number): number {
  let i = at;
  let rest = n;
  while (rest >= 0x80) {
    out[i++] = (rest % 0x80) | 0x80;
    rest = Math.floor(rest / 0x80);
  }
  out[i++] = rest;
  return i;
}

/** Room for a LEB128 number up to 2^32 − 1. */
const NUMBER_BYTES = 5;

/**
 * The token for one lesson email (a pure function of its inputs). Throws RangeError for claims no
 * email has: run or lesson not an integer in 1..2^32−1, an empty or over-100-byte course or id.
 * Written straight into one buffer: this runs once per email sent.
 */
export function signEmailLinkToken(secret: string, claims: EmailLinkClaims): string {
  const { subscriberId, course, run, lesson } = claims;
  for (const n of [run, lesson]) if (!Number.isInteger(n) || n < 1 || n > MAX_NUMBER) throw new RangeError("run and lesson must be integers from 1");
  const slugBytes = Buffer.byteLength(course, "utf8");
  if (slugBytes === 0 || slugBytes > MAX_TEXT) throw new RangeError("course slug must be 1 to 100 bytes");
  const isUuid = UUID.test(subscriberId);
  const idBytes = isUuid ? 16 : Buffer.byteLength(subscriberId, "utf8");
  if (idBytes === 0 || idBytes > MAX_TEXT) throw new RangeError("subscriber id must be 1 to 100 bytes");
  const out = Buffer.allocUnsafe(2 + idBytes + 2 * NUMBER_BYTES + slugBytes + TAG_BYTES);
  let at: number;
  if (isUuid) {
    out[0] = FORMAT_UUID;
    at = 1 + out.write(subscriberId.replaceAll("-", ""), 1, "hex");
  } else {
    out[0] = FORMAT_TEXT_ID;
    out[1] = idBytes;
    at = 2 + out.write(subscriberId, 2, "utf8");
  }
  at = writeNumber(out, at, run);
  at = writeNumber(out, at, lesson);
  at += out.write(course, at, "utf8");
  tag(secret, out.subarray(0, at)).copy(out, at);
  return out.toString("base64url", 0, at + TAG_BYTES);
}

/** Whether `token` has the shape of an email link token (not a JWT); says nothing of its validity. */
export function isEmailLinkToken(token: string): boolean {
  return token.length > 0 && token.length <= MAX_TOKEN_CHARS && BASE64URL.test(token);
}

/** Reads a LEB128 number at `at`; undefined past the end or above MAX_NUMBER. */
function readNumber(bytes: Uint8Array, at: number): { value: number; next: number } | undefined {
  let value = 0;
  for (let i = at, scale = 1; i < bytes.length && i < at + 5; i++, scale *= 0x80) {
    value += (bytes[i]! & 0x7f) * scale;
    if (bytes[i]! < 0x80) return value <= MAX_NUMBER ? { value, next: i + 1 } : undefined;
  }
  return undefined;
}

function uuidOf(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function parsePayload(payload: Buffer): EmailLinkClaims | undefined {
  let at: number;
  let subscriberId: string;
  if (payload[0] === FORMAT_UUID && payload.length >= 17) {
    subscriberId = uuidOf(payload.subarray(1, 17).toString("hex"));
    at = 17;
  } else if (payload[0] === FORMAT_TEXT_ID && payload.length >= 2) {
    const length = payload[1]!;
    subscriberId = payload.subarray(2, 2 + length).toString("utf8");
    at = 2 + length;
    if (length === 0 || at > payload.length) return undefined;
  } else {
    return undefined;
  }
  const run = readNumber(payload, at);
  const lesson = run && readNumber(payload, run.next);
  if (!run || !lesson || run.value < 1 || lesson.value < 1) return undefined;
  const course = payload.subarray(lesson.next).toString("utf8");
  if (course.length === 0 || lesson.next + MAX_TEXT < payload.length) return undefined;
  return { subscriberId, course, run: run.value, lesson: lesson.value };
}

/**
 * The claims of a genuine token, or null for anything else (wrong shape, tampered, cut short,
 * signed with another secret). The tag is compared in constant time (`timingSafeEqual`).
 */
export function verifyEmailLinkToken(secret: string, token: string): EmailLinkClaims | null {
  if (!isEmailLinkToken(token)) return null;
  const bytes = Buffer.from(token, "base64url");
  // One spelling per token: trailing bits that base64url decoding would ignore make it another string.
  if (bytes.length <= TAG_BYTES + 2 || bytes.toString("base64url") !== token) return null;
  const payload = bytes.subarray(0, bytes.length - TAG_BYTES);
  const expected = tag(secret, payload);
  if (!nodeCrypto.timingSafeEqual(expected, bytes.subarray(bytes.length - TAG_BYTES))) return null;
  return parsePayload(payload) ?? null;
}
