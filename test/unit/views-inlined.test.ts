/** Which view-insert parameters are written into the SQL (so chDB can run the statements side by side). */
import { inlined } from '../../speed-layer/realtime-views/views-writer';

describe('inlined', () => {
  it('writes offsets, partitions, plain dates and own tokens into the statement', () => {
    const s = inlined('SELECT 1 WHERE p = {p0:UInt16} AND o BETWEEN {f0:UInt64} AND {l0:UInt64} AND toDate(ts) = {day:Date} SETTINGS insert_deduplication_token = {token:String}', {
      p0: 3,
      f0: 0,
      l0: 9007199254740991,
      day: '2026-11-24',
      token: 'hourly_rt:g1b4e2f0a-9c1d-4e5f-8a7b-6c5d4e3f2a1b:2026-11-24',
    });
    expect(s).toEqual({
      query: "SELECT 1 WHERE p = 3 AND o BETWEEN 0 AND 9007199254740991 AND toDate(ts) = toDate('2026-11-24') SETTINGS insert_deduplication_token = 'hourly_rt:g1b4e2f0a-9c1d-4e5f-8a7b-6c5d4e3f2a1b:2026-11-24'",
      query_params: {},
    });
  });

  it.each([
    ['a quote in a string', { n: 1, s: "x' OR 1 = 1 --" }],
    ['a day that is not YYYY-MM-DD', { n: 1, s: 'ok', d: '+10000-01-01' }],
    ['a negative offset', { n: -1, s: 'ok' }],
    ['an unsafe integer', { n: 2 ** 60, s: 'ok' }],
    ['a number given as text', { n: '1', s: 'ok' }],
  ])('leaves every value a query parameter when one is not plain: %s', (_what, params: Record<string, unknown>) => {
    const query = 'SELECT {n:UInt64}, {s:String}' + ('d' in params ? ', {d:Date}' : '');
    expect(inlined(query, params)).toEqual({ query, query_params: params });
  });
});
