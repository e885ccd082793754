/**
 * The speed bench's input: realistic stored events (generated wire events enriched as the
 * collector does, as in `test/support/speed-fixture.ts`), produced to a topic in large sends
 * before anything is timed, and a steady-rate producer for the freshness phases that stamps
 * `received_at` at produce time, so that the speed layer's own freshness (receive →
 * queryable) measures produce → queryable. Both produce through the collector's own client.
 */
import { enrichEvent } from '../../ingest/collector/enrich-event';
import { generateEvents } from '../../ingest/load-generator/generate-events';
import { parseTime, validateWireEvent, type StoredEvent } from '../../schemas/event';
import { eventKey } from '../../schemas/topics';
import type { LogProducer, LogRecord } from '../../infra/kafka/log-producer';
import { createPlatformaticProducer } from '../../infra/kafka/platformatic-producer';

const DAY_MS = 86_400_000;

/**
 * Stored events of one app whose event times span the last `days` (default 1), as the
 * collector would have written them at `receivedAt`.
 */
export function* storedEventStream(o: { appId: string; seed: number; events: number; receivedAt: number; days?: number }): Generator<StoredEvent> {
  const startMs = o.receivedAt - (o.days ?? 1) * DAY_MS;
  for (const g of generateEvents({ seed: o.seed, startMs, endMs: o.receivedAt, apps: [o.appId], events: o.events })) {
    let e = g.event;
    // As sendEvents does: a skewed device's sent_at is its clock at the simulated send time;
    // moved to now, the collector's clock-skew correction recovers the true time.
    if (e.sent_at !== undefined && e.sent_at !== null) {
      const sent = parseTime(e.sent_at);
      if (sent !== undefined) e = { ...e, sent_at: sent + (o.receivedAt - g.sendAtMs) };
    }
    const v = validateWireEvent(e);
    if (!v.ok) continue;
    const enriched = enrichEvent(v.value, { receivedAt: o.receivedAt, requestIp: '127.0.0.1' });
    if (enriched.ok) yield enriched.event;
  }
}

/**
 * A stored event serialised ahead of time around its `received_at`, so that stamping it at
 * send time costs a concatenation instead of a JSON.stringify on the producing thread.
 */
export interface StampableRecord {
  key: string;
  head: string;
  tail: string;
}

const STAMP_FIELD = '"received_at":';
const STAMP = 1_234_567_890_123;

function stampable(e: StoredEvent): StampableRecord {
  const json = JSON.stringify({ ...e, received_at: STAMP });
  const at = json.indexOf(`${STAMP_FIELD}${STAMP}`);
  if (at < 0) throw new Error('a stored event serialised without its received_at');
  const cut = at + STAMP_FIELD.length;
  return { key: eventKey(e.app_id, e.device_id), head: json.slice(0, cut), tail: json.slice(cut + String(STAMP).length) };
}

/** `storedEventStream`'s events, serialised for `produceSteady`. */
export function stampableRecords(o: Parameters<typeof storedEventStream>[0]): StampableRecord[] {
  const out: StampableRecord[] = [];
  for (const e of storedEventStream(o)) out.push(stampable(e));
  return out;
}

/**
 * The collector's own producer (@platformatic/kafka behind LogProducer: idempotent, acks=all,
 * partitioned as kafkajs does): about half kafkajs's CPU per message, which on two cores
 * shared with the layer and the broker decides how fast the bench can offer events.
 */
export const benchProducer = (brokers: string[]): LogProducer => createPlatformaticProducer({ brokers, clientId: 'weir-bench-speed-producer' });

/** Generates and produces `events` stored events over the last `days` (default 1) in sends of `sendSize`; returns how many were produced. */
export async function preloadTopic(brokers: string[], o: { topic: string; appId: string; seed: number; events: number; sendSize: number; days?: number }): Promise<number> {
  const producer = benchProducer(brokers);
  let produced = 0;
  try {
    let records: LogRecord[] = [];
    const flush = async () => {
      if (records.length === 0) return;
      await producer.send([{ topic: o.topic, records }]);
      produced += records.length;
      records = [];
    };
    for (const e of storedEventStream({ appId: o.appId, seed: o.seed, events: o.events, receivedAt: Date.now(), days: o.days })) {
      records.push({ key: eventKey(e.app_id, e.device_id), value: JSON.stringify(e), timestamp: Date.now() });
      if (records.length >= o.sendSize) await flush();
    }
    await flush();
  } finally {
    await producer.close();
  }
  return produced;
}

/** Most events in one send when the producer catches up. */
const MAX_CATCH_UP_SEND = 10_000;

/**
 * Produces `records` at `ratePerS` in small sends every `tickMs`, each one's `received_at`
 * (and record timestamp) set to the moment of its send. Each tick sends every record due by
 * then: a producer that fell behind (a send slower than a tick, as at 50k events/s on two
 * busy cores) catches up in larger sends, which cost less per event, instead of falling
 * further behind. Bounded: stops after the records or `maxMs`.
 */
export async function produceSteady(
  producer: LogProducer,
  o: { topic: string; records: StampableRecord[]; ratePerS: number; tickMs: number; maxMs: number },
): Promise<{ produced: number; ms: number }> {
  const t0 = performance.now();
  let produced = 0;
  for (let tick = 0; produced < o.records.length && performance.now() - t0 < o.maxMs; tick++) {
    const wait = t0 + tick * o.tickMs - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const due = Math.max(produced + 1, Math.round(((performance.now() - t0) * o.ratePerS) / 1000));
    const timestamp = Date.now();
    const chunk = o.records.slice(produced, Math.min(due, produced + MAX_CATCH_UP_SEND));
    await producer.send([{ topic: o.topic, records: chunk.map((r) => ({ key: r.key, value: `${r.head}${timestamp}${r.tail}`, timestamp })) }]);
    produced += chunk.length;
  }
  return { produced, ms: performance.now() - t0 };
}
