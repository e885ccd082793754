/**
 * The speed bench's steady producer: what it sends is each stored event as JSON with
 * `received_at` set to its send time (the freshness figures rest on that), every event once
 * and in order, and a sink slower than the tick gets the events due in larger sends instead
 * of the phase running late. The sink is a recorder: this is about the pacing and the bytes,
 * not about Kafka.
 */
import type { LogProducer, TopicRecords } from '../../infra/kafka/log-producer';
import { produceSteady, stampableRecords, storedEventStream } from '../../bench/support/speed-data';
import { eventKey } from '../../schemas/topics';

const opts = { appId: 'bench', seed: 7, events: 300, receivedAt: Date.parse('2026-12-01T00:00:00Z') };

function recorder(sendMs: number): LogProducer & { sends: TopicRecords[][] } {
  const sends: TopicRecords[][] = [];
  return {
    sends,
    async send(batch) {
      sends.push(batch);
      await new Promise((r) => setTimeout(r, sendMs));
    },
    close: async () => undefined,
  };
}

test('each event is sent as its JSON with received_at and the record timestamp set to the send time', async () => {
  const events = [...storedEventStream(opts)];
  const sink = recorder(0);
  const sent = await produceSteady(sink, { topic: 't', records: stampableRecords(opts), ratePerS: 20_000, tickMs: 5, maxMs: 10_000 });
  expect(sent.produced).toBe(events.length);
  const records = sink.sends.flatMap((b) => b.flatMap((t) => t.records));
  expect(records).toHaveLength(events.length);
  records.forEach((r, i) => {
    expect(r.key).toBe(eventKey(events[i].app_id, events[i].device_id));
    expect(r.value).toBe(JSON.stringify({ ...events[i], received_at: r.timestamp }));
  });
});

test('a sink slower than the tick gets the events due in larger sends', async () => {
  const records = stampableRecords({ ...opts, events: 3000 });
  const sink = recorder(30); // each send takes 30 ms; ticks are 5 ms apart, 10 events each
  const sent = await produceSteady(sink, { topic: 't', records, ratePerS: 2000, tickMs: 5, maxMs: 10_000 });
  expect(sent.produced).toBe(records.length);
  // One send per tick would be 300 sends of 10; at most one every 30 ms over ~1.5 s is ~50.
  expect(sink.sends.length).toBeLessThan(150);
  expect(Math.max(...sink.sends.map((b) => b[0].records.length))).toBeGreaterThan(40);
});
