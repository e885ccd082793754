import fc from 'fast-check';
import type { ArchivedEvent } from '../../schemas/event';
import { REFERENCE_FIXTURES, T } from '../fixtures/attribution-fixtures';
import { compareBytes } from '../reference/byte-order';
import { dedupEvents } from '../reference/dedup';
import { isReinstall } from '../reference/dimensions';
import { IpRanges } from '../reference/ip-ranges';
import {
  buildReferenceModel,
  checkTz,
  formatBucket,
  referenceAttributions,
  referenceErrorsTop,
  referenceReport,
  type ReferenceModel,
} from '../reference/reports';

const ALL_TIME = { from: 0, to: 8.64e15 };

function winner(m: ReferenceModel, appId: string, eventId: string): { event: ArchivedEvent; index: number } {
  const index = m.winners.findIndex((e) => e.app_id === appId && e.event_id === eventId);
  if (index < 0) throw new Error(`no winning event ${appId}/${eventId}`);
  return { event: m.winners[index], index };
}

describe.each(REFERENCE_FIXTURES)('reference model on fixture: $name', (fixture) => {
  const model = buildReferenceModel(fixture.events, fixture.settings);
  const { expected } = fixture;

  if (expected.winners) {
    it('keeps the expected copy of each duplicated event', () => {
      for (const w of expected.winners ?? []) expect(winner(model, w.app_id, w.event_id).event).toMatchObject(w);
    });
  }

  if (expected.attributions) {
    it('decides every first install as computed by hand', () => {
      for (const [appId, rows] of Object.entries(expected.attributions ?? {})) {
        expect(referenceAttributions({ model, appId, ...ALL_TIME })).toEqual(rows);
      }
    });
  }

  if (expected.reinstalls) {
    it('counts every other install of a device as a reinstall', () => {
      const ids = model.winners.filter((e) => e.app_id === 'fx' && isReinstall(e, model.attribution)).map((e) => e.event_id);
      expect(ids.sort()).toEqual([...(expected.reinstalls ?? [])].sort());
    });
  }

  if (expected.dimensions) {
    it('derives the dimensions of each event', () => {
      for (const [eventId, dims] of Object.entries(expected.dimensions ?? {})) {
        expect({ eventId, ...model.dimensions[winner(model, 'fx', eventId).index] }).toMatchObject({ eventId, ...dims });
      }
    });
  }

  if (expected.reports) {
    it.each(expected.reports.map((r, i) => [i, r] as const))('answers report query #%i', (_i, r) => {
      expect(referenceReport({ model, ...r.query })).toEqual(r.rows);
    });
  }
});

describe('byte order', () => {
  it('orders by UTF-8 bytes, not UTF-16 units or locale', () => {
    expect(compareBytes('click-a', 'click-B')).toBeGreaterThan(0);
    expect(compareBytes('k\u{1f600}', 'k\u{ff01}')).toBeGreaterThan(0);
    expect(compareBytes('ab', 'abc')).toBeLessThan(0);
    expect(compareBytes('', '')).toBe(0);
  });

  it('agrees with Buffer.compare, including astral characters against U+E000–U+FFFF', () => {
    // Characters on both sides of the UTF-16/UTF-8 disagreement, so that prefixes collide often.
    const unit = fc.constantFrom('a', 'B', '-', '\u00e9', '\ud7ff', '\ue000', '\uff01', '\u{1f600}', '\u{10ffff}');
    const str = fc.string({ unit, maxLength: 6 });
    fc.assert(
      fc.property(str, str, (a, b) => Math.sign(compareBytes(a, b)) === Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))),
      { numRuns: 2000 },
    );
  });
});

describe('IP ranges', () => {
  const r = new IpRanges(['203.0.113.0/24', '2001:db8:bad::/48', '10.0.0.1', '::ffff:192.0.2.0/120']);

  it('matches IPv4 and IPv6 addresses inside the ranges', () => {
    expect(r.contains('203.0.113.0')).toBe(true);
    expect(r.contains('203.0.113.255')).toBe(true);
    expect(r.contains('2001:db8:bad:ffff:ffff:ffff:ffff:ffff')).toBe(true);
    expect(r.contains('2001:0DB8:0BAD::1')).toBe(true);
    expect(r.contains('10.0.0.1')).toBe(true);
  });

  it('does not match addresses just outside', () => {
    expect(r.contains('203.0.114.0')).toBe(false);
    expect(r.contains('203.0.112.255')).toBe(false);
    expect(r.contains('2001:db8:bae::')).toBe(false);
    expect(r.contains('10.0.0.2')).toBe(false);
  });

  it('treats IPv4-mapped IPv6 as IPv4, both as address and as range', () => {
    expect(r.contains('::ffff:203.0.113.7')).toBe(true);
    expect(r.contains('192.0.2.9')).toBe(true);
  });

  it('never matches empty or malformed addresses, and rejects malformed ranges', () => {
    expect(r.contains('')).toBe(false);
    expect(r.contains('not-an-ip')).toBe(false);
    expect(r.contains('203.0.113')).toBe(false);
    expect(() => new IpRanges(['203.0.113.0/33'])).toThrow(/prefix/);
    expect(() => new IpRanges(['nope/8'])).toThrow(/CIDR/);
  });
});

describe('dedup', () => {
  const copy = (id: string, received_at: number, kafka_partition: number, kafka_offset: number) =>
    ({ app_id: 'fx', event_id: id, received_at, kafka_partition, kafka_offset }) as ArchivedEvent;

  it('picks the same winners whatever the input order', () => {
    // Distinct Kafka records (one position holds one record).
    const copies = fc.uniqueArray(
      fc.record({
        id: fc.constantFrom('a', 'b', 'c'),
        received_at: fc.integer({ min: 0, max: 3 }),
        partition: fc.integer({ min: 0, max: 2 }),
        offset: fc.integer({ min: 0, max: 1000 }),
      }),
      { minLength: 1, maxLength: 30, selector: (c) => `${c.partition}:${c.offset}` },
    );
    fc.assert(
      fc.property(copies, (cs) => {
        const events = cs.map((c) => copy(c.id, c.received_at, c.partition, c.offset));
        const key = (es: ArchivedEvent[]) => es.map((e) => `${e.event_id}/${e.received_at}/${e.kafka_partition}/${e.kafka_offset}`).sort();
        const forward = dedupEvents(events);
        const backward = dedupEvents([...events].reverse());
        expect(key(backward.winners)).toEqual(key(forward.winners));
        expect(forward.duplicates).toBe(events.length - new Set(cs.map((c) => c.id)).size);
      }),
    );
  });

  it('counts a Kafka record archived twice as one copy', () => {
    const r = dedupEvents([copy('a', 5, 0, 7), copy('a', 5, 0, 7), copy('a', 9, 1, 2)]);
    expect(r.winners).toEqual([copy('a', 5, 0, 7)]);
    expect(r.duplicates).toBe(1);
  });

  it('starts a new event for a copy received later than the horizon after the first, and measures later copies against it', () => {
    const H = 100;
    // 0 starts; 100 is within the horizon of 0; 101 is past it and starts anew; 150 and 201 fall within 101's.
    const r = dedupEvents([copy('a', 150, 0, 4), copy('a', 0, 0, 1), copy('a', 100, 0, 2), copy('a', 101, 0, 3), copy('a', 201, 0, 5)], H);
    expect(r.winners.map((e) => e.received_at).sort((x, y) => x - y)).toEqual([0, 101]);
    expect(r.duplicates).toBe(3);
  });
});

describe('buckets', () => {
  it('formats hourly buckets in UTC and daily buckets at midnight of the tz', () => {
    expect(formatBucket(Date.UTC(2026, 10, 23, 14), 'hourly')).toBe('2026-11-23T14:00:00Z');
    expect(formatBucket(Date.UTC(2026, 10, 22, 16), 'daily', 480)).toBe('2026-11-23T00:00:00+08:00');
    expect(formatBucket(Date.UTC(2026, 10, 23, 5), 'daily', -300)).toBe('2026-11-23T00:00:00-05:00');
    expect(formatBucket(Date.UTC(2026, 10, 23), 'daily', 0)).toBe('2026-11-23T00:00:00+00:00');
  });

  it('accepts whole-hour offsets from -12:00 to +14:00 only', () => {
    expect(() => checkTz(-720)).not.toThrow();
    expect(() => checkTz(840)).not.toThrow();
    expect(() => checkTz(330)).toThrow(RangeError);
    expect(() => checkTz(900)).toThrow(RangeError);
    expect(() => checkTz(-780)).toThrow(RangeError);
  });
});

describe('reports', () => {
  const fixture = REFERENCE_FIXTURES.find((f) => f.name.startsWith('uv is distinct')) as (typeof REFERENCE_FIXTURES)[number];
  const model = buildReferenceModel(fixture.events);
  const base = { model, appId: 'fx', granularity: 'hourly' as const, from: T, to: T + 3_600_000 };

  it('refuses unknown metrics, dimensions and empty filters', () => {
    expect(() => referenceReport({ ...base, metrics: ['bogus' as never] })).toThrow(/metric/);
    expect(() => referenceReport({ ...base, groupBy: ['bogus' as never] })).toThrow(/dimension/);
    expect(() => referenceReport({ ...base, filters: { country: [] } })).toThrow(/at least one value/);
  });

  it('splits a total exactly into its groups for additive metrics', () => {
    const [total] = referenceReport({ ...base, metrics: ['events', 'purchases', 'revenue'] });
    const byType = referenceReport({ ...base, metrics: ['events', 'purchases', 'revenue'], groupBy: ['type'] });
    expect(byType.reduce((s, r) => s + Number(r.events), 0)).toBe(total.events);
    expect(byType.reduce((s, r) => s + Number(r.purchases), 0)).toBe(total.purchases);
    expect(byType.find((r) => r.type === 'purchase')?.revenue).toBe(total.revenue);
  });

  it('defaults to events and uv and leaves other apps out', () => {
    expect(referenceReport({ ...base })).toEqual([{ bucket: '2026-11-23T12:00:00Z', events: 8, uv: 3 }]);
    expect(referenceReport({ ...base, appId: 'other' })).toEqual([]);
  });
});

describe('attributions route', () => {
  const fixture = REFERENCE_FIXTURES.find((f) => f.name.startsWith('click injection')) as (typeof REFERENCE_FIXTURES)[number];
  const model = buildReferenceModel(fixture.events);

  it('filters by outcome and channel, and limits', () => {
    expect(referenceAttributions({ model, appId: 'fx', ...ALL_TIME, outcome: 'rejected' }).map((r) => r.install_event_id)).toEqual(['i-2', 'i-3']);
    expect(referenceAttributions({ model, appId: 'fx', ...ALL_TIME, channel: 'organic' }).map((r) => r.install_event_id)).toEqual(['i-4']);
    expect(referenceAttributions({ model, appId: 'fx', ...ALL_TIME, limit: 1 }).map((r) => r.install_event_id)).toEqual(['i-1']);
    expect(referenceAttributions({ model, appId: 'fx', from: T + 1, to: T + 2 })).toEqual([]);
  });
});

describe('top errors', () => {
  const err = (event_id: string, ts: number, error_type: string, error_message: string) =>
    ({ app_id: 'fx', event_id, type: 'error', ts, device_id: 'd', error_type, error_message, received_at: ts, kafka_partition: 0, kafka_offset: 0 }) as ArchivedEvent;
  const events = [
    err('e1', T, 'NetworkError', 'Request 9f8e7d6c5b4a failed after 3012 ms'),
    err('e2', T + 1000, 'NetworkError', 'Request 0a1b2c3d4e5f failed after 17 ms'),
    err('e3', T + 2000, 'NetworkError', 'Request 1234abcd failed after 5 ms'),
    err('e4', T + 500, 'TimeoutError', 'timed out'),
    err('e5', T - 7_200_000, 'TimeoutError', 'timed out'),
    err('e6', T + 600, 'TimeoutError', 'timed out'),
  ];

  it('groups messages that differ only in ids and numbers, most frequent first', () => {
    const rows = referenceErrorsTop({ events, appId: 'fx', from: T - 3_600_000, to: T + 3_600_000 });
    expect(rows.map((r) => [r.error_type, r.count])).toEqual([
      ['NetworkError', 3],
      ['TimeoutError', 2],
    ]);
    expect(rows[0]).toMatchObject({ sample_message: 'Request 1234abcd failed after 5 ms', last_seen: new Date(T + 2000).toISOString() });
    expect(rows[0].fingerprint).toMatch(/^[0-9a-f]{16}$/);
  });

  it('honours the limit', () => {
    expect(referenceErrorsTop({ events, appId: 'fx', from: 0, to: T + 3_600_000, limit: 1 })).toHaveLength(1);
  });
});
