/**
 * CIDR matching for the `blocked_ip` rule, written from scratch on BigInt (independently of
 * the production code, which uses ipaddr.js). IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`,
 * what a dual-stack socket reports for IPv4 clients) are the IPv4 address they carry, and a
 * range inside `::ffff:0:0/96` is the IPv4 range it maps.
 */
import { isIPv4, isIPv6 } from 'node:net';

export interface Address {
  version: 4 | 6;
  value: bigint;
}


function parseV4(s: string): bigint {
  return s.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
}

function parseV6(s: string): bigint {
  const halves = s.split('::');
  const groups = (part: string): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (g.includes('.')) {
        const v4 = Number(parseV4(g));
        out.push(Math.floor(v4 / 65536), v4 % 65536);
      } else out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length > 1 ? groups(halves[1]) : [];
  const all = [...head, ...Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  return all.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

/** Parses without mapping `::ffff:a.b.c.d` to IPv4; undefined when not an IP address. */
function parseRaw(text: string): Address | undefined {
  let t = text.trim();
  if (t.startsWith('[') && t.endsWith(']')) t = t.slice(1, -1);
  const zone = t.indexOf('%');
  if (zone >= 0) t = t.slice(0, zone);
  if (isIPv4(t)) return { version: 4, value: parseV4(t) };
  if (isIPv6(t)) return { version: 6, value: parseV6(t) };
  return undefined;
}

/** An address as matched against ranges; undefined when `text` is not an IP address. */
export function parseAddress(text: string): Address | undefined {
  const a = parseRaw(text);
  if (a && a.version === 6 && a.value >> 32n === 0xffffn) return { version: 4, value: a.value & 0xffffffffn };
  return a;
}

export interface Range {
  version: 4 | 6;
  network: bigint;
  prefix: number;
}

export function parseRange(cidr: string): Range {
  const [addr, bits, extra] = cidr.trim().split('/');
  const a = parseRaw(addr);
  if (!a || extra !== undefined) throw new Error(`not a CIDR: ${JSON.stringify(cidr)}`);
  const width = a.version === 4 ? 32 : 128;
  const prefix = bits === undefined ? width : Number(bits);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > width || (bits !== undefined && !/^\d+$/.test(bits)))
    throw new Error(`bad prefix length in ${JSON.stringify(cidr)}`);
  let r: Range = { version: a.version, network: a.value, prefix };
  if (a.version === 6 && prefix >= 96 && a.value >> 32n === 0xffffn) r = { version: 4, network: a.value & 0xffffffffn, prefix: prefix - 96 };
  const shift = BigInt((r.version === 4 ? 32 : 128) - r.prefix);
  return { ...r, network: (r.network >> shift) << shift };
}

export function rangeContains(r: Range, a: Address): boolean {
  if (r.version !== a.version) return false;
  const shift = BigInt((r.version === 4 ? 32 : 128) - r.prefix);
  return a.value >> shift === r.network >> shift;
}

/** A blocklist: `contains('')` and unparseable addresses are false. */
export class IpRanges {
  private readonly ranges: Range[];
  constructor(cidrs: readonly string[]) {
    this.ranges = cidrs.map(parseRange);
  }
  contains(ip: string): boolean {
    if (ip === '' || this.ranges.length === 0) return false;
    const a = parseAddress(ip);
    return a !== undefined && this.ranges.some((r) => rangeContains(r, a));
  }
}

