/**
 * What the simulated world is made of: ad networks, countries, devices, user agents, IP
 * addresses, custom event names, prices and error messages. Static tables plus small
 * builders that draw from a seeded `Rng`, so the content is realistic and deterministic.
 */
import { Rng, WeightedTable, hex32 } from './prng';

/**
 * CIDRs the fraud patterns send from. The tests put them in a blocklist (global or per app).
 * They are documentation ranges (RFC 5737, RFC 3849), which ordinary simulated devices never
 * use; `NEAR_MISS_*` addresses sit just outside them to exercise the mask arithmetic.
 */
export const FRAUD_CIDRS: readonly string[] = ['203.0.113.0/24', '198.51.100.0/25', '2001:db8:bad::/48'];

export const CHANNELS = [
  'facebook',
  'google',
  'tiktok',
  'unity',
  'applovin',
  'ironsource',
  'snapchat',
  'apple_search_ads',
] as const;
export type Channel = (typeof CHANNELS)[number];

const CHANNEL_WEIGHTS = new WeightedTable<Channel>([
  ['facebook', 30],
  ['google', 28],
  ['tiktok', 14],
  ['unity', 8],
  ['applovin', 8],
  ['ironsource', 5],
  ['snapchat', 4],
  ['apple_search_ads', 3],
]);

/** Networks where fraud shows up in the simulation (small networks, rewarded video). */
export const FRAUD_CHANNELS: readonly Channel[] = ['unity', 'applovin', 'ironsource'];

export interface Campaign {
  channel: string;
  campaign_id: string;
}

const GEOS = ['us', 'eu', 'latam', 'apac', 'ww'];

function digits(rng: Rng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String(rng.int(0, 9));
  return s;
}

/** Campaign ids in the shape each network uses (numeric ids for the big ones). */
function campaignId(rng: Rng, channel: Channel, appId: string, n: number): string {
  switch (channel) {
    case 'facebook':
      return `2385${digits(rng, 13)}`;
    case 'google':
      return digits(rng, 11).replace(/^0/, '1');
    case 'tiktok':
      return `17${digits(rng, 17)}`;
    case 'apple_search_ads':
      return digits(rng, 10).replace(/^0/, '7');
    default:
      return `${channel}_${appId}_${rng.pick(GEOS)}_${String(n).padStart(2, '0')}`;
  }
}

export interface AppProfile {
  id: string;
  /** Campaigns by channel; a click picks a channel by weight, then one of its campaigns. */
  campaigns: Map<Channel, Campaign[]>;
  versions: WeightedTable<string>;
  latestVersion: string;
}

export function buildAppProfile(rng: Rng, appId: string): AppProfile {
  const campaigns = new Map<Channel, Campaign[]>();
  for (const channel of CHANNELS) {
    const n = rng.int(2, 4);
    const list: Campaign[] = [];
    for (let i = 1; i <= n; i++) list.push({ channel, campaign_id: campaignId(rng, channel, appId, i) });
    campaigns.set(channel, list);
  }
  const major = rng.int(1, 9);
  const minor = rng.int(0, 20);
  const versions: [string, number][] = [
    [`${major}.${minor}.0`, 5],
    [`${major}.${minor + 1}.0`, 15],
    [`${major}.${minor + 1}.1`, 25],
    [`${major}.${minor + 2}.0`, 55],
  ];
  return { id: appId, campaigns, versions: new WeightedTable(versions), latestVersion: versions[3][0] };
}

export function pickCampaign(rng: Rng, app: AppProfile, channels?: readonly Channel[]): Campaign {
  const channel = channels ? rng.pick(channels) : CHANNEL_WEIGHTS.pick(rng);
  return rng.pick(app.campaigns.get(channel) as Campaign[]);
}

export const COUNTRIES = new WeightedTable<string>([
  ['US', 28],
  ['IN', 11],
  ['BR', 8],
  ['DE', 7],
  ['GB', 6],
  ['FR', 5],
  ['JP', 5],
  ['ID', 5],
  ['MX', 4],
  ['KR', 3],
  ['TR', 3],
  ['CA', 3],
  ['ES', 3],
  ['IT', 3],
  ['PL', 2],
  ['VN', 2],
  ['AU', 2],
]);

export type Os = 'android' | 'ios';

const ANDROID_MODELS = [
  'SM-S918B',
  'SM-A546E',
  'SM-A145F',
  'Pixel 8',
  'Pixel 7a',
  'M2101K6G',
  '2201117TY',
  'CPH2451',
  'moto g54 5G',
  'RMX3771',
  'V2250',
  'TECNO KI5q',
];
const ANDROID_VERSIONS = ['11', '12', '13', '14', '15'];
const IOS_VERSIONS = ['16.7.10', '17.5.1', '17.6.1', '18.0.1', '18.1', '18.2'];

export interface DeviceLook {
  os: Os;
  os_version: string;
  ua: string;
}

/** Operating system, version and the user agent string the device's SDK and browser send. */
export function drawDeviceLook(rng: Rng): DeviceLook {
  if (rng.chance(0.58)) {
    const v = rng.pick(ANDROID_VERSIONS);
    const model = rng.pick(ANDROID_MODELS);
    const build = `${String.fromCharCode(80 + Number(v) - 11)}${rng.pick(['P1A', 'Q3A', 'UP1A', 'TQ3A'])}.${rng.int(230101, 241231)}.00${rng.int(1, 9)}`;
    return { os: 'android', os_version: v, ua: `Dalvik/2.1.0 (Linux; U; Android ${v}; ${model} Build/${build})` };
  }
  const v = rng.pick(IOS_VERSIONS);
  const model = rng.pick(['iPhone', 'iPhone', 'iPhone', 'iPad']);
  return {
    os: 'ios',
    os_version: v,
    ua: `Mozilla/5.0 (${model}; CPU ${model === 'iPad' ? 'OS' : 'iPhone OS'} ${v.replace(/\./g, '_')} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148`,
  };
}

/**
 * First octets of ordinary public IPv4 space. 10, 100, 127, 169, 172, 192, 198 and 203 are
 * left out so that random devices never fall into the private, CGNAT (used by edge cases)
 * or fraud ranges by accident.
 */
const V4_FIRST_OCTETS = [5, 24, 31, 37, 46, 62, 68, 73, 77, 81, 84, 86, 88, 90, 92, 95, 98, 104, 109, 117, 122, 145, 151, 176, 178, 185, 188, 201, 212, 217];

export function drawPublicIp(rng: Rng): string {
  if (rng.chance(0.15)) {
    const h = () => rng.int(0, 0xffff).toString(16);
    return `2a02:${rng.int(0x100, 0xfff).toString(16)}:${h()}:${h()}:${h()}:${h()}:${h()}:${h()}`;
  }
  return `${rng.pick(V4_FIRST_OCTETS)}.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
}

/** An address inside one of `FRAUD_CIDRS`. */
export function drawFraudIp(rng: Rng): string {
  const r = rng.next();
  if (r < 0.4) return `203.0.113.${rng.int(1, 254)}`;
  if (r < 0.65) return `198.51.100.${rng.int(1, 127)}`;
  return `2001:db8:bad:${rng.int(0, 0xffff).toString(16)}::${rng.int(1, 0xffff).toString(16)}`;
}

/** Just outside `FRAUD_CIDRS`: must never be blocked. */
export function drawNearMissIp(rng: Rng): string {
  return rng.chance(0.5)
    ? `198.51.100.${rng.int(128, 254)}`
    : `2001:db8:bad1:${rng.int(0, 0xffff).toString(16)}::${rng.int(1, 0xffff).toString(16)}`;
}

export const EVENT_NAMES = new WeightedTable<string>([
  ['tutorial_complete', 14],
  ['level_up', 22],
  ['ad_watched', 18],
  ['add_to_cart', 10],
  ['sign_up', 6],
  ['share', 5],
  ['achievement_unlocked', 8],
  ['search', 12],
  ['checkout_started', 5],
]);

export const CURRENCIES = new WeightedTable<string>([
  ['USD', 58],
  ['EUR', 20],
  ['GBP', 6],
  ['JPY', 5],
  ['INR', 5],
  ['BRL', 4],
  ['KRW', 2],
]);

const PRICE_POINTS: Record<string, readonly number[]> = {
  USD: [0.99, 1.99, 4.99, 9.99, 19.99, 49.99, 99.99],
  EUR: [0.99, 1.99, 4.99, 9.99, 19.99, 49.99],
  GBP: [0.79, 1.99, 4.49, 8.99, 17.99],
  JPY: [120, 250, 480, 980, 1500, 3000],
  INR: [79, 149, 399, 799],
  BRL: [4.9, 9.9, 24.9, 54.9],
  KRW: [1200, 5900, 12000],
};

/**
 * A purchase: an in-app price point, or (one in five) ad revenue with six decimals. Values are
 * rounded to micro-units so that they survive JSON and `revenue_micros` exactly.
 */
export function drawPurchase(rng: Rng): { revenue: number; currency: string } {
  const currency = CURRENCIES.pick(rng);
  if (rng.chance(0.2)) return { revenue: Math.round(rng.range(0.000001, 0.08) * 1e6) / 1e6, currency };
  return { revenue: rng.pick(PRICE_POINTS[currency]), currency };
}

type ErrorTemplate = readonly [errorType: string, message: (rng: Rng) => string];

/** Messages carry ids and numbers that vary per occurrence but normalise to one fingerprint. */
const ERROR_TEMPLATES: readonly ErrorTemplate[] = [
  ['NetworkError', (r) => `Request ${hex32(r.uint32())}${hex32(r.uint32()).slice(0, 4)} to /v2/sync failed with status ${r.pick([500, 502, 503, 504])}`],
  ['NetworkError', (r) => `Connection reset by peer after ${r.int(1, 30000)} ms`],
  ['TimeoutError', (r) => `Operation timed out after ${r.int(5000, 60000)} ms (request id ${hex32(r.uint32())}${hex32(r.uint32())})`],
  ['NullPointerException', (r) => `Attempt to invoke virtual method 'int java.lang.String.length()' on a null object reference at MainActivity.java:${r.int(40, 420)}`],
  ['SQLiteException', (r) => `database is locked (code ${r.pick([5, 261, 517])}) while writing table events_${r.int(1, 9)}`],
  ['OutOfMemoryError', (r) => `Failed to allocate a ${r.int(1, 64) * 1048576} byte allocation with ${r.int(100000, 9000000)} free bytes`],
  ['EXC_BAD_ACCESS', (r) => `KERN_INVALID_ADDRESS at 0x${hex32(r.uint32()).toUpperCase()}${hex32(r.uint32()).slice(0, 4).toUpperCase()} in thread ${r.int(0, 12)}`],
  ['PaymentError', (r) => `  Purchase ${hex32(r.uint32())}-${hex32(r.uint32())} declined: code ${r.int(1000, 1099)}  `],
];

export function drawError(rng: Rng): { error_type: string; error_message: string } {
  // A skewed pick: a few error kinds dominate, as in real crash reports.
  const i = Math.min(ERROR_TEMPLATES.length - 1, Math.floor(Math.pow(rng.next(), 1.8) * ERROR_TEMPLATES.length));
  const [error_type, message] = ERROR_TEMPLATES[i];
  return { error_type, error_message: message(rng) };
}

const HEX_CODES = Array.from('0123456789abcdef', (c) => c.charCodeAt(0));

/**
 * Formats UUID-shaped ids `xxxxxxxx-RRRR-4RRR-vxxx-xxxxxxxxxxxx` whose middle part is fixed
 * per run (`runWord`); unique as long as `w0` is, which callers make a bijection of a counter.
 * The id is written into a byte buffer and decoded once: concatenating the pieces would leave
 * a tree of string fragments per pending event, which costs more in GC than the rest of
 * generating the event.
 */
export function createUuidFormatter(runWord: number): (w0: number, w2: number, w3: number) => string {
  const buf = Buffer.alloc(36);
  const r = hex32(runWord);
  buf.write(`-${r.slice(0, 4)}-4${r.slice(5, 8)}-`, 8, 'latin1');
  buf[23] = 45; // '-'
  const put = (at: number, w: number, fromBit: number, toBit: number) => {
    for (let s = fromBit; s >= toBit; s -= 4) buf[at++] = HEX_CODES[(w >>> s) & 15];
  };
  return (w0, w2, w3) => {
    put(0, w0, 28, 0);
    buf[19] = HEX_CODES[8 + (w2 & 3)]; // RFC 4122 variant
    put(20, w2, 8, 0);
    put(24, w2, 28, 16);
    put(28, w3, 28, 0);
    return buf.toString('latin1', 0, 36);
  };
}
