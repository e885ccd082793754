/**
 * Checks that the collector's fast paths change nothing but speed:
 *
 * - `validateWireEvent`'s fast path (schemas/event.ts) accepts only events that the zod schema
 *   accepts, with the same value and the same stored event after enrichment. (Where it
 *   declines, the zod path runs as before, so reasons cannot differ.)
 * - `keyPartition` (infra/kafka/key-partitioner.ts) picks the partition that kafkajs's
 *   DefaultPartitioner picks, and its murmur2 equals kafkajs's bit for bit.
 *
 *   node --import tsx bench/support/check-fast-paths.ts [cases=200000]
 *
 * Inputs: generated events (valid and deliberately invalid), and random mutations of them at
 * the schema's boundaries, all through JSON text as the collector receives them.
 */
import { isDeepStrictEqual } from 'node:util';
import { Partitioners, type PartitionMetadata } from 'kafkajs';
import { enrichEvent } from '../../ingest/collector/enrich-event';
import { keyPartition, murmur2 } from '../../infra/kafka/key-partitioner';
import { generateEventArray } from '../../ingest/load-generator/generate-events';
import { MAX_PROPERTIES_BYTES, WireEventSchema, validateWireEvent, type WireEvent } from '../../schemas/event';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2') as (key: Buffer | string) => number;

let seed = 0x2545f491;
const rand = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const int = (n: number) => Math.floor(rand() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];

const ALPHABETS = ['abcXYZ09-_:', 'é€𝄞', '\ud800\udc00\ud83d', ' \t\n"\\'];
function randomString(len: number): string {
  const a = pick(ALPHABETS);
  let s = '';
  for (let i = 0; i < len; i++) s += a[int(a.length)];
  return s.slice(0, len);
}

const LENGTHS = [0, 1, 2, 3, 4, 63, 64, 65, 127, 128, 129, 255, 256, 257, 2047, 2048, 2049, 8191, 8192, 8193];
const FIELDS = [
  'event_id', 'app_id', 'type', 'ts', 'sent_at', 'device_id', 'ip', 'ua', 'os', 'os_version', 'app_version', 'country',
  'campaign_id', 'channel', 'name', 'revenue', 'currency', 'error_type', 'error_message', 'properties', 'extra', '__proto__', 'constructor',
];
const TIMES = [0, -1, 1.5, 946_684_800_000, Number.MAX_SAFE_INTEGER, 2 ** 53, 1e300, '2026-11-24', '2026-11-24T10:00:00Z', '2026-02-30', '2026-11-24T25:00', ' 2026-11-24 ', 'yesterday', '0099-01-01'];
const NUMBERS = [0, -0, -1, 1.5, 4.99, 1e12, 1e12 + 1, 1e-7, 1e21];

function randomValue(field: string): unknown {
  switch (int(8)) {
    case 0:
      return null;
    case 1:
      return pick(TIMES);
    case 2:
      return pick(NUMBERS);
    case 3:
      return field === 'type' ? pick(['click', 'install', 'purchase', 'error', 'event', 'impression', 'launch', 'Click', '']) : randomString(pick(LENGTHS));
    case 4:
      return pick([[], {}, { a: 1 }, { nested: { deep: [1, 2, { x: 'y' }] } }, { big: 'x'.repeat(MAX_PROPERTIES_BYTES) }, { big: 'x'.repeat(MAX_PROPERTIES_BYTES - 10) }, true, 'str']);
    case 5:
      return pick(['US', 'us', 'USA', 'U1', 'EUR', 'eur', 'EU', 'E1R', '']);
    default:
      return randomString(int(6));
  }
}

/** An event as JSON text, mutated in 0–3 places. Keys like __proto__ are written into the text, as a client could. */
function mutate(e: WireEvent): string {
  const o: Record<string, unknown> = { ...e };
  const extra: string[] = [];
  for (let n = int(4); n > 0; n--) {
    const f = pick(FIELDS);
    if (f === '__proto__' || f === 'constructor') {
      extra.push(`${JSON.stringify(f)}:${JSON.stringify(randomValue(f))}`);
    } else if (int(4) === 0) delete o[f];
    else o[f] = randomValue(f);
  }
  if (int(20) === 0) o.properties = JSON.parse(`{"__proto__":{"x":1},"a":${int(9)}}`);
  let text = JSON.stringify(o);
  if (extra.length) text = `{${extra.join(',')}${text.length > 2 ? `,${text.slice(1)}` : '}'}`;
  return text;
}

function checkValidator(texts: Iterable<string>): { cases: number; fast: number; zodOnlyValid: number } {
  const receivedAt = Date.now();
  let cases = 0;
  let fast = 0;
  let zodOnlyValid = 0;
  for (const text of texts) {
    cases++;
    const raw = JSON.parse(text) as unknown;
    const v = validateWireEvent(raw);
    const z = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? WireEventSchema.safeParse(raw, { reportInput: true }) : undefined;
    if (v.ok && v.value === raw) {
      fast++;
      if (!z?.success) throw new Error(`fast path accepted what zod rejects: ${text.slice(0, 500)}\nzod: ${JSON.stringify(z?.error?.issues).slice(0, 500)}`);
      if (!isDeepStrictEqual({ ...z.data }, { ...v.value })) throw new Error(`fast path value differs from zod's: ${text.slice(0, 500)}`);
      const ctx = { receivedAt, requestIp: '127.0.0.1' };
      const a = JSON.stringify(enrichEvent(v.value, ctx));
      const b = JSON.stringify(enrichEvent(z.data, ctx));
      if (a !== b) throw new Error(`stored event differs:\n${a}\n${b}`);
    } else {
      if (v.ok !== Boolean(z?.success)) throw new Error(`verdict differs from zod's: ${text.slice(0, 500)}`);
      if (v.ok) {
        zodOnlyValid++;
        if (process.env.SHOW_DECLINED && zodOnlyValid <= 5) process.stdout.write(`declined but valid: ${text.replace(/"ua":"[^"]*",/, "").slice(0, 700)}\n`);
      }
    }
  }
  return { cases, fast, zodOnlyValid };
}

function checkPartitioner(n: number): void {
  const partitionMetadata: PartitionMetadata[] = Array.from({ length: 6 }, (_, i) => ({ partitionErrorCode: 0, partitionId: i, leader: 1, replicas: [1], isr: [1] }));
  const stock = Partitioners.DefaultPartitioner();
  for (let i = 0; i < n; i++) {
    const len = i < 600 ? i : int(700);
    const key: string | Buffer = int(10) === 0 ? Buffer.from(randomString(len)) : randomString(len);
    const h1 = kafkajsMurmur2(key);
    const h2 = murmur2(Buffer.isBuffer(key) ? key : Buffer.from(key));
    if (h1 !== h2) throw new Error(`murmur2 differs for ${JSON.stringify(String(key))}: kafkajs ${h1}, ours ${h2}`);
    const args = { topic: 't', partitionMetadata, message: { key, value: 'v' } };
    const p1 = stock(args);
    const p2 = keyPartition(key, partitionMetadata.length);
    if (p1 !== p2) throw new Error(`partition differs for ${JSON.stringify(String(key))}: kafkajs ${p1}, ours ${p2}`);
  }
}

function main(): void {
  const n = Number(process.argv[2] ?? 200_000);
  checkPartitioner(Math.min(n, 200_000));
  process.stdout.write(`partitioner: ${Math.min(n, 200_000)} keys, same hash and partition as kafkajs\n`);

  const now = Date.now();
  const generated = generateEventArray({ seed: 7, startMs: now - 3 * 86_400_000, endMs: now, apps: ['a', 'b'], events: Math.ceil(n / 4), invalidFraction: 0.1 });
  const plain = checkValidator(generated.map((g) => JSON.stringify(g.event)));
  process.stdout.write(`validator, generated events: ${plain.cases} cases, ${plain.fast} on the fast path, ${plain.zodOnlyValid} valid ones left to zod\n`);
  const mutated = checkValidator((function* () {
    for (let i = 0; i < n; i++) yield mutate(generated[int(generated.length)].event);
  })());
  process.stdout.write(`validator, mutated events: ${mutated.cases} cases, ${mutated.fast} on the fast path, ${mutated.zodOnlyValid} valid ones left to zod\n`);
}

main();
