/**
 * The broker is stopped while the collector receives traffic: the collector answers 503
 * (never 202 for an event that is not in Kafka), recovers when the broker returns, and
 * nothing it acknowledged is lost.
 */
import { restartTestBroker, stopTestBroker } from '../setup/test-broker';
import { createTestApp, readTopic, startTestStack, type TestStack } from '../support/test-stack';
import { waitFor } from '../support/wait-for';

jest.setTimeout(240_000);

describe('collector during a broker outage', () => {
  let stack: TestStack;
  let writeKey: string;

  beforeAll(async () => {
    // Refusals come back fast while the broker is down: the loops must meet 503, not the
    // per-key rate limit (429), which is tested on its own.
    stack = await startTestStack({ role: 'ingest', env: { RATE_LIMIT_REQUESTS_PER_S: '100000', RATE_LIMIT_EVENTS_PER_S: '100000000' } });
    writeKey = (await createTestApp(stack, { app_id: 'outage' })).write_key;
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('answers 503 while Kafka is down, recovers after, and loses nothing acknowledged', async () => {
    const acked = new Set<string>();
    const statuses: Record<number, number> = {};
    let missingRetryAfter = 0;
    let seq = 0;
    let sending = true;

    const sendLoop = async () => {
      while (sending) {
        const events = Array.from({ length: 50 }, () => ({
          event_id: `o${seq++}`,
          app_id: 'outage',
          type: 'launch',
          ts: Date.now(),
          device_id: `d${seq % 100}`,
        }));
        let res: Response;
        try {
          res = await fetch(`${stack.url}/v1/events`, {
            method: 'POST',
            headers: { authorization: `Bearer ${writeKey}`, 'content-type': 'application/json' },
            body: JSON.stringify({ events }),
          });
        } catch {
          continue;
        }
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        if (res.status === 202) {
          const body = (await res.json()) as { accepted: number };
          expect(body.accepted).toBe(50);
          for (const e of events) acked.add(e.event_id);
        } else {
          if (res.status === 503 && !res.headers.get('retry-after')) missingRetryAfter++;
          await res.text();
        }
      }
    };
    const loops = [sendLoop(), sendLoop()];

    await waitFor(() => acked.size >= 2000, { what: 'traffic before the outage' });
    await stopTestBroker();
    const before503 = statuses[503] ?? 0;
    await waitFor(() => (statuses[503] ?? 0) >= before503 + 2, { timeoutMs: 60_000, what: '503 during the outage' });
    const ackedDuringOutage = acked.size;
    await restartTestBroker();
    await waitFor(() => acked.size >= ackedDuringOutage + 2000, { timeoutMs: 90_000, what: 'recovery after the broker returned' });
    sending = false;
    await Promise.all(loops);

    expect(statuses[503]).toBeGreaterThan(0);
    expect(missingRetryAfter).toBe(0);
    expect(Object.entries(statuses).filter(([s]) => s !== '202' && s !== '503')).toEqual([]);

    const inKafka = new Set((await readTopic(stack.cfg.kafka.topics.events)).map((m) => (JSON.parse(m.value) as { event_id: string }).event_id));
    const lost = [...acked].filter((id) => !inKafka.has(id));
    expect(lost).toEqual([]);
  });
});
