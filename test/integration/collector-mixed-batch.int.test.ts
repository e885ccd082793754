/**
 * A batch mixing valid and invalid events (DESIGN.md sections 3 and 7): the valid ones are
 * accepted and in the `events` topic, enriched (corrected ts, received_at, client_ts, ip,
 * micro-units, fingerprint); the invalid ones are only in the DLQ, each with its reason.
 */
import { createHash } from 'node:crypto';
import zlib from 'node:zlib';
import type { StoredEvent } from '../../schemas/event';
import { createTestApp, readTopic, startTestStack, type TestStack } from '../support/test-stack';

jest.setTimeout(180_000);

const APP = 'mixed';

let stack: TestStack;
let writeKey: string;

beforeAll(async () => {
  stack = await startTestStack({ role: 'ingest' });
  writeKey = (await createTestApp(stack, { app_id: APP })).write_key;
});

afterAll(async () => {
  await stack?.stop();
});

interface Rejection {
  index: number;
  event_id: string | null;
  reason: string;
}

async function post(body: unknown, gzip = false): Promise<{ status: number; body: { accepted: number; rejected: Rejection[] }; before: number; after: number }> {
  const json = JSON.stringify(body);
  const before = Date.now();
  const res = await fetch(`${stack.url}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${writeKey}`, 'content-type': 'application/json', ...(gzip ? { 'content-encoding': 'gzip' } : {}) },
    body: gzip ? zlib.gzipSync(json) : json,
  });
  const parsed = (await res.json()) as { accepted: number; rejected: Rejection[] };
  return { status: res.status, body: parsed, before, after: Date.now() };
}

describe('a batch mixing valid and invalid events', () => {
  const SKEW = 10 * 60_000; // the device clock is 10 minutes behind
  let sent: Awaited<ReturnType<typeof post>>;
  let clientNow: number;
  let events: unknown[];

  const VALID = ['mx-launch', 'mx-click-own-sent-at', 'mx-purchase', 'mx-error', 'mx-event-no-sent-at', 'mx-iso'];
  const INVALID: Record<string, RegExp> = {
    'mx-no-device': /^device_id: is required$/,
    'mx-other-app': /^app_id: "someone-else" does not match the write key's app mixed$/,
    'mx-future': /more than 1 hour after the server receive time$/,
    'mx-old': /before 2000-01-01$/,
    'mx-unknown-field': /^unknown field\(s\) level/,
  };

  beforeAll(async () => {
    clientNow = Date.now() - SKEW;
    events = [
      { event_id: 'mx-launch', app_id: APP, type: 'launch', ts: clientNow - 5000, device_id: 'dev-1', os: 'iOS', country: 'de' },
      { event_id: 'mx-no-device', app_id: APP, type: 'launch', ts: clientNow },
      // Its own sent_at wins over the batch one: its clock is 1 h ahead, not 10 min behind.
      { event_id: 'mx-click-own-sent-at', app_id: APP, type: 'click', ts: clientNow + SKEW + 3_600_000 - 2000, sent_at: clientNow + SKEW + 3_600_000, device_id: 'dev-2', campaign_id: 'cmp', channel: 'ads' },
      'not an event',
      { event_id: 'mx-purchase', app_id: APP, type: 'purchase', ts: clientNow - 1000, device_id: 'dev-1', revenue: 0.1 + 0.2, currency: 'usd', ip: '203.0.113.50' },
      { event_id: 'mx-other-app', app_id: 'someone-else', type: 'launch', ts: clientNow, device_id: 'dev-1' },
      { event_id: 'mx-error', app_id: APP, type: 'error', ts: clientNow - 3000, device_id: 'dev-3', error_type: 'TypeError', error_message: ' user 12345 at 0xDEADBEEF00 ', properties: { screen: 'cart' } },
      // ts 2 h ahead of the corrected clock.
      { event_id: 'mx-future', app_id: APP, type: 'launch', ts: clientNow + 2 * 3_600_000, device_id: 'dev-1' },
      { event_id: 'mx-old', app_id: APP, type: 'launch', ts: '1999-06-01T00:00:00Z', device_id: 'dev-1' },
      null,
      { event_id: 'mx-event-no-sent-at', app_id: APP, type: 'event', ts: clientNow, sent_at: null, device_id: 'dev-4', name: 'level_up' },
      { event_id: 'mx-unknown-field', app_id: APP, type: 'launch', ts: clientNow, device_id: 'dev-1', level: 3 },
      { event_id: 'mx-iso', app_id: APP, type: 'install', ts: new Date(clientNow - 7000).toISOString().replace('Z', ''), device_id: 'dev-5' },
    ];
    sent = await post({ events, sent_at: clientNow });
  });

  it('answers 202 with the valid ones counted and each invalid one listed by index, event_id and reason', () => {
    expect(sent.status).toBe(202);
    expect(sent.body.accepted).toBe(VALID.length);
    const expected = events.flatMap((e, index) => {
      const id = typeof e === 'object' && e !== null ? ((e as { event_id: string }).event_id as string) : null;
      if (id !== null && VALID.includes(id)) return [];
      const reason = id === null ? /^event must be a JSON object, got (string|null)$/ : INVALID[id];
      return [{ index, event_id: id, reason: expect.stringMatching(reason) }];
    });
    expect(sent.body.rejected).toEqual(expected);
  });

  it('puts exactly the valid ones in the events topic, enriched', async () => {
    const messages = await readTopic(stack.cfg.kafka.topics.events);
    const stored = messages.map((m) => ({ key: m.key, e: JSON.parse(m.value) as StoredEvent }));
    expect(stored.map((s) => s.e.event_id).sort()).toEqual([...VALID].sort());
    const byId = new Map(stored.map((s) => [s.e.event_id, s]));

    for (const { key, e } of stored) {
      expect(key).toBe(`${APP}:${e.device_id}`);
      expect(e.app_id).toBe(APP);
      expect(e.received_at).toBeGreaterThanOrEqual(sent.before);
      expect(e.received_at).toBeLessThanOrEqual(sent.after);
      // The corrected ts: ts + (received_at − sent_at), or ts unchanged without sent_at.
      expect(e.ts).toBe(e.sent_at === 0 ? e.client_ts : e.client_ts + (e.received_at - e.sent_at));
    }
    const receivedAt = stored[0].e.received_at;
    expect(stored.every((s) => s.e.received_at === receivedAt)).toBe(true);

    // The batch sent_at corrects the 10-minute skew: client_ts − 5 s → received_at − 5 s.
    const launch = byId.get('mx-launch')?.e as StoredEvent;
    expect(launch).toMatchObject({ client_ts: clientNow - 5000, sent_at: clientNow, ts: receivedAt - 5000, os: 'iOS', country: 'DE', ip: '127.0.0.1' });

    // The per-event sent_at wins.
    const click = byId.get('mx-click-own-sent-at')?.e as StoredEvent;
    expect(click).toMatchObject({ sent_at: clientNow + SKEW + 3_600_000, ts: receivedAt - 2000, campaign_id: 'cmp', channel: 'ads' });

    // sent_at: null falls back to the batch one.
    expect(byId.get('mx-event-no-sent-at')?.e).toMatchObject({ sent_at: clientNow, ts: receivedAt, name: 'level_up' });

    // An ISO ts without offset is UTC.
    expect(byId.get('mx-iso')?.e).toMatchObject({ client_ts: clientNow - 7000, ts: receivedAt - 7000 });

    const purchase = byId.get('mx-purchase')?.e as StoredEvent;
    expect(purchase).toMatchObject({ revenue_micros: 300_000, currency: 'USD', ip: '203.0.113.50', fingerprint: '' });

    const error = byId.get('mx-error')?.e as StoredEvent;
    const fp = createHash('sha1').update('TypeError\nuser # at #x#').digest('hex').slice(0, 16);
    expect(error).toMatchObject({ fingerprint: fp, error_type: 'TypeError', error_message: ' user 12345 at 0xDEADBEEF00 ', properties: '{"screen":"cart"}' });

    for (const { e } of stored) {
      if (e.type !== 'error') expect(e.fingerprint).toBe('');
      if (e.type !== 'purchase') expect(e.revenue_micros).toBe(0);
    }
  });

  it('puts exactly the invalid ones in the DLQ, each with its reason and the raw event', async () => {
    const dlq = (await readTopic(stack.cfg.kafka.topics.dlq)).map((m) => JSON.parse(m.value) as Rejection & { app_id: string; raw: string; received_at: number });
    const rejected = sent.body.rejected;
    expect(dlq).toHaveLength(rejected.length);
    for (const r of rejected) {
      const m = dlq.find((d) => d.index === r.index);
      expect(m).toEqual({ app_id: APP, index: r.index, event_id: r.event_id, reason: r.reason, received_at: expect.any(Number), raw: JSON.stringify(events[r.index]) });
    }
    expect(dlq.some((d) => d.event_id !== null && VALID.includes(d.event_id))).toBe(false);
  });

  it('a gzip body with a valid and an invalid event: the valid one is accepted', async () => {
    const r = await post(
      {
        events: [
          { event_id: 'mx-gz-ok', app_id: APP, type: 'launch', ts: Date.now(), device_id: 'dev-gz' },
          { event_id: 'mx-gz-bad', app_id: APP, type: 'click', ts: Date.now(), device_id: 'dev-gz' },
        ],
      },
      true,
    );
    expect(r.status).toBe(202);
    expect(r.body).toEqual({ accepted: 1, rejected: [{ index: 1, event_id: 'mx-gz-bad', reason: 'campaign_id: is required for click events; channel: is required for click events' }] });
    const ids = (await readTopic(stack.cfg.kafka.topics.events)).map((m) => (JSON.parse(m.value) as StoredEvent).event_id);
    expect(ids).toContain('mx-gz-ok');
    expect(ids).not.toContain('mx-gz-bad');
  });
});
