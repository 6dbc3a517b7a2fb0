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
