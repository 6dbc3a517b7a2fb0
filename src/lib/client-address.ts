import { isIP } from "node:net";

/**
 * The client's address behind reverse proxies (the Node entry; Workers use `cf-connecting-ip`).
 *
 * Each proxy appends the address it received the request from to `X-Forwarded-For`
 * (https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/X-Forwarded-For#security_and_privacy_concerns),
 * so with `trustedProxies` proxies in front, the client is the `trustedProxies`-th value from the
 * right: the right-most value our own proxies did not write. Anything further left was sent by the
 * client and can be forged.
 *
 * Returns the socket's address when no proxy is trusted (0), else the forwarded value, or undefined
 * when the header is missing or shorter than the chain of trusted proxies (the caller then counts
 * the request in one shared bucket rather than skipping its limits).
 */
export function clientAddress(
  trustedProxies: number,
  forwardedFor: string | undefined,
  socketAddress: () => string | undefined,
): string | undefined {
  if (trustedProxies <= 0) return socketAddress();
  if (!forwardedFor) return undefined;
  const hops = forwardedFor
    .split(",")
    .map((value) => value.trim())
    .filter((value) => value !== "");
  const hop = hops[hops.length - trustedProxies];
  return hop === undefined ? undefined : ipWithoutPort(hop);
}

/**
 * The IP address in a forwarded value, without the port some proxies append (`1.2.3.4:5678`,
 * `[2001:db8::1]:443`), so one client cannot become many buckets by changing its port. Anything
 * that is not an IP address is undefined (the shared bucket).
 */
export function ipWithoutPort(value: string): string | undefined {
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(value);
  const withPort = /^([\d.]+):\d{1,5}$/.exec(value);
  const address = bracketed?.[1] ?? withPort?.[1] ?? value;
  return isIP(address) === 0 ? undefined : address.toLowerCase();
}
