import type { Context } from "hono";
import type { Config } from "./config";
import type { CourseRegistry } from "./course/registry";
import type { Db } from "./db/client";
import type { Logger } from "./lib/logger";
import type { Mailer } from "./mail/mailer";

/** Milliseconds since the epoch. Injected so tests and `tick --now` can move time. */
export type Clock = () => number;

/** Everything the app needs from its runtime, built by the entry (Node, Worker, tests). */
export interface AppDeps {
  db: Db;
  mailer: Mailer;
  clock: Clock;
  config: Config;
  logger: Logger;
  /** The courses this app runs; default: the built-in ones (src/course/registry.ts). Tests add fixture courses. */
  courses?: CourseRegistry;
  /**
   * The client's IP address, for per-client signup limits. Default: the `cf-connecting-ip` header,
   * which Cloudflare sets at the edge (a client cannot forge it there). The Node entry passes the
   * socket address, or with TRUST_PROXY the address its proxies vouch for (`lib/client-address.ts`).
   * Undefined (or a throw) means unknown: signup then counts the request in one shared bucket.
   */
  clientIp?: (c: Context<AppEnv>) => string | undefined;
  /**
   * Compress text responses (gzip/deflate, hono/compress). The Node entry turns it on; the Worker
   * leaves it off because Cloudflare's edge already compresses.
   */
  compress?: boolean;
  /** Called after a subscriber confirms; the Node server starts a dispatcher pass so lesson 1 goes out now. */
  onConfirmed?: () => void;
  /**
   * Called after a subscriber's data was deleted, before the answer. The Node entry checkpoints and
   * truncates the embedded file's WAL, so the deleted address and name leave the disk too. Never rejects.
   */
  afterErase?: () => Promise<void>;
}

export type AppEnv = { Variables: { deps: AppDeps; requestId: string } };
