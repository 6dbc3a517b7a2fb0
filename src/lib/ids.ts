/** Random identifiers from WebCrypto, available on Node and in Workers alike. */
export function newId(): string {
  return crypto.randomUUID();
}
