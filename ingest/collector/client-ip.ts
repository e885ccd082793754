/**
 * The client ip the collector fills into an event sent without `ip` (DESIGN.md sections 3
 * and 8, `TRUSTED_PROXIES`). Without trusted proxies it is the socket's peer address. When
 * the peer is a trusted proxy, the hops of `X-Forwarded-For` are read from the right (each
 * proxy appends the address it received the request from) and the first hop that is not a
 * trusted proxy is the client: hops further left were written by that untrusted party, so
 * they may be forged. Pure: the caller passes the peer address and the header.
 */
import ipaddr from 'ipaddr.js';
import type { CidrSet } from '../../schemas/cidr';

export type IpSource = 'socket' | 'forwarded';

export interface ClientIp {
  ip: string;
  source: IpSource;
}

export function clientIpOf(peer: string, forwardedFor: string | string[] | undefined, trusted: CidrSet): ClientIp {
  let ip = normalise(peer);
  if (trusted.size === 0 || !trusted.contains(ip) || forwardedFor === undefined) return { ip, source: 'socket' };
  // Several X-Forwarded-For headers are one list, in order (RFC 9110 section 5.3).
  const hops = [forwardedFor].flat().join(',').split(',').map((h) => h.trim()).filter(Boolean);
  let source: IpSource = 'socket';
  for (let i = hops.length - 1; i >= 0; i--) {
    // A hop that is no address ends the walk: the nearest trusted proxy is the best we know.
    if (!isAddress(hops[i])) break;
    ip = normalise(hops[i]);
    source = 'forwarded';
    if (!trusted.contains(ip)) break;
  }
  return { ip, source };
}

/** A dotted-quad IPv4 or an IPv6 address; ipaddr.isValid also takes `1.2.3` or `0x7f.1`, which no proxy writes. */
const isAddress = (s: string): boolean => ipaddr.IPv4.isValidFourPartDecimal(s) || ipaddr.IPv6.isValid(s);

/** IPv4-mapped IPv6 (`::ffff:1.2.3.4`, how a dual-stack socket reports IPv4 peers) as IPv4. */
const normalise = (ip: string): string => (isAddress(ip) ? ipaddr.process(ip).toString() : ip);
