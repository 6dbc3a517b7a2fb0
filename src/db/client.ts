import type { Client } from "@libsql/client/web";
import { drizzle } from "drizzle-orm/libsql/web";
import { schema } from "./schema";

/**
 * Wraps a libSQL client (embedded file on Node, HTTP on the edge) in drizzle. The entry chooses the
 * client: `@libsql/client` on Node, `@libsql/client/web` in the Worker; everything else sees a `Db`.
 */
export function createDb(client: Client) {
  return drizzle(client, { schema, casing: "snake_case" });
}

export type Db = ReturnType<typeof createDb>;
