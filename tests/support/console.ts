import { form, linkIn, type TestContext } from "./test-app";

/** The operator address console tests sign in with (ADMIN_EMAILS in `consoleEnv`). */
export const OPERATOR = "ops@example.com";
export const consoleEnv = { ADMIN_EMAILS: `Ops@Example.com, boss@example.com` };

/** The session cookie pair (`name=value`) from a response's Set-Cookie, or undefined. */
export function sessionCookieFrom(res: Response): string | undefined {
  const header = res.headers.get("set-cookie") ?? "";
  const match = header.match(/((?:__Host-console|console_session)=[^;]+)/);
  return match?.[1];
}

/** The CSRF field of the first console form in a page. */
export function csrfIn(html: string): string {
  const match = html.match(/name="csrf" value="([^"]+)"/);
  if (!match) throw new Error("No csrf field in the page");
  return match[1]!;
}

/** Asks for a sign-in link the way an operator does and returns the link from the mailed email. */
export async function requestSignInLink(t: TestContext, email = OPERATOR): Promise<string> {
  const before = t.resend.emails.length;
  const res = await t.app.request("/admin/login", form({ email }));
  if (res.status !== 200) throw new Error(`login answered ${res.status}`);
  const mail = t.resend.emails.slice(before).find((e) => e.subject.includes("sign-in link"));
  if (!mail) throw new Error("No sign-in email was sent");
  return linkIn(mail.text, `${t.config.appUrl}/admin/sign-in?token=`);
}

/** Follows a sign-in link like a person (open it, press Sign in); returns the answer. */
export async function followSignInLink(t: TestContext, link: string): Promise<Response> {
  const token = new URL(link).searchParams.get("token") ?? "";
  await t.app.request(`/admin/sign-in?token=${encodeURIComponent(token)}`);
  return t.app.request("/admin/sign-in", form({ token }));
}

/** Signs in as an operator; returns the cookie header to send with console requests. */
export async function signIn(t: TestContext, email = OPERATOR): Promise<{ cookie: string }> {
  const res = await followSignInLink(t, await requestSignInLink(t, email));
  const cookie = sessionCookieFrom(res);
  if (!cookie) throw new Error(`sign-in answered ${res.status} without a session cookie`);
  return { cookie };
}

/** A console GET with the session cookie. */
export function get(t: TestContext, path: string, cookie: string): Promise<Response> {
  return Promise.resolve(t.app.request(path, { headers: { cookie } }));
}

/** A console form POST with the session cookie (add `csrf` to `fields` yourself). */
export function post(t: TestContext, path: string, cookie: string, fields: Record<string, string>): Promise<Response> {
  const init = form(fields);
  return Promise.resolve(t.app.request(path, { ...init, headers: { ...(init.headers as Record<string, string>), cookie } }));
}

/** Opens a console page and returns its CSRF token. */
export async function csrfFor(t: TestContext, cookie: string, path = "/admin/courses/clear-skin"): Promise<string> {
  return csrfIn(await (await get(t, path, cookie)).text());
}
