/**
 * The wire event (DESIGN.md section 3): validateWireEvent field by field, and parseTime.
 */
import { EVENT_TYPES, MAX_PROPERTIES_BYTES, MAX_REVENUE, parseTime, validateWireEvent, type EventType } from '../../schemas/event';

const TS = Date.UTC(2026, 10, 24, 12, 0, 0); // 2026-11-24T12:00:00Z

/** A valid event of each type: the required fields and nothing else. */
function minimal(type: EventType): Record<string, unknown> {
  const base: Record<string, unknown> = { event_id: `ev-${type}`, app_id: 'shop', type, ts: TS, device_id: 'device-1' };
  switch (type) {
    case 'impression':
    case 'click':
      return { ...base, campaign_id: 'cmp-1', channel: 'ads' };
    case 'event':
      return { ...base, name: 'level_up' };
    case 'purchase':
      return { ...base, revenue: 4.99, currency: 'EUR' };
    case 'error':
      return { ...base, error_type: 'TypeError', error_message: 'x is undefined' };
    default:
      return base;
  }
}

const launch = () => minimal('launch');

function reasonOf(raw: unknown): string {
  const v = validateWireEvent(raw);
  if (v.ok) throw new Error(`expected a rejection, got ok for ${JSON.stringify(raw)}`);
  return v.reason;
}

function expectOk(raw: unknown): void {
  const v = validateWireEvent(raw);
  if (!v.ok) throw new Error(`expected ok, got: ${v.reason}`);
}

const without = (o: Record<string, unknown>, field: string) => {
  const c = { ...o };
  delete c[field];
  return c;
};

describe('validateWireEvent: types and their required fields', () => {
  it.each(EVENT_TYPES)('accepts a minimal %s event', (type) => {
    expectOk(minimal(type));
  });

  const REQUIRED: Record<EventType, string[]> = {
    impression: ['event_id', 'app_id', 'type', 'ts', 'device_id', 'campaign_id', 'channel'],
    click: ['event_id', 'app_id', 'type', 'ts', 'device_id', 'campaign_id', 'channel'],
    install: ['event_id', 'app_id', 'type', 'ts', 'device_id'],
    launch: ['event_id', 'app_id', 'type', 'ts', 'device_id'],
    event: ['event_id', 'app_id', 'type', 'ts', 'device_id', 'name'],
    purchase: ['event_id', 'app_id', 'type', 'ts', 'device_id', 'revenue', 'currency'],
    error: ['event_id', 'app_id', 'type', 'ts', 'device_id', 'error_type', 'error_message'],
  };
  const cases = EVENT_TYPES.flatMap((type) => REQUIRED[type].map((field) => [type, field] as const));

  it.each(cases)('%s without %s is rejected with a reason naming the field', (type, field) => {
    expect(reasonOf(without(minimal(type), field))).toMatch(new RegExp(`^${field}: `));
  });

  it.each(cases.filter(([, f]) => f !== 'type'))('%s with %s = null is rejected as missing', (type, field) => {
    expect(reasonOf({ ...minimal(type), [field]: null })).toMatch(new RegExp(`^${field}: `));
  });

  it('says which type needs the missing field', () => {
    expect(reasonOf(without(minimal('click'), 'campaign_id'))).toBe('campaign_id: is required for click events');
    expect(reasonOf(without(minimal('impression'), 'channel'))).toBe('channel: is required for impression events');
    expect(reasonOf(without(minimal('event'), 'name'))).toBe('name: is required for custom events (type "event")');
    expect(reasonOf(without(minimal('purchase'), 'revenue'))).toBe('revenue: is required for purchases');
    expect(reasonOf(without(minimal('purchase'), 'currency'))).toBe('currency: is required for purchases');
    expect(reasonOf(without(minimal('error'), 'error_type'))).toBe('error_type: is required for errors');
    expect(reasonOf(without(minimal('error'), 'error_message'))).toBe('error_message: is required for errors');
  });

  it('names every failing field, not only the first', () => {
    const r = reasonOf({ type: 'click', ts: TS, app_id: 'shop' });
    for (const f of ['event_id', 'device_id']) expect(r).toContain(`${f}: is required`);
  });

  it('tells a missing field from a field of the wrong type', () => {
    expect(reasonOf(without(launch(), 'device_id'))).toBe('device_id: is required');
    expect(reasonOf({ ...launch(), device_id: 42 })).toBe('device_id: must be string');
    expect(reasonOf({ ...launch(), event_id: 12345 })).toBe('event_id: must be string');
    expect(reasonOf(without(launch(), 'ts'))).toBe('ts: is required');
  });

  it('rejects an unknown type, listing the allowed ones', () => {
    expect(reasonOf({ ...launch(), type: 'pageview' })).toBe(`type: must be one of ${EVENT_TYPES.join(', ')}`);
    expect(reasonOf({ ...launch(), type: 'Launch' })).toMatch(/^type: must be one of impression, click/);
    expect(reasonOf({ ...launch(), type: 3 })).toMatch(/^type: must be one of/);
  });

  it('fields required by another type are optional here', () => {
    expectOk({ ...launch(), campaign_id: 'c', channel: 'x', name: 'n', error_type: 'E', error_message: 'm', revenue: 1, currency: 'USD' });
  });
});

describe('validateWireEvent: string lengths', () => {
  it.each([
    ['event_id', 64],
    ['app_id', 64],
    ['device_id', 128],
  ])('%s: 1 and %i characters pass, 0 and one more fail', (field, max) => {
    expectOk({ ...launch(), [field]: 'a' });
    expectOk({ ...launch(), [field]: 'a'.repeat(max) });
    expect(reasonOf({ ...launch(), [field]: '' })).toBe(`${field}: must not be empty`);
    expect(reasonOf({ ...launch(), [field]: 'a'.repeat(max + 1) })).toBe(`${field}: must have at most ${max} characters`);
  });

  it.each([
    ['click', 'campaign_id'],
    ['click', 'channel'],
    ['impression', 'campaign_id'],
    ['event', 'name'],
  ] as const)('%s %s: 1 and 128 characters pass, 0 and 129 fail', (type, field) => {
    expectOk({ ...minimal(type), [field]: 'c' });
    expectOk({ ...minimal(type), [field]: 'c'.repeat(128) });
    expect(reasonOf({ ...minimal(type), [field]: '' })).toBe(`${field}: must not be empty`);
    expect(reasonOf({ ...minimal(type), [field]: 'c'.repeat(129) })).toBe(`${field}: must have at most 128 characters`);
  });

  it('campaign_id and channel keep their limits when optional (launch)', () => {
    expect(reasonOf({ ...launch(), campaign_id: '' })).toBe('campaign_id: must not be empty');
    expect(reasonOf({ ...launch(), channel: 'c'.repeat(129) })).toBe('channel: must have at most 128 characters');
  });
});

describe('validateWireEvent: unknown fields and non-objects', () => {
  it('rejects an unknown top-level field, naming it and pointing at properties', () => {
    const r = reasonOf({ ...launch(), level: 3 });
    expect(r).toContain('level');
    expect(r).toContain('properties');
  });

  it('names every unknown field', () => {
    const r = reasonOf({ ...launch(), userId: 'u', Country: 'DE' });
    expect(r).toContain('userId');
    expect(r).toContain('Country');
  });

  it('rejects __proto__ as an unknown field (JSON.parse makes it an own key)', () => {
    const raw = JSON.parse(JSON.stringify(launch()).replace(/^\{/, '{"__proto__":{"polluted":true},')) as unknown;
    expect(reasonOf(raw)).toContain('__proto__');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('accepts unknown keys inside properties', () => {
    expectOk({ ...launch(), properties: { level: 3, nested: { a: [1, 2, null] } } });
  });

  it.each([
    ['a string', 'launch', 'string'],
    ['a number', 42, 'number'],
    ['a boolean', true, 'boolean'],
    ['null', null, 'null'],
    ['an array', [launch()], 'array'],
    ['undefined', undefined, 'undefined'],
  ])('rejects %s: the event must be an object', (_what, raw, got) => {
    expect(reasonOf(raw)).toBe(`event must be a JSON object, got ${got}`);
  });
});

describe('validateWireEvent: properties', () => {
  /** properties whose JSON serialisation is exactly `bytes` bytes: {"p":"xxx…"}. */
  const propsOfSize = (bytes: number) => ({ p: 'x'.repeat(bytes - '{"p":""}'.length) });

  it('accepts exactly 8 KiB serialised', () => {
    const p = propsOfSize(MAX_PROPERTIES_BYTES);
    expect(Buffer.byteLength(JSON.stringify(p))).toBe(8192);
    expectOk({ ...launch(), properties: p });
  });

  it('rejects one byte more, saying the size and the limit', () => {
    expect(reasonOf({ ...launch(), properties: propsOfSize(MAX_PROPERTIES_BYTES + 1) })).toBe(
      'properties: is 8193 bytes serialised; at most 8192 allowed',
    );
  });

  it('counts UTF-8 bytes, not characters', () => {
    // 3000 × '€' (3 bytes each) = 9000 bytes in 3000 characters.
    expect(reasonOf({ ...launch(), properties: { p: '€'.repeat(3000) } })).toMatch(/^properties: is 9008 bytes serialised/);
  });

  it('rejects properties nested too deeply to serialise, instead of throwing', () => {
    const nested = JSON.parse(`{"x":${'['.repeat(20_000)}${']'.repeat(20_000)}}`) as Record<string, unknown>;
    expect(reasonOf({ ...launch(), properties: nested })).toBe('properties: could not be serialised (nested too deeply); at most 8192 bytes allowed');
  });

  it.each([
    ['an array', [1, 2]],
    ['a string', '{"a":1}'],
    ['a number', 5],
  ])('rejects properties that are %s', (_what, properties) => {
    expect(reasonOf({ ...launch(), properties })).toBe('properties: must be an object');
  });
});

describe('validateWireEvent: formats', () => {
  it.each(['DE', 'us', 'Gb'])('accepts country %j', (country) => expectOk({ ...launch(), country }));
  it.each(['DEU', 'D', '', 'D1', '12', 'D E', 'ÄÖ'])('rejects country %j as not ISO-3166 alpha-2', (country) => {
    expect(reasonOf({ ...launch(), country })).toBe('country: must be an ISO-3166 alpha-2 code');
  });

  it.each(['USD', 'eur', 'Jpy'])('accepts currency %j', (currency) => expectOk({ ...minimal('purchase'), currency }));
  it.each(['US', 'USDT', '', '$', '840', 'U D'])('rejects currency %j as not ISO-4217', (currency) => {
    expect(reasonOf({ ...minimal('purchase'), currency })).toBe('currency: must be an ISO-4217 code');
  });

  it.each([0, 0.01, 4.99, 1234567.891234, MAX_REVENUE])('accepts revenue %d', (revenue) => expectOk({ ...minimal('purchase'), revenue }));
  it('rejects negative revenue', () => {
    expect(reasonOf({ ...minimal('purchase'), revenue: -0.01 })).toBe('revenue: must be a number >= 0');
  });
  it('rejects revenue too large for Int64 micro-units', () => {
    expect(reasonOf({ ...minimal('purchase'), revenue: 1e20 })).toMatch(/^revenue: must be a number from 0 to 1000000000000/);
  });
  it('rejects revenue as a string', () => {
    expect(reasonOf({ ...minimal('purchase'), revenue: '4.99' })).toBe('revenue: must be number');
  });
});

describe('validateWireEvent: null optional fields', () => {
  it('accepts null for every optional field (SDKs serialise absent values as null)', () => {
    const v = validateWireEvent({
      ...launch(),
      sent_at: null,
      ip: null,
      ua: null,
      os: null,
      os_version: null,
      app_version: null,
      country: null,
      campaign_id: null,
      channel: null,
      name: null,
      revenue: null,
      currency: null,
      error_type: null,
      error_message: null,
      properties: null,
    });
    expect(v.ok).toBe(true);
  });

  it('still requires the fields of the type when they are null', () => {
    expect(reasonOf({ ...minimal('event'), name: null })).toBe('name: is required for custom events (type "event")');
  });

  it('accepts all optional fields filled in', () => {
    expectOk({
      ...minimal('error'),
      sent_at: '2026-11-24T12:00:05Z',
      ip: '203.0.113.9',
      ua: 'Mozilla/5.0',
      os: 'iOS',
      os_version: '17.1',
      app_version: '1.2.3',
      country: 'DE',
      properties: { a: 1 },
    });
  });
});

describe('validateWireEvent: ts and sent_at', () => {
  it.each([
    ['epoch ms', TS],
    ['ISO with Z', '2026-11-24T12:00:00Z'],
    ['ISO with offset', '2026-11-24T13:00:00+01:00'],
    ['ISO without offset', '2026-11-24T12:00:00'],
    ['date only', '2026-11-24'],
  ])('accepts ts as %s', (_what, ts) => {
    expectOk({ ...launch(), ts });
    expectOk({ ...launch(), sent_at: ts });
  });

  it.each([
    ['a boolean', true],
    ['a float', 1767225600000.5],
    ['negative', -1],
    ['an invalid date', '2026-02-30T00:00:00Z'],
    ['not a time', 'yesterday'],
    ['an object', { ms: TS }],
    ['an array', [TS]],
    ['empty', ''],
  ])('rejects ts as %s, saying what is allowed', (_what, ts) => {
    expect(reasonOf({ ...launch(), ts })).toBe('ts: must be epoch milliseconds (a non-negative integer) or an ISO-8601 time');
    expect(reasonOf({ ...launch(), sent_at: ts })).toBe('sent_at: must be epoch milliseconds (a non-negative integer) or an ISO-8601 time');
  });
});

describe('parseTime', () => {
  it('takes epoch ms integers as they are', () => {
    expect(parseTime(0)).toBe(0);
    expect(parseTime(TS)).toBe(TS);
    expect(parseTime(Number.MAX_SAFE_INTEGER)).toBe(Number.MAX_SAFE_INTEGER);
  });

  it.each([
    ['negative', -1],
    ['a float', 1.5],
    ['a float near now', TS + 0.25],
    ['unsafe', Number.MAX_SAFE_INTEGER + 1],
    ['NaN', NaN],
    ['Infinity', Infinity],
  ])('rejects a %s number', (_what, v) => {
    expect(parseTime(v)).toBeUndefined();
  });

  it.each([null, undefined, true, {}, [], [TS]])('rejects %j', (v) => {
    expect(parseTime(v)).toBeUndefined();
  });

  it.each([
    ['2026-11-24T12:00:00Z', TS],
    ['2026-11-24T12:00:00z', TS],
    ['2026-11-24t12:00:00Z', TS],
    ['2026-11-24 12:00:00Z', TS],
    ['2026-11-24T12:00:00', TS], // no offset: UTC
    ['2026-11-24T12:00', TS], // no seconds
    ['2026-11-24', Date.UTC(2026, 10, 24)], // date alone: midnight UTC
    ['2026-11-24T13:00:00+01:00', TS],
    ['2026-11-24T13:00:00+0100', TS],
    ['2026-11-24T07:30:00-04:30', TS],
    ['2026-11-25T02:00:00+14:00', TS],
    ['2026-11-24T00:00:00-12:00', TS],
    ['2026-11-24T12:00:00+00:00', TS],
    ['2026-11-24T12:00:00-00:00', TS],
    ['  2026-11-24T12:00:00Z  ', TS], // surrounding white space
    ['2026-11-24T12:00:00.5Z', TS + 500],
    ['2026-11-24T12:00:00.05Z', TS + 50],
    ['2026-11-24T12:00:00.123Z', TS + 123],
    ['2026-11-24T12:00:00.1239Z', TS + 123], // beyond ms: truncated
    ['2026-11-24T12:00:00.123456789Z', TS + 123],
    ['2026-11-24T13:00:00.250+01:00', TS + 250],
    ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)], // leap day
    ['2000-01-01T00:00:00Z', 946_684_800_000],
    ['1970-01-01T00:00:00Z', 0],
    ['2026-12-31T23:59:59.999Z', Date.UTC(2026, 11, 31, 23, 59, 59, 999)],
  ])('parses %j', (s, ms) => {
    expect(parseTime(s)).toBe(ms);
  });

  it('crosses a day boundary with an offset', () => {
    expect(parseTime('2026-01-01T00:30:00+01:00')).toBe(Date.UTC(2025, 11, 31, 23, 30));
  });

  it('keeps years before 100 as they are (not 19xx)', () => {
    expect(new Date(parseTime('0099-06-01T00:00:00Z') as number).toISOString()).toBe('0099-06-01T00:00:00.000Z');
    expect(parseTime('0099-06-01T00:00:00Z')).toBeLessThan(parseTime('1999-06-01T00:00:00Z') as number);
  });

  it.each([
    '2026-02-30', // no 30 February
    '2026-02-29T00:00:00Z', // 2026 is no leap year
    '2100-02-29', // nor is 2100
    '2026-04-31',
    '2026-13-01',
    '2026-00-10',
    '2026-01-00',
    '2026-01-32',
    '2026-01-01T24:00:00Z',
    '2026-01-01T12:60:00Z',
    '2026-01-01T12:00:60Z', // no leap seconds
    '2026-01-01T12:00:00+15:00', // offsets are at most 14 h
    '2026-01-01T12:00:00+01:60',
    '2026-01-01T12:00:00+1',
    '2026-01-01T12:00:00 +01:00',
    '2026-01-01T12:00:00.Z',
    '2026-01-01T12:00:00.1234567890Z', // more than 9 fraction digits
    '2026-01-01T12Z',
    '2026-1-1',
    '26-01-01',
    '20260101',
    '2026-01-01Z',
    '2026-01-01T12:00:00ZZ',
    '1767225600000', // epoch ms as a string is no ISO time
    'Tue, 24 Nov 2026 12:00:00 GMT',
    '',
    ' ',
  ])('rejects %j', (s) => {
    expect(parseTime(s)).toBeUndefined();
  });
});
