/**
 * Which webhook endpoint URLs we may call (server-side request forgery). In production only
 * `https` to a public host: no loopback, private (RFC 1918), link-local (cloud metadata at
 * 169.254.169.254), CGNAT, unspecified, multicast or reserved addresses, no IPv6 loopback, ULA,
 * link-local or IPv4-mapped private addresses, no `localhost` names. Literal IPs are checked here;
 * a host NAME is not resolved (the Worker cannot, and an answer could change between our check
 * and the request: DNS rebinding), see README "Outbound webhooks". Development also allows `http`
 * and loopback, so a receiver on this machine can be tried. Redirects are never followed
 * (`deliver.ts`), so an allowed URL cannot bounce a request inward.
 */
export type UrlCheck = { ok: true; url: URL } | { ok: false; reason: string };

export function checkEndpointUrl(raw: string, options: { production: boolean }): UrlCheck {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: "The URL is not valid." };
  }
  if (url.username || url.password) return { ok: false, reason: "The URL must not carry a user name or password." };
  const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  const loopback = isLoopback(host);
  if (!options.production && loopback && (url.protocol === "http:" || url.protocol === "https:")) return { ok: true, url };
  if (url.protocol !== "https:") return { ok: false, reason: "The URL must use https." };
  if (loopback || host === "localhost" || host.endsWith(".localhost") || host.endsWith(".local") || host.endsWith(".internal") || !host.includes(".") && !host.includes(":")) {
    return { ok: false, reason: "The URL must point at a public host, not this machine or a local name." };
  }
  if (isPrivateAddress(host)) return { ok: false, reason: "The URL must point at a public address, not a private, link-local or reserved one." };
  return { ok: true, url };
}

function isLoopback(host: string): boolean {
  if (host === "localhost" || host === "::1") return true;
  const v4 = ipv4(host);
  return v4 !== undefined && v4[0] === 127;
}

/** Dotted-quad IPv4 (as WHATWG URL normalises every IPv4 spelling, octal and hex included). */
function ipv4(host: string): number[] | undefined {
  const parts = host.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p))) return undefined;
  const bytes = parts.map(Number);
  return bytes.every((b) => b <= 255) ? bytes : undefined;
}

function privateV4([a, b]: number[]): boolean {
  return (
    a === 0 || a === 10 || a === 127 || (a === 100 && b! >= 64 && b! <= 127) || (a === 169 && b === 254) || (a === 172 && b! >= 16 && b! <= 31) ||
    (a === 192 && b === 168) || (a === 192 && b === 0) || (a === 198 && (b === 18 || b === 19)) || a! >= 224
  );
}

export function isPrivateAddress(host: string): boolean {
  const v4 = ipv4(host);
  if (v4) return privateV4(v4);
  if (!host.includes(":")) return false;
  // IPv6 (WHATWG URL has compressed it): loopback, unspecified, ULA fc00::/7, link-local fe80::/10,
  // multicast ff00::/8, and IPv4-mapped/-translated addresses, judged by their IPv4 part.
  if (host === "::1" || host === "::") return true;
  if (/^f[cd]/.test(host) || /^fe[89ab]/.test(host) || host.startsWith("ff")) return true;
  const mapped = /^::ffff:(?:0:)?([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
  if (mapped) {
    const hi = parseInt(mapped[1]!, 16);
    const lo = parseInt(mapped[2]!, 16);
    return privateV4([hi >> 8, hi & 255, lo >> 8, lo & 255]);
  }
  const dotted = /^::(?:ffff:)?(\d+\.\d+\.\d+\.\d+)$/.exec(host);
  return dotted ? privateV4(ipv4(dotted[1]!) ?? [0]) : false;
}
