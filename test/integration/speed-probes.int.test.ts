/**
 * The speed layer's decision of a flush group (speed-layer/sql/decide.sql) takes any number of
 * installs probing for a probabilistic match: thousands of installs with long user agents are
 * read from the staged rows in ClickHouse, nothing of them travels in the URL, which a
 * ClickHouse server refuses over 1 MiB (run it on the server path with `npm run test:server`).
 */
import type { KafkaMessage } from 'kafkajs';
import type { StoredEvent } from '../../schemas/event';
import { runSpeedGroups } from '../support/speed-groups';
import { archived, openBatchTestEnv, type BatchTestEnv } from './batch-test-kit';

const T = Date.now() - 60_000;

let env: BatchTestEnv;
beforeAll(async () => {
  env = await openBatchTestEnv();
});
afterAll(async () => env?.close());

it('finds the click another partition wrote for one of 6000 installs with 300-character user agents', async () => {
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
  const run = await runSpeedGroups(env.ch, new Map([[0, messages]]));
  const matched = run.decisions.filter((d) => d.match === 'probabilistic');
  expect(matched).toEqual([expect.objectContaining({ install_event_id: 'i4321', click_event_id: 'c1', channel: 'net', campaign_id: 'cmp' })]);
  expect(run.decisions.filter((d) => d.outcome === 'organic')).toHaveLength(5999);
});
