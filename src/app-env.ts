import type { Config } from "./config";
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
}

export type AppEnv = { Variables: { deps: AppDeps; requestId: string } };
