import { v7 } from "uuid";

/** Random identifiers from WebCrypto, available on Node and in Workers alike. */
export function newId(): string {
  return crypto.randomUUID();
}

/**
 * A UUIDv7 (RFC 9562 §5.7): 48 bits of Unix time in ms, then random bits, so ids made later sort
 * later. For rows written in bulk and then found by id while they are fresh (delivery rows, send
 * batches): new keys land at the end of the primary-key index instead of on random pages, which
 * keeps the cost of recording a batch flat as the table grows (`npm run bench:scale`). Still
 * unguessable enough for a key that is never a credential: 74 random bits.
 */
export function newTimeOrderedId(): string {
  return v7();
}
