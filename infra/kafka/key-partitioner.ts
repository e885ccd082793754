/**
 * kafkajs's DefaultPartitioner (Java-compatible murmur2 of the key), computed in 32-bit
 * integer arithmetic instead of kafkajs's 64-bit `Long` objects (or @platformatic/kafka's
 * BigInts): the same partition for every key, at a fraction of the cost. Under full load
 * kafkajs's stock partitioner took ~8 % of the collector's CPU (bench/ingest.ts profile).
 * Events are keyed by app_id + device_id, so this is what keeps a device's events in one
 * partition across clients (test/unit/key-partitioner.test.ts).
 *
 * Equality with kafkajs: every step of kafkajs's murmur2 (multiply, xor, unsigned shift of
 * `toInt()`) keeps the low 32 bits of a 64-bit value, and the low 32 bits of a product or xor
 * depend only on the low 32 bits of the operands, which is what Math.imul and `^` compute.
 * bench/support/check-fast-paths.ts compares the two on many more keys.
 */

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** Java Kafka's `Utils.murmur2` over bytes `[0, length)` of `data`, as a signed 32-bit int. */
export function murmur2(data: Uint8Array, length: number = data.length): number {
  let h = SEED ^ length;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i << 2;
    let k = data[i4] | (data[i4 + 1] << 8) | (data[i4 + 2] << 16) | (data[i4 + 3] << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const tail = length & ~3;
  const rest = length & 3;
  if (rest === 3) h ^= data[tail + 2] << 16;
  if (rest >= 2) h ^= data[tail + 1] << 8;
  if (rest >= 1) {
    h ^= data[tail];
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** A UTF-8 encoding of at most 3 bytes per UTF-16 code unit fits here without allocating. */
const scratch = Buffer.allocUnsafe(4096);

/** The murmur2 hash kafkajs computes for a message key (`Buffer.from(String(key))` for a non-Buffer). */
export function keyHash(key: Buffer | string): number {
  if (Buffer.isBuffer(key)) return murmur2(key);
  const s = String(key);
  if (s.length * 3 > scratch.length) return murmur2(Buffer.from(s));
  return murmur2(scratch, scratch.write(s, 0, 'utf8'));
}

/**
 * kafkajs's `Partitioners.DefaultPartitioner` for a keyed message (Java's `toPositive(murmur2(key))
 * % numPartitions`): where the collector puts a device's events, whatever client writes them.
 */
export function keyPartition(key: Buffer | string, numPartitions: number): number {
  return (keyHash(key) & 0x7fffffff) % numPartitions;
}
