import { form, type TestContext } from "./test-app";

/** The hidden form token in a rendered signup form. */
export function formTokenIn(html: string): string {
  const match = html.match(/name="formToken" value="([^"]+)"/);
  if (!match) throw new Error("No formToken in the page");
  return match[1]!;
}

/**
 * Signs up the way a person does: opens the home page, takes a few seconds to fill in the form
 * (the clock moves; the form refuses submissions faster than a person types), and sends it.
 */
export async function signUp(
  t: TestContext,
  fields: Record<string, string>,
  options: { fillMs?: number; headers?: Record<string, string> } = {},
): Promise<Response> {
  const page = await t.app.request("/", { headers: options.headers });
  const formToken = formTokenIn(await page.text());
  t.clock.advance(options.fillMs ?? 5_000);
  const init = form({ formToken, ...fields });
  return t.app.request("/subscribe", { ...init, headers: { ...(init.headers as Record<string, string>), ...options.headers } });
}

/** Anything that answers requests the way `app.request` does (the app itself, or a live server's fetch). */
type Requester = { request(input: string, init?: RequestInit): Response | Promise<Response> };

/**
 * Follows a confirmation link the way a person does: opens it (which changes nothing), then presses
 * the page's Confirm button, which POSTs the form it carries. `link` may be absolute or site-relative.
 * Returns the answer to the button, or the page itself when it has no Confirm button (an invalid link).
 */
export async function confirmByClick(app: Requester, link: string): Promise<Response> {
  const path = link.replace(/^https?:\/\/[^/]+/, "");
  const page = await app.request(path);
  const html = await page.text();
  const form = confirmFormIn(html);
  if (!form) return new Response(html, { status: page.status, headers: page.headers });
  return app.request(form.action, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(form.fields).toString(),
  });
}

/** The Confirm form of a confirmation page: where it posts and its hidden fields. */
export function confirmFormIn(html: string): { action: string; fields: Record<string, string> } | undefined {
  const form = html.match(/<form method="post" action="([^"]*\/confirm[^"]*)"[^>]*>([\s\S]*?)<\/form>/);
  if (!form) return undefined;
  const fields: Record<string, string> = {};
  for (const input of form[2]!.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) {
    fields[input[1]!] = input[2]!.replace(/&amp;/g, "&").replace(/&quot;/g, '"');
  }
  return { action: form[1]!.replace(/&amp;/g, "&"), fields };
}
