/**
 * The load generator sends ≥100k events through the collector on the real broker: every
 * accepted event is in Kafka and its Kafka record in exactly one archive file range; every
 * rejected one is in the response and in the DLQ with its reason.
 */
import { tableFromIPC } from 'apache-arrow';
import { generateEventArray } from '../../ingest/load-generator/generate-events';
import { sendEvents } from '../../ingest/load-generator/send-events';
import { createObjectStore } from '../../infra/object-store/object-store';
import { ARCHIVE_PREFIX, archiverStateKey, parseArchiveKey } from '../../schemas/archive-layout';
import { createTestApp, readTopic, startTestStack, type TestStack } from '../support/test-stack';
import { waitFor } from '../support/wait-for';

jest.setTimeout(300_000);

const EVENTS = 100_000;
const DAY = 86_400_000;

describe('ingest end to end', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ role: ['ingest', 'archiver'], env: { RATE_LIMIT_REQUESTS_PER_S: '100000', RATE_LIMIT_EVENTS_PER_S: '10000000' } });
  });
  afterAll(async () => stack?.stop());

  it('lands every accepted event in Kafka and exactly once in the archive, every rejected one in the DLQ', async () => {
    const keys: Record<string, string> = {};
    for (const app of ['shop', 'game']) keys[app] = (await createTestApp(stack, { app_id: app })).write_key;
    const now = Date.now();
    const generated = generateEventArray({ seed: 42, apps: Object.keys(keys), startMs: now - 3 * DAY, endMs: now, events: EVENTS, invalidFraction: 0.01 });
    expect(generated.length).toBeGreaterThanOrEqual(EVENTS);

    const result = await sendEvents(generated, { url: stack.url, keys, batchSize: 100, concurrency: 8, collectBatches: false });
    // A failed batch's events are listed as rejected with why (retries spent, or refused): shown if any.
    expect(result.rejected.filter((r) => r.reason.startsWith('batch ')).slice(0, 3)).toEqual([]);
    expect(result.failedBatches).toBe(0);
    expect(result.rejected.length).toBeGreaterThan(0);
    expect(result.accepted + result.rejected.length).toBe(generated.length);

    const kafka = await readTopic(stack.cfg.kafka.topics.events);
    // Copies sent by the generator (client retries) are separate records; nothing else is.
    expect(kafka.length).toBe(result.accepted);
    const inKafka = new Map<string, number>();
    for (const m of kafka) {
      const id = (JSON.parse(m.value) as { app_id: string; event_id: string }).event_id;
      inKafka.set(id, (inKafka.get(id) ?? 0) + 1);
    }
    const rejectedIds = new Set(result.rejected.map((r) => r.event_id));
    for (const g of generated) {
      if (!rejectedIds.has(g.event.event_id)) expect(inKafka.has(g.event.event_id)).toBe(true);
    }

    // Every rejection is in the DLQ with its reason.
    const dlq = (await readTopic(stack.cfg.kafka.topics.dlq)).map((m) => JSON.parse(m.value) as { event_id: string | null; reason: string });
    expect(dlq.length).toBe(result.rejected.length);
    // Compared as multisets: a retried copy of a rejected event is rejected again, and a
    // reason quoting the corrected time differs between the copies.
    const pairs = (rs: { event_id: string | null; reason: string }[]) => rs.map((r) => `${r.event_id}\t${r.reason}`).sort();
    expect(pairs(dlq)).toEqual(pairs(result.rejected));

    // The archive holds every Kafka record exactly once.
    const store = createObjectStore(stack.cfg.objectStore.url);
    const ends = new Map<number, number>();
    for (const m of kafka) ends.set(m.partition, Math.max(ends.get(m.partition) ?? -1, m.offset));
    await waitFor(
      async () => {
        for (const [p, last] of ends) {
          const s = await store.get(archiverStateKey(p));
          if (!s || (JSON.parse(s.toString()) as { next: number }).next <= last) return false;
        }
        return true;
      },
      { timeoutMs: 120_000, what: 'archive catch-up' },
    );
    const archived = new Map<string, number>();
    let rows = 0;
    let bytes = 0;
    for (const key of await store.list(ARCHIVE_PREFIX)) {
      const f = parseArchiveKey(key);
      expect(f).toBeDefined();
      const buf = (await store.get(key)) as Buffer;
      bytes += buf.length;
      const t = tableFromIPC(buf);
      const parts = t.getChild('kafka_partition')?.toArray() as Int32Array;
      const offsets = t.getChild('kafka_offset')?.toArray() as BigInt64Array;
      const ts = t.getChild('ts')?.toArray() as BigInt64Array;
      for (let i = 0; i < t.numRows; i++) {
        const k = `${parts[i]}:${offsets[i]}`;
        archived.set(k, (archived.get(k) ?? 0) + 1);
        expect(new Date(Number(ts[i])).toISOString().slice(0, 10)).toBe(f?.date);
      }
      rows += t.numRows;
    }
    expect(rows).toBe(kafka.length);
    for (const m of kafka) expect(archived.get(`${m.partition}:${m.offset}`)).toBe(1);
    process.stderr.write(`ingest e2e: ${generated.length} events in ${result.seconds.toFixed(1)} s, ${(bytes / rows).toFixed(1)} archive bytes/event\n`);
  });
});
