import ipaddr from 'ipaddr.js';

/** Parses a CIDR (`10.0.0.0/8`, `2001:db8::/32`) or a bare address; undefined when invalid. */
export function parseCidr(text: string): [ipaddr.IPv4 | ipaddr.IPv6, number] | undefined {
  const t = text.trim();
  try {
    if (t.includes('/')) return ipaddr.parseCIDR(t);
    const a = ipaddr.parse(t);
    return [a, a.kind() === 'ipv4' ? 32 : 128];
  } catch {
    return undefined;
  }
}

const V4 = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(?:\\.(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}';
const H = '[0-9a-fA-F]{1,4}';
const V6 = [
  `(?:${H}:){7}${H}`,
  `(?:${H}:){1,7}:`,
  `(?:${H}:){1,6}:${H}`,
  `(?:${H}:){1,5}(?::${H}){1,2}`,
  `(?:${H}:){1,4}(?::${H}){1,3}`,
  `(?:${H}:){1,3}(?::${H}){1,4}`,
  `(?:${H}:){1,2}(?::${H}){1,5}`,
  `${H}:(?::${H}){1,6}`,
  `:(?:(?::${H}){1,7}|:)`,
  `(?:${H}:){6}${V4}`,
  `::(?:ffff(?::0{1,4})?:)?${V4}`,
  `(?:${H}:){1,5}:${V4}`,
].join('|');

/**
 * What an `ip_blocklist`, `IP_BLOCKLIST` or `TRUSTED_PROXIES` item may be: an IPv4 address
 * (dotted quad, no leading zeros) with an optional `/0`–`/32`, or an IPv6 address with an
 * optional `/0`–`/128`. The OpenAPI document publishes this pattern, and the server checks it
 * besides parsing, so the document allows exactly what the server accepts. `[0-9]`, not `\d`:
 * in other regex dialects (Python's, which schemathesis uses) `\d` matches any Unicode digit.
 */
export const CIDR_PATTERN = `^(?:${V4}(?:/(?:3[0-2]|[12]?[0-9]))?|(?:${V6})(?:/(?:12[0-8]|1[01][0-9]|[1-9]?[0-9]))?)$`;
const CIDR_RE = new RegExp(CIDR_PATTERN);

export function invalidCidrs(list: string[]): string[] {
  return list.filter((c) => !CIDR_RE.test(c) || parseCidr(c) === undefined);
}

/**
 * A set of IPv4 and IPv6 ranges. IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`) are matched
 * as IPv4, since that is how a dual-stack socket reports IPv4 clients; so are ranges inside
 * `::ffff:0:0/96` (`::ffff:203.0.113.0/120` is `203.0.113.0/24`), as the batch layer and the
 * reference read them (test/reference/ip-ranges.ts).
 */
export class CidrSet {
  private readonly ranges: [ipaddr.IPv4 | ipaddr.IPv6, number][];
  constructor(cidrs: readonly string[]) {
    this.ranges = cidrs.map((c) => {
      const r = parseCidr(c);
      if (!r) throw new Error(`invalid CIDR ${JSON.stringify(c)}`);
      const [net, bits] = r;
      if (net.kind() === 'ipv6' && bits >= 96 && (net as ipaddr.IPv6).isIPv4MappedAddress()) return [(net as ipaddr.IPv6).toIPv4Address(), bits - 96];
      return r;
    });
  }
  get size(): number {
    return this.ranges.length;
  }
  contains(ip: string): boolean {
    if (!ip || this.ranges.length === 0) return false;
    let addr: ipaddr.IPv4 | ipaddr.IPv6;
    try {
      addr = ipaddr.process(ip);
    } catch {
      return false;
    }
    for (const [net, bits] of this.ranges) {
      if (net.kind() === addr.kind() && addr.match(net as never, bits)) return true;
    }
    return false;
  }
}
