/**
 * Wire event → stored event (DESIGN.md section 3): clock-skew correction, the time window,
 * the request IP, revenue in micro-units and the error fingerprint.
 */
import { createHash } from 'node:crypto';
import { enrichEvent, type EnrichContext, type Enriched } from '../../ingest/collector/enrich-event';
import { MAX_FUTURE_MS, MIN_EVENT_TS, type StoredEvent, type WireEvent } from '../../schemas/event';
import { errorFingerprint } from '../../schemas/fingerprint';

const RECEIVED = Date.UTC(2026, 10, 24, 12, 0, 0); // 2026-11-24T12:00:00Z
const ctx = (o: Partial<EnrichContext> = {}): EnrichContext => ({ receivedAt: RECEIVED, requestIp: '198.51.100.7', ...o });

const wire = (o: Partial<WireEvent> = {}): WireEvent => ({
  event_id: 'ev-1',
  app_id: 'shop',
  type: 'launch',
  ts: RECEIVED - 60_000,
  device_id: 'device-1',
  ...o,
});

function stored(r: Enriched): StoredEvent {
  if (!r.ok) throw new Error(`expected an accepted event, got: ${r.reason}`);
  return r.event;
}
function reason(r: Enriched): string {
  if (r.ok) throw new Error(`expected a rejection, got ${JSON.stringify(r.event)}`);
  return r.reason;
}

describe('enrichEvent: clock-skew correction', () => {
  it('without sent_at keeps ts as sent', () => {
    const e = stored(enrichEvent(wire({ ts: RECEIVED - 5000 }), ctx()));
    expect(e.ts).toBe(RECEIVED - 5000);
    expect(e.client_ts).toBe(RECEIVED - 5000);
    expect(e.sent_at).toBe(0);
    expect(e.received_at).toBe(RECEIVED);
  });

  it('with the batch sent_at: ts + (received_at − sent_at)', () => {
    // The device clock is 10 minutes behind: it sent at (its) 11:50, the server got it at 12:00.
    const sentAt = RECEIVED - 600_000;
    const e = stored(enrichEvent(wire({ ts: sentAt - 30_000 }), ctx({ batchSentAt: sentAt })));
    expect(e.ts).toBe(RECEIVED - 30_000);
    expect(e.client_ts).toBe(sentAt - 30_000);
    expect(e.sent_at).toBe(sentAt);
  });

  it('corrects a device clock that runs ahead', () => {
    const sentAt = RECEIVED + 3 * 3_600_000; // 3 h ahead
    const e = stored(enrichEvent(wire({ ts: sentAt - 1000 }), ctx({ batchSentAt: sentAt })));
    expect(e.ts).toBe(RECEIVED - 1000);
  });

  it('the per-event sent_at wins over the batch one', () => {
    const e = stored(enrichEvent(wire({ ts: RECEIVED - 100_000, sent_at: RECEIVED - 40_000 }), ctx({ batchSentAt: RECEIVED - 1_000_000 })));
    expect(e.ts).toBe(RECEIVED - 60_000);
    expect(e.sent_at).toBe(RECEIVED - 40_000);
  });

  it('a per-event sent_at of null falls back to the batch one', () => {
    const e = stored(enrichEvent(wire({ ts: RECEIVED - 100_000, sent_at: null }), ctx({ batchSentAt: RECEIVED - 40_000 })));
    expect(e.ts).toBe(RECEIVED - 60_000);
    expect(e.sent_at).toBe(RECEIVED - 40_000);
  });

  it('accepts ISO strings for ts and sent_at, offset or not', () => {
    const e = stored(enrichEvent(wire({ ts: '2026-11-24T13:55:00+02:00', sent_at: '2026-11-24T11:58:00' }), ctx()));
    // ts 11:55Z, sent 11:58Z, received 12:00Z: +2 min → 11:57Z.
    expect(e.ts).toBe(Date.UTC(2026, 10, 24, 11, 57));
    expect(e.client_ts).toBe(Date.UTC(2026, 10, 24, 11, 55));
    expect(e.sent_at).toBe(Date.UTC(2026, 10, 24, 11, 58));
  });
});

describe('enrichEvent: time window', () => {
  it('accepts a corrected ts of exactly received_at + 1 h', () => {
    expect(stored(enrichEvent(wire({ ts: RECEIVED + MAX_FUTURE_MS }), ctx())).ts).toBe(RECEIVED + 3_600_000);
  });

  it('rejects received_at + 1 h + 1 ms', () => {
    expect(reason(enrichEvent(wire({ ts: RECEIVED + MAX_FUTURE_MS + 1 }), ctx()))).toBe(
      'ts: corrected event time 2026-11-24T13:00:00.001Z is more than 1 hour after the server receive time',
    );
  });

  it('applies the window to the corrected ts, not the ts as sent', () => {
    // Sent 2 h "in the future" by a clock 2 h ahead: fine once corrected.
    expect(stored(enrichEvent(wire({ ts: RECEIVED + 2 * 3_600_000 }), ctx({ batchSentAt: RECEIVED + 2 * 3_600_000 }))).ts).toBe(RECEIVED);
    // A plausible ts made future by a sent_at far in the past.
    expect(reason(enrichEvent(wire({ ts: RECEIVED }), ctx({ batchSentAt: RECEIVED - 2 * 3_600_000 })))).toMatch(/more than 1 hour after/);
  });

  it('accepts exactly 2000-01-01T00:00:00Z and rejects 1 ms before', () => {
    expect(stored(enrichEvent(wire({ ts: MIN_EVENT_TS }), ctx())).ts).toBe(946_684_800_000);
    expect(reason(enrichEvent(wire({ ts: MIN_EVENT_TS - 1 }), ctx()))).toBe('ts: corrected event time 1999-12-31T23:59:59.999Z is before 2000-01-01');
    expect(reason(enrichEvent(wire({ ts: '1999-12-31T23:59:59Z' }), ctx()))).toMatch(/before 2000-01-01/);
    expect(reason(enrichEvent(wire({ ts: 0 }), ctx()))).toMatch(/before 2000-01-01/);
  });

  it('rejects a corrected ts pushed before 2000 by a sent_at far in the future', () => {
    expect(reason(enrichEvent(wire({ ts: RECEIVED }), ctx({ batchSentAt: RECEIVED + 30 * 365 * 86_400_000 })))).toMatch(/before 2000-01-01/);
  });

  it('rejects times beyond the range of Date with a reason instead of throwing', () => {
    // toISOString throws a RangeError beyond ±8.64e15 ms; both are valid epoch-ms integers.
    expect(reason(enrichEvent(wire({ ts: 9_000_000_000_000_000 }), ctx()))).toBe(
      'ts: corrected event time 9000000000000000 ms is more than 1 hour after the server receive time',
    );
    expect(reason(enrichEvent(wire({ ts: RECEIVED, sent_at: Number.MAX_SAFE_INTEGER }), ctx()))).toMatch(/^ts: corrected event time -\d+ ms is before 2000-01-01$/);
  });
});

describe('enrichEvent: fields', () => {
  it('fills ip from the request when absent or null, keeps a sent one', () => {
    expect(stored(enrichEvent(wire(), ctx())).ip).toBe('198.51.100.7');
    expect(stored(enrichEvent(wire({ ip: null }), ctx())).ip).toBe('198.51.100.7');
    expect(stored(enrichEvent(wire({ ip: '203.0.113.1' }), ctx())).ip).toBe('203.0.113.1');
  });

  it('stores absent optional strings as empty strings and properties as JSON text', () => {
    const e = stored(enrichEvent(wire({ os: null, properties: { level: 3, tags: ['a'] } }), ctx()));
    expect(e).toMatchObject({ ua: '', os: '', os_version: '', app_version: '', country: '', campaign_id: '', channel: '', name: '', currency: '' });
    expect(e.properties).toBe('{"level":3,"tags":["a"]}');
    expect(stored(enrichEvent(wire(), ctx())).properties).toBe('');
  });

  it('upper-cases country and currency codes', () => {
    const e = stored(enrichEvent(wire({ type: 'purchase', revenue: 1, currency: 'eur', country: 'de' }), ctx()));
    expect(e.country).toBe('DE');
    expect(e.currency).toBe('EUR');
  });

  it.each([
    [0.1 + 0.2, 300_000], // 0.30000000000000004
    [4.99, 4_990_000],
    [19.99, 19_990_000], // 19.99 * 1e6 = 19989999.999999996
    [1.005, 1_005_000],
    [0.000001, 1],
    [0.0000004, 0], // below a micro-unit: rounded
    [0.0000005, 1],
    [1234567.891234, 1_234_567_891_234],
    [0, 0],
    [1e12, 1e18],
  ])('stores revenue %d as %d micro-units', (revenue, micros) => {
    const e = stored(enrichEvent(wire({ type: 'purchase', revenue, currency: 'USD' }), ctx()));
    expect(e.revenue_micros).toBe(micros);
    expect(Number.isInteger(e.revenue_micros)).toBe(true);
  });

  it('keeps revenue only for purchases', () => {
    const e = stored(enrichEvent(wire({ type: 'event', name: 'n', revenue: 5, currency: 'USD' }), ctx()));
    expect(e.revenue_micros).toBe(0);
    expect(e.currency).toBe('');
  });

  it('derives the fingerprint for errors', () => {
    const e = stored(enrichEvent(wire({ type: 'error', error_type: 'TypeError', error_message: '  item 42 missing ' }), ctx()));
    const sha = createHash('sha1').update('TypeError\nitem # missing').digest('hex').slice(0, 16);
    expect(e.fingerprint).toBe(sha);
    expect(e.fingerprint).toBe(errorFingerprint('TypeError', 'item 42 missing'));
    expect(e.error_message).toBe('  item 42 missing '); // the message itself is stored as sent
  });

  it.each(['impression', 'click', 'install', 'launch', 'event', 'purchase'] as const)('derives no fingerprint for %s', (type) => {
    const e = stored(
      enrichEvent(
        wire({ type, campaign_id: 'c', channel: 'x', name: 'n', revenue: 1, currency: 'USD', error_type: 'E', error_message: 'm' }),
        ctx(),
      ),
    );
    expect(e.fingerprint).toBe('');
  });

  it('keeps the identifying fields as sent', () => {
    const e = stored(enrichEvent(wire({ type: 'click', campaign_id: 'cmp', channel: 'ads', ua: 'UA', os: 'iOS', os_version: '17', app_version: '2.0' }), ctx()));
    expect(e).toMatchObject({ event_id: 'ev-1', app_id: 'shop', type: 'click', device_id: 'device-1', campaign_id: 'cmp', channel: 'ads', ua: 'UA', os: 'iOS', os_version: '17', app_version: '2.0' });
  });
});
