import { z } from "zod";

/** RFC 5321 §4.5.3.1: a forward path holds at most 256 octets, so an address at most 254. */
export const MAX_EMAIL_LENGTH = 254;
/** RFC 5321 §4.5.3.1.1: at most 64 octets before the `@`. */
export const MAX_LOCAL_PART_LENGTH = 64;

/**
 * The HTML standard's "valid email address", the pattern `<input type=email>` itself uses
 * (https://html.spec.whatwg.org/multipage/input.html#valid-e-mail-address), as zod ships it. It
 * also caps each domain label at 63 characters (RFC 1035).
 */
const WHATWG_EMAIL = z.regexes.html5Email;

/** Characters a domain never has but URL parsing would read specially (percent-escapes, paths …). */
const NOT_IN_A_DOMAIN = /[\s%/\\?#@:[\]<>"^|]/u;

/**
 * The domain in the ASCII (`xn--`) form mail servers and Chromium's form submission use, via the
 * URL Standard's domain-to-ASCII (UTS #46) that `new URL` runs in Node, workerd and browsers alike:
 * `пример.рф` → `xn--e1afmkfd.xn--p1ai`, upper case folded. Undefined if it is not a domain.
 */
export function domainToAscii(domain: string): string | undefined {
  if (domain === "" || NOT_IN_A_DOMAIN.test(domain)) return undefined;
  try {
    return new URL(`http://${domain}`).hostname;
  } catch {
    return undefined;
  }
}

/**
 * An address as a browser's email field accepts it, normalised to one spelling per mailbox:
 * trimmed, the domain in its `xn--` form, everything lower-cased (providers treat addresses
 * case-insensitively in practice, and one person should be one subscriber). Accepts RFC 5322 atext
 * in the local part (`first&last@`, `a=b@`) and internationalised domains in either form; refuses
 * what the WHATWG definition refuses and what breaks RFC 5321's limits (local part ≤ 64 octets,
 * labels ≤ 63, whole ≤ 254). Errors are messages for the person who typed it.
 */
export const emailAddress = z
  .string({ error: "Please enter your email address." })
  .trim()
  .min(1, "Please enter your email address.")
  .max(MAX_EMAIL_LENGTH * 4, "That email address is too long.")
  .transform((value, ctx) => {
    const at = value.lastIndexOf("@");
    const local = value.slice(0, at);
    const domain = at < 0 ? undefined : domainToAscii(value.slice(at + 1));
    const address = `${local}@${domain ?? ""}`.toLowerCase();
    if (at <= 0 || domain === undefined || !WHATWG_EMAIL.test(address)) {
      ctx.addIssue({ code: "custom", message: "Please enter a valid email address, like name@example.com." });
      return z.NEVER;
    }
    // The URL parser reads all-digit hosts as IPv4 (`0x7f.1` → `127.0.0.1`); mail never goes to an
    // unbracketed IP or to a dotless host (`a@b`, `x@localhost`), which `<input type=email>` allows.
    if (!domain.includes(".") || /^\d+$/.test(domain.slice(domain.lastIndexOf(".") + 1))) {
      ctx.addIssue({ code: "custom", message: "Please check the part after the @: it should be a domain like example.com." });
      return z.NEVER;
    }
    if (local.length > MAX_LOCAL_PART_LENGTH) {
      ctx.addIssue({ code: "custom", message: `The part before the @ can be at most ${MAX_LOCAL_PART_LENGTH} characters.` });
      return z.NEVER;
    }
    if (address.length > MAX_EMAIL_LENGTH) {
      ctx.addIssue({ code: "custom", message: "That email address is too long." });
      return z.NEVER;
    }
    return address;
  });
