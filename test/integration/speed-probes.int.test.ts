/**
 * The speed layer's lookup of clicks other partitions wrote (PartitionProcessor
 * .foreignClicksFor) takes any number of probes: thousands of installs with long user agents
 * go to ClickHouse as data, not in the URL, which a ClickHouse server refuses over 1 MiB (run
 * it on the server path with `npm run test:server`).
 */
import type { KafkaMessage } from 'kafkajs';
import { CidrSet } from '../../schemas/cidr';
import { DAY_MS } from '../../speed-layer/attribution/attribution-state';
import { PartitionProcessor } from '../../speed-layer/partition-processor';
import type { StoredEvent } from '../../schemas/event';
import { archived, openBatchTestEnv, type BatchTestEnv } from './batch-test-kit';

// Recent: the clicks table keeps 8 days (TTL), older rows are dropped as they are written.
const T = Date.now() - 60_000;

let env: BatchTestEnv;
beforeAll(async () => {
  env = await openBatchTestEnv();
});
afterAll(async () => env?.close());

it('finds the click another partition wrote among 6000 probes of 300-character user agents', async () => {
  const ua = (i: number) => `Mozilla/5.0 (Linux; Android 14; device-${i}) ${'x'.repeat(260)}`;
  await env.ch.insert({
    table: 'clicks_by_ip_ua_rt',
    values: [{ app_id: 'a', ip: '198.51.100.7', ua: ua(4321), ts: new Date(T - 3_600_000).toISOString().replace('T', ' ').slice(0, 23), event_id: 'c1', channel: 'net', campaign_id: 'cmp', kafka_partition: 1 }],
    format: 'JSONEachRow',
  });
  // Events as Kafka carries them: without the archive's Kafka position.
  const installs: StoredEvent[] = Array.from({ length: 6000 }, (_, i) => {
    const { kafka_partition: _p, kafka_offset: _o, ...stored } = archived({ event_id: `i${i}`, type: 'install', ts: T, device_id: `d${i}`, app_id: 'a', ip: '198.51.100.7', ua: ua(i) });
    return stored;
  });
  const messages = installs.map((e, i) => ({ offset: String(i), value: Buffer.from(JSON.stringify(e)) }) as unknown as KafkaMessage);
  const p = new PartitionProcessor(0, () => ({ lookbackMs: 7 * DAY_MS, blocklist: new CidrSet([]), globalBlocklist: new CidrSet([]) }), () => 7 * DAY_MS);
  const found = await p.foreignClicksFor(env.ch, messages, () => false);
  expect([...(found as Map<string, unknown>).entries()]).toEqual([[`a\u0000198.51.100.7\u0000${ua(4321)}`, [expect.objectContaining({ event_id: 'c1', channel: 'net', campaign_id: 'cmp' })]]]);
});
