import { serve } from "@hono/node-server";
import type { AddressInfo } from "node:net";
import { createApp, type App } from "../../src/app";
import type { AppDeps } from "../../src/app-env";
import type { Config } from "../../src/config";
import type { Db } from "../../src/db/client";
import { silentLogger } from "../../src/lib/logger";
import { createResendMailer } from "../../src/mail/resend";
import { startFakeResend, type FakeResend } from "./fake-resend";
import { createTestDb, testConfig } from "./test-app";

/**
 * The real app served over real HTTP on 127.0.0.1, for browser tests: a fresh database, the real
 * Resend SDK talking to the fake Resend server, and `APP_URL` set to the address the server really
 * listens on, so the links in captured emails open in the browser and the CSRF origin check sees
 * the origin the browser sends.
 */
export interface LiveApp {
  url: string;
  app: App;
  deps: AppDeps;
  db: Db;
  resend: FakeResend;
  config: Config;
  /** Real time plus an offset the test can move forward (the signup form wants a few seconds). */
  clock: { now(): number; advance(ms: number): void };
  close(): Promise<void>;
}

/**
 * `hostName`: the name in APP_URL (default 127.0.0.1). A name other than localhost shows what a
 * real deployment over plain HTTP sees; map it to 127.0.0.1 in Chromium with
 * `--host-resolver-rules` (see launchChromium). `env`: more configuration (ADMIN_EMAILS …).
 */
export async function startLiveApp(options: { hostName?: string; env?: Record<string, string> } = {}): Promise<LiveApp> {
  const resend = await startFakeResend();
  const database = await createTestDb();
  let offset = 0;
  const clock = { now: () => Date.now() + offset, advance: (ms: number) => void (offset += ms) };

  // The port is only known once the server listens, and the config (APP_URL) needs it: the server
  // starts first and hands requests to the app built right after.
  let app: App | undefined;
  let port = 0;
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const started = serve(
      {
        fetch: (request, env) => (app ? app.fetch(request, env) : new Response("Starting", { status: 503 })),
        hostname: "127.0.0.1",
        port: 0,
      },
      (info: AddressInfo) => {
        port = info.port;
        resolve(started);
      },
    );
  });

  const url = `http://${options.hostName ?? "127.0.0.1"}:${port}`;
  const config = testConfig({ ...options.env, APP_URL: url }, resend.url);
  const mailer = createResendMailer({ apiKey: "re_test_key", baseUrl: resend.url, timeoutMs: 5_000 });
  const deps: AppDeps = { db: database.db, mailer, clock: clock.now, config, logger: silentLogger };
  app = createApp(deps);

  return {
    url,
    app,
    deps,
    db: database.db,
    resend,
    config,
    clock,
    async close() {
      await new Promise<void>((resolve) => {
        if ("closeAllConnections" in server) server.closeAllConnections();
        server.close(() => resolve());
      });
      await resend.close();
      database.close();
    },
  };
}
