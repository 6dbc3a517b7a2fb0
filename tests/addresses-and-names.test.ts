import { eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { lessonByNumber } from "../src/course";
import { subscribers } from "../src/db/schema";
import { runDispatch } from "../src/drip/dispatch";
import { domainToAscii, emailAddress } from "../src/lib/email-address";
import { firstName } from "../src/lib/first-name";
import { confirmByClick, signUp } from "./support/signup";
import { createTestContext, linkIn, TEST_APP_URL, type TestContext } from "./support/test-app";

let t: TestContext;
beforeEach(async () => {
  t = await createTestContext();
});
afterEach(async () => t.close());

const parse = (value: string) => emailAddress.safeParse(value);

describe("email addresses people really have (WHATWG valid email address, RFC 5321 limits)", () => {
  it("internationalised domains are accepted in Unicode and in the xn-- form Chromium submits, and stored as xn--", () => {
    expect(parse("ivan@xn--e1afmkfd.xn--p1ai").data).toBe("ivan@xn--e1afmkfd.xn--p1ai");
    expect(parse("ivan@пример.рф").data).toBe("ivan@xn--e1afmkfd.xn--p1ai");
    expect(parse("Ivan@ПРИМЕР.РФ").data).toBe("ivan@xn--e1afmkfd.xn--p1ai");
    expect(parse("jörg@münchen.de").success).toBe(false); // the local part stays ASCII, as in browsers
    expect(parse("joerg@münchen.de").data).toBe("joerg@xn--mnchen-3ya.de");
    expect(domainToAscii("exa%6dple.com")).toBeUndefined();
  });

  it("local parts with RFC 5322 atext are accepted", () => {
    for (const address of ["first&last@example.com", "a=b@example.com", "o'hara@example.com", "x+tag@example.com", "{x}|~@example.com", "a.b-c_d@example.com"]) {
      expect(parse(address).data, address).toBe(address);
    }
  });

  it("what a browser's email field refuses is refused", () => {
    for (const address of ["plain", "@example.com", "a@", "a b@example.com", "a@b@example.com", "a@-example.com", "a@example-.com", "a@exa_mple.com", "\"quoted\"@example.com", "a@[127.0.0.1]"]) {
      expect(parse(address).success, address).toBe(false);
    }
  });

  it("hosts mail never reaches are refused rather than rewritten: numeric hosts the URL parser turns into an IP, and dotless hosts", () => {
    for (const address of ["x@0x7f.1", "x@2130706433", "x@127.0.0.1", "a@b", "x@localhost"]) {
      const result = parse(address);
      expect(result.success, address).toBe(false);
      expect(result.error?.issues[0]?.message, address).toContain("domain like example.com");
    }
    expect(parse("x@mail.example.co.uk").data).toBe("x@mail.example.co.uk");
  });

  it("RFC 5321's limits hold: local part ≤ 64, each label ≤ 63, whole ≤ 254", () => {
    expect(parse(`${"a".repeat(64)}@example.com`).success).toBe(true);
    expect(parse(`${"a".repeat(65)}@example.com`).error?.issues[0]?.message).toBe("The part before the @ can be at most 64 characters.");
    expect(parse(`a@${"b".repeat(63)}.com`).success).toBe(true);
    expect(parse(`a@${"b".repeat(64)}.com`).success).toBe(false);
    const long = `a@${`${"b".repeat(60)}.`.repeat(4)}com`; // 249 characters
    expect(parse(long).success).toBe(true);
    expect(parse(`abcdef${long}`).error?.issues[0]?.message).toBe("That email address is too long.");
  });
});

describe("names people really have", () => {
  const name = (value: string) => firstName.safeParse(value);

  it("letters and marks of any script, ZWNJ/ZWJ, apostrophes, hyphens and spaces are accepted as typed", () => {
    for (const value of [
      "علی‌رضا", // Persian, with U+200C ZERO WIDTH NON-JOINER
      "ශ්‍රීනාත්", // Sinhala, with U+200D ZERO WIDTH JOINER
      "अंजलि",
      "Zoë-Ann",
      "O’Neil",
      "D'Arcy",
      "Mary Ann",
      "Nguyễn",
      "明美",
      "J. R.",
    ]) {
      expect(name(value).data, value).toBe(value);
    }
  });

  it("control characters, links, addresses, digits and invisible-only names are refused", () => {
    for (const value of ["A\u0000na", "Ana\r\nBcc: x", "example.com", "www.example", "http://x", "a@b", "Ana2", "\u200c", "\u200d\u200c", "..."]) {
      expect(name(value).success, JSON.stringify(value)).toBe(false);
    }
  });
});

describe("a Persian name and ivan@пример.рф, end to end", () => {
  it("signs up, confirms with the button, and gets lesson 1 greeting them by name at the xn-- address", async () => {
    const persian = "علی‌رضا";
    const res = await signUp(t, { email: "ivan@пример.рф", firstName: persian, timeZone: "Asia/Tehran" });
    expect(res.status).toBe(303);
    const address = "ivan@xn--e1afmkfd.xn--p1ai";
    const [confirmation] = t.resend.emailsTo(address);
    expect(confirmation).toBeDefined();
    expect(confirmation!.text).toContain(persian);

    expect((await confirmByClick(t.app, linkIn(confirmation!.text, `${TEST_APP_URL}/confirm?token=`))).status).toBe(200);
    const row = await t.db.query.subscribers.findFirst({ where: eq(subscribers.email, address) });
    expect(row).toMatchObject({ status: "active", firstName: persian, timeZone: "Asia/Tehran" });

    await runDispatch(t.deps);
    const lesson = t.resend.emailsTo(address).find((email) => email.subject === lessonByNumber(1)!.subject);
    expect(lesson?.text).toContain(`Hi ${persian},`);
  });

  it("the same address typed in either form is one subscriber", async () => {
    await signUp(t, { email: "ivan@xn--e1afmkfd.xn--p1ai" });
    await signUp(t, { email: "IVAN@пример.рф" });
    expect(await t.db.$count(subscribers)).toBe(1);
  });
});
