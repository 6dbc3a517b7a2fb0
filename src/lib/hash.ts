/** Imported once per secret: importing a key costs more than the signature itself. */
const keys = new Map<string, Promise<CryptoKey>>();

/** The app secret as an HMAC-SHA256 key (WebCrypto), shared by link tokens and address hashes. */
export function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    keys.set(secret, key);
  }
  return key;
}

/** Every byte as two lowercase hex digits (a table: a signup computes two of these hashes). */
const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));

/** SHA-256 as lowercase hex, keyed with the app secret so hashes cannot be looked up in a rainbow table. */
export async function keyedHash(secret: string, value: string): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.sign("HMAC", await hmacKey(secret), new TextEncoder().encode(value))));
}

function toHex(bytes: Uint8Array): string {
  let hex = "";
  for (const byte of bytes) hex += HEX[byte];
  return hex;
}

/** 32 random bytes as base64url (43 characters): session ids, one-time tokens, API keys. */
export function randomSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** SHA-256 as lowercase hex (unkeyed: for high-entropy secrets and request fingerprints). */
export async function sha256Hex(value: string): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(value))));
}
