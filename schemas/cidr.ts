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

export function invalidCidrs(list: string[]): string[] {
  return list.filter((c) => parseCidr(c) === undefined);
}

/**
 * A set of IPv4 and IPv6 ranges. IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`) are matched
 * as IPv4, since that is how a dual-stack socket reports IPv4 clients.
 */
export class CidrSet {
  private readonly ranges: [ipaddr.IPv4 | ipaddr.IPv6, number][];
  constructor(cidrs: readonly string[]) {
    this.ranges = cidrs.map((c) => {
      const r = parseCidr(c);
      if (!r) throw new Error(`invalid CIDR ${JSON.stringify(c)}`);
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
