import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";

export interface Received {
  id: string;
  headers: Record<string, string>;
  body: string;
  event: { id: string; type: string; data: { subscriberId: string | null; lesson: number | null } };
}

/**
 * A webhook receiver on loopback that verifies every delivery with the `standardwebhooks` library,
 * the way an integrator's receiver would. `down()` makes it answer 503 (as during its own outage);
 * `up()` brings it back. `accepted` holds verified deliveries it answered 200 to, in arrival order.
 */
export async function startReceiver() {
  let secret = "";
  let status = 200;
  const accepted: Received[] = [];
  const refused: { reason: string }[] = [];
  let requests = 0;
  const server: Server = createServer(async (req: IncomingMessage, res) => {
    requests++;
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
    if (status !== 200) {
      res.writeHead(status, { "content-type": "text/plain" }).end("receiver is down");
      return;
    }
    try {
      const event = new Webhook(secret).verify(body, headers) as Received["event"];
      accepted.push({ id: headers["webhook-id"]!, headers, body, event });
      res.writeHead(200).end("ok");
    } catch (error) {
      refused.push({ reason: error instanceof Error ? error.message : String(error) });
      res.writeHead(400).end("bad signature");
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  return {
    url,
    accepted,
    refused,
    get requests() {
      return requests;
    },
    useSecret(value: string) {
      secret = value;
    },
    down(code = 503) {
      status = code;
    },
    up() {
      status = 200;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
