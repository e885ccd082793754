/**
 * CIDR lists in the form ClickHouse's `isIPAddressInRange` reads: `address/bits` with an
 * explicit prefix (a bare address is /32 or /128). A range inside `::ffff:0:0/96` becomes
 * the IPv4 range it maps, because addresses are matched the same way (an IPv4-mapped IPv6
 * address is its IPv4 address: weir_ip_for_blocklist in attribution-rules.sql).
 */
import { parseCidr } from '../schemas/cidr';
import type { IPv6 } from 'ipaddr.js';

export function normaliseCidrs(list: readonly string[], what: string): string[] {
  return list.map((text) => {
    const parsed = parseCidr(text);
    if (!parsed) throw new Error(`${what}: invalid CIDR ${JSON.stringify(text)}`);
    const [addr, bits] = parsed;
    if (addr.kind() === 'ipv6' && bits >= 96 && (addr as IPv6).isIPv4MappedAddress()) {
      return `${(addr as IPv6).toIPv4Address().toString()}/${bits - 96}`;
    }
    return `${addr.toString()}/${bits}`;
  });
}
