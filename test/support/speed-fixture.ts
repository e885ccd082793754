/**
 * Shared pieces of the speed layer's crash and rebalance tests: realistic stored events
 * (generated wire events enriched as the collector does), producing them, waiting for a
 * consumer group to catch up, and the rows a never-interrupted run would have written.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { KafkaMessage } from 'kafkajs';
import { enrichEvent } from '../../ingest/collector/enrich-event';
import { generateEventArray } from '../../ingest/load-generator/generate-events';
import { createKafka } from '../../infra/kafka/local-broker';
import { validateWireEvent, type StoredEvent } from '../../schemas/event';
import { eventKey } from '../../schemas/topics';
import { DAY_MS } from '../reference/attribution';
import type { EventRtRow } from './events-rt-reference';
import { streamRowsOf } from './stream-model';
import { testBrokers } from '../setup/test-broker';
import { readTopic } from './test-stack';

/**
 * Stored events for the crash and rebalance tests. Installs carry no `ua`: a probabilistic
 * match looks up clicks other partitions have written by then, which depends on timing, so
 * a run could not be compared with a replay; the e2e test covers that rule. They happen over
 * the `spanMs` before `now` (late copies and the edge cases' old clicks aside).
 */
export function storedEvents(seed: number, n: number, apps = ['crash'], now = Date.now(), spanMs = 2 * DAY_MS): StoredEvent[] {
  const out: StoredEvent[] = [];
  for (const g of generateEventArray({ seed, apps, startMs: now - spanMs, endMs: now, events: n })) {
    const v = validateWireEvent(g.event);
    if (!v.ok) continue;
    const e = enrichEvent(v.value, { receivedAt: now, requestIp: '127.0.0.1' });
    if (e.ok) out.push(e.event.type === 'install' ? { ...e.event, ua: '' } : e.event);
  }
  return out;
}

/** Produces events in chunks, pausing between them so consumers see a steady load. */
export async function produce(topic: string, events: StoredEvent[], opts: { chunk?: number; pauseMs?: number } = {}): Promise<void> {
  const producer = createKafka(testBrokers(), 'speed-fixture').producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const chunk = opts.chunk ?? 1000;
  for (let i = 0; i < events.length; i += chunk) {
    await producer.send({
      topic,
      acks: -1,
      messages: events.slice(i, i + chunk).map((e) => ({ key: eventKey(e.app_id, e.device_id), value: JSON.stringify(e) })),
    });
    if (opts.pauseMs) await new Promise((r) => setTimeout(r, opts.pauseMs));
  }
  await producer.disconnect();
}

/** Committed and end offsets of a group on a topic, summed over partitions. */
export async function groupProgress(topic: string, groupId: string, brokers = testBrokers()): Promise<{ committed: number; end: number }> {
  const admin = createKafka(brokers, 'speed-fixture-admin').admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const at = (p: number) => Math.max(0, Number(committed.partitions.find((c) => c.partition === p)?.offset ?? 0));
    return { committed: ends.reduce((a, e) => a + at(e.partition), 0), end: ends.reduce((a, e) => a + Number(e.high), 0) };
  } finally {
    await admin.disconnect();
  }
}

/** Whether a group has committed everything produced to a non-empty topic (a waitFor condition). */
export async function groupCaughtUp(topic: string, groupId: string, brokers = testBrokers()): Promise<boolean> {
  const g = await groupProgress(topic, groupId, brokers);
  return g.end > 0 && g.committed >= g.end;
}

/** What the speed layer writes for every message of a topic, however it was interrupted (stream-model.ts). */
export async function uninterruptedRowsOf(topic: string, lookbackDays = 7): Promise<EventRtRow[]> {
  const byPartition = new Map<number, KafkaMessage[]>();
  for (const m of await readTopic(topic)) {
    const list = byPartition.get(m.partition) ?? [];
    list.push({ offset: String(m.offset), value: Buffer.from(m.value) } as KafkaMessage);
    byPartition.set(m.partition, list);
  }
  const rows: EventRtRow[] = [];
  for (const [p, messages] of byPartition) rows.push(...streamRowsOf(p, messages, lookbackDays));
  return rows;
}

/** events_rt's rows (or, with `table`, another table of its columns: speed_staged). */
export async function readEventsRt(ch: ClickHouseClient, table: 'events_rt' | 'speed_staged' = 'events_rt'): Promise<EventRtRow[]> {
  const rs = await ch.query({
    query: `SELECT *, toString(ts) AS ts, toString(received_at) AS received_at FROM ${table} ORDER BY kafka_partition, kafka_offset`,
    format: 'JSONEachRow',
  });
  return (await rs.json<EventRtRow>()).map((r) => ({ ...r, kafka_partition: Number(r.kafka_partition), kafka_offset: Number(r.kafka_offset), revenue_micros: Number(r.revenue_micros) }));
}

/** The decision-bearing part of a row, for comparing runs. */
export const rowKey = (r: EventRtRow): string =>
  [r.kafka_partition, r.kafka_offset, r.event_id, r.type, r.channel, r.campaign_id, r.install_kind, r.fraud_reason, r.name, r.currency, r.error_type].join('|');
