import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * Cloudflare Turnstile's siteverify endpoint on loopback. A token passes when it is in `valid`;
 * every request's form fields are recorded, so tests can see what we sent.
 */
export interface FakeTurnstile {
  url: string;
  valid: Set<string>;
  requests: Record<string, string>[];
  /** Answer the next request with this HTTP status (an outage). */
  failNext(status: number): void;
  close(): Promise<void>;
}

export async function startFakeTurnstile(): Promise<FakeTurnstile> {
  const faults: number[] = [];
  const fake: FakeTurnstile = {
    url: "",
    valid: new Set(),
    requests: [],
    failNext(status) {
      faults.push(status);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const fields = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString("utf8")));
      fake.requests.push(fields);
      const fault = faults.shift();
      if (fault) {
        res.writeHead(fault, { "content-type": "text/plain" });
        return res.end("unavailable");
      }
      const success = fake.valid.has(fields.response ?? "");
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ success, "error-codes": success ? [] : ["invalid-input-response"] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/turnstile/v0/siteverify`;
  return fake;
}
