/** @jsxImportSource hono/jsx */
import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { notFound } from "../lib/errors";
import { listOutbox, readOutboxMessage } from "../mail/outbox";
import { Layout } from "../pages/layout";
import { siteInfo } from "./helpers";

/** Email HTML needs inline styles; it is shown sandboxed, in a frame of our own page only. */
const EMAIL_FRAME_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src * data:; frame-ancestors 'self'; sandbox allow-popups allow-popups-to-escape-sandbox";

/**
 * A development mail viewer (like Mailpit) for the outbox transport: Node only, never in
 * production. Lists the newest emails first; each opens with its HTML, plain text and headers.
 */
export function devOutboxRoutes(dir: string) {
  return new Hono<AppEnv>()
    .get("/", async (c) => {
      const names = (await listOutbox(dir)).reverse().slice(0, 200);
      const messages = (await Promise.all(names.map((name) => readOutboxMessage(dir, name.replace(/\.json$/, ""))))).filter(
        (message) => message !== null,
      );
      return c.html(
        <Layout title="Outbox" site={siteInfo(c.get("deps").config)}>
          <div class="outbox">
            <h1>Outbox</h1>
            <p class="hint">
              Emails the development transport wrote to <code>{dir}</code>, newest first. Set RESEND_API_KEY to send real
              mail instead.
            </p>
            {messages.length === 0 ? (
              <p>No emails yet. Sign up on the home page to send one.</p>
            ) : (
              <table>
                <thead>
                  <tr>
                    <th scope="col">Sent</th>
                    <th scope="col">To</th>
                    <th scope="col">Subject</th>
                  </tr>
                </thead>
                <tbody>
                  {messages.map((message) => (
                    <tr>
                      <td>{message.sentAt.replace("T", " ").slice(0, 19)}</td>
                      <td>{message.to}</td>
                      <td>
                        <a href={`/dev/outbox/${message.id}`}>{message.subject}</a>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </div>
        </Layout>,
      );
    })
    .get("/:id{[\\w-]+}/html", async (c) => {
      const message = await readOutboxMessage(dir, c.req.param("id"));
      if (!message) throw notFound("No such email in the outbox.");
      c.header("Content-Security-Policy", EMAIL_FRAME_CSP);
      c.header("X-Frame-Options", "SAMEORIGIN");
      // Links open in a new tab: our own pages refuse to be framed.
      return c.html(`<base target="_blank">${message.html}`);
    })
    .get("/:id{[\\w-]+}", async (c) => {
      const message = await readOutboxMessage(dir, c.req.param("id"));
      if (!message) throw notFound("No such email in the outbox.");
      c.header(
        "Content-Security-Policy",
        "default-src 'none'; style-src 'self'; frame-src 'self'; frame-ancestors 'none'; base-uri 'none'",
      );
      return c.html(
        <Layout title={message.subject} site={siteInfo(c.get("deps").config)}>
          <div class="outbox">
            <p>
              <a href="/dev/outbox">← Outbox</a>
            </p>
            <h1>{message.subject}</h1>
            <table>
              <tbody>
                <tr>
                  <th scope="row">From</th>
                  <td>{message.from}</td>
                </tr>
                <tr>
                  <th scope="row">To</th>
                  <td>{message.to}</td>
                </tr>
                <tr>
                  <th scope="row">Sent</th>
                  <td>{message.sentAt}</td>
                </tr>
                {Object.entries(message.headers ?? {}).map(([name, value]) => (
                  <tr>
                    <th scope="row">{name}</th>
                    <td>{value}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <h2>HTML</h2>
            <iframe title="Email HTML" src={`/dev/outbox/${message.id}/html`} />
            <h2>Plain text</h2>
            <pre class="text">{message.text}</pre>
          </div>
        </Layout>,
      );
    });
}
