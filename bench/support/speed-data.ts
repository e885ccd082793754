/**
 * The speed bench's input: realistic stored events (generated wire events enriched as the
 * collector does, as in `test/support/speed-fixture.ts`), produced to a topic in large sends
 * before anything is timed, and a steady-rate producer for the freshness phase that stamps
 * `received_at` at produce time, so that the speed layer's own freshness (receive →
 * queryable) measures produce → queryable.
 */
import type { Kafka, Message, Producer } from 'kafkajs';
import { enrichEvent } from '../../ingest/collector/enrich-event';
import { generateEvents } from '../../ingest/load-generator/generate-events';
import { parseTime, validateWireEvent, type StoredEvent } from '../../schemas/event';
import { eventKey } from '../../schemas/topics';

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

const message = (e: StoredEvent): Message => ({ key: eventKey(e.app_id, e.device_id), value: JSON.stringify(e) });

/** Generates and produces `events` stored events over the last `days` (default 1) in sends of `sendSize`; returns how many were produced. */
export async function preloadTopic(kafka: Kafka, o: { topic: string; appId: string; seed: number; events: number; sendSize: number; days?: number }): Promise<number> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  let produced = 0;
  try {
    let messages: Message[] = [];
    const flush = async () => {
      if (messages.length === 0) return;
      await producer.send({ topic: o.topic, acks: -1, messages });
      produced += messages.length;
      messages = [];
    };
    for (const e of storedEventStream({ appId: o.appId, seed: o.seed, events: o.events, receivedAt: Date.now(), days: o.days })) {
      messages.push(message(e));
      if (messages.length >= o.sendSize) await flush();
    }
    await flush();
  } finally {
    await producer.disconnect();
  }
  return produced;
}

/** Most events in one send when the producer catches up. */
const MAX_CATCH_UP_SEND = 10_000;

/**
 * Produces `events` at `ratePerS` in small sends every `tickMs`, each event's `received_at`
 * set to the moment it is serialised. Each tick sends every event due by then: a producer
 * that fell behind (a send slower than a tick, as at 50k events/s on two busy cores) catches
 * up in larger sends, which cost less per event, instead of falling further behind. Bounded:
 * stops after the events or `maxMs`.
 */
export async function produceSteady(
  producer: Producer,
  o: { topic: string; events: StoredEvent[]; ratePerS: number; tickMs: number; maxMs: number },
): Promise<{ produced: number; ms: number }> {
  const t0 = performance.now();
  let produced = 0;
  for (let tick = 0; produced < o.events.length && performance.now() - t0 < o.maxMs; tick++) {
    const wait = t0 + tick * o.tickMs - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const due = Math.max(produced + 1, Math.round(((performance.now() - t0) * o.ratePerS) / 1000));
    const now = Date.now();
    const chunk = o.events.slice(produced, Math.min(due, produced + MAX_CATCH_UP_SEND));
    for (const e of chunk) e.received_at = now;
    await producer.send({ topic: o.topic, acks: -1, messages: chunk.map(message) });
    produced += chunk.length;
  }
  return { produced, ms: performance.now() - t0 };
}
