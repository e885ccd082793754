/** The pure parts of reports: parameters, bucket spans, batch/speed/mixed, SQL, shaping. */
import { buildReportSql } from '../../serving/reports/build-report-sql';
import { bucketSource, planSources, reportSegments } from '../../serving/reports/merge-sources';
import { createSegmentCache, segmentKey } from '../../serving/reports/segment-cache';
import { parseReportQuery, type ReportLimits } from '../../serving/reports/parse-report-query';
import { formatInstant, parseReadTime, parseTz } from '../../serving/reports/report-time';
import { shapeReportRows } from '../../serving/reports/shape-report-rows';
import { decodeCursor, encodeCursor, shapeAttributionRow } from '../../serving/attributions/attributions-query';

const LIMITS: ReportLimits = { maxReportDaysHourly: 31, maxReportDaysDaily: 400, maxReportRows: 10_000 };
const utc = (s: string) => Date.parse(s);
const parse = (g: 'hourly' | 'daily', q: Record<string, unknown>) => parseReportQuery('app', g, q as never, LIMITS);

describe('report times', () => {
  it('reads whole-hour offsets, also when the query string turned + into a space', () => {
    expect(parseTz('+08:00')).toBe(480);
    expect(parseTz(' 08:00')).toBe(480);
    expect(parseTz('-12:00')).toBe(-720);
    expect(parseTz('+14:00')).toBe(840);
    for (const bad of ['+15:00', '-13:00', '+05:30', '8', 'UTC', '+8:00']) expect(parseTz(bad)).toBeUndefined();
  });

  it('reads a date as its midnight in tz and an explicit offset as given', () => {
    expect(parseReadTime('2026-11-23', 480)).toBe(utc('2026-11-22T16:00:00Z'));
    expect(parseReadTime('2026-11-23T10:00:00Z', 480)).toBe(utc('2026-11-23T10:00:00Z'));
    expect(parseReadTime('2026-11-23T10:00:00 05:00', 0)).toBe(utc('2026-11-23T05:00:00Z'));
    expect(parseReadTime('2026-02-30', 0)).toBeUndefined();
    expect(parseReadTime('1999-12-31', 0)).toBeUndefined();
    expect(parseReadTime("2026-11-23'; DROP", 0)).toBeUndefined();
  });

  it('renders bucket starts as DESIGN.md shows them', () => {
    expect(formatInstant(utc('2026-11-23T14:00:00Z'), 0, 'z')).toBe('2026-11-23T14:00:00Z');
    expect(formatInstant(utc('2026-11-22T16:00:00Z'), 480, 'offset')).toBe('2026-11-23T00:00:00+08:00');
    expect(formatInstant(utc('2026-11-23T05:00:00Z'), -300, 'offset')).toBe('2026-11-23T00:00:00-05:00');
  });
});

describe('parseReportQuery', () => {
  it('spans the hours of buckets starting in [from, to) for any from/to', () => {
    const q = parse('hourly', { from: '2026-11-23T10:30:00Z', to: '2026-11-23T12:00:00.001Z' });
    expect([q.loMs, q.hiMs]).toEqual([utc('2026-11-23T11:00:00Z'), utc('2026-11-23T13:00:00Z')]);
    expect(q.metrics).toEqual(['events', 'uv']);
  });

  it('spans daily buckets as days in tz', () => {
    const q = parse('daily', { from: '2026-11-23', to: '2026-11-25', tz: '+08:00' });
    expect([q.loMs, q.hiMs]).toEqual([utc('2026-11-22T16:00:00Z'), utc('2026-11-24T16:00:00Z')]);
    const mid = parse('daily', { from: '2026-11-23T01:00:00Z', to: '2026-11-23T02:00:00Z' });
    expect(mid.hiMs).toBe(mid.loMs); // no bucket starts inside the range
  });

  it('rejects unknown names, reversed and oversized ranges with what is allowed', () => {
    expect(() => parse('hourly', { from: '2026-11-23', to: '2026-11-24', metrics: 'events,nope' })).toThrow(/unknown metric\(s\) "nope"; allowed: events, uv/);
    expect(() => parse('hourly', { from: '2026-11-23', to: '2026-11-24', group_by: 'ip' })).toThrow(/allowed: type, name, country/);
    expect(() => parse('hourly', { from: '2026-11-23', to: '2026-11-24', metrics: 'uv,uv' })).toThrow(/listed twice/);
    expect(() => parse('hourly', { from: '2026-11-24', to: '2026-11-23' })).toThrow(/later than from/);
    expect(() => parse('hourly', { from: '2026-10-01', to: '2026-11-02' })).toThrow(/^an hourly report covers at most 31 days \(MAX_REPORT_DAYS_HOURLY\)/);
    expect(() => parse('daily', { from: '2025-01-01', to: '2026-11-02' })).toThrow(/^a daily report covers at most 400 days \(MAX_REPORT_DAYS_DAILY\)/);
    expect(() => parse('daily', { from: '2026-10-01', to: '2026-11-02', tz: '+08:30' })).toThrow(/whole-hour/);
  });

  it('keeps filters per dimension with duplicate values removed', () => {
    const q = parse('hourly', { from: '2026-11-23', to: '2026-11-24', 'filter.country': ['US', '', 'US'] });
    expect(q.filters).toEqual({ country: ['US', ''] });
  });

  it('matches country and currency in any case, as the collector stores them upper-case', () => {
    const q = parse('hourly', { from: '2026-11-23', to: '2026-11-24', 'filter.country': ['us', 'US', 'De'], 'filter.currency': ['eur'], 'filter.channel': ['Facebook'] });
    expect(q.filters).toEqual({ country: ['US', 'DE'], currency: ['EUR'], channel: ['Facebook'] });
  });
});

describe('batch, speed and mixed', () => {
  const covered = new Set(['2026-11-20', '2026-11-22', '2026-11-23']); // 11-21 uncovered before the boundary

  it('labels the hour at the boundary speed and the hour before batch', () => {
    expect(bucketSource(utc('2026-11-23T23:00:00Z'), 'hourly', covered)).toBe('batch');
    expect(bucketSource(utc('2026-11-24T00:00:00Z'), 'hourly', covered)).toBe('speed');
  });

  it('labels uncovered days before the boundary speed', () => {
    expect(bucketSource(utc('2026-11-21T05:00:00Z'), 'hourly', covered)).toBe('speed');
    expect(bucketSource(utc('2026-11-21T00:00:00Z'), 'daily', covered)).toBe('speed');
  });

  it('labels a tz day spanning the seam mixed, on either side', () => {
    expect(bucketSource(utc('2026-11-23T16:00:00Z'), 'daily', covered)).toBe('mixed'); // 11-24 +08:00
    expect(bucketSource(utc('2026-11-20T16:00:00Z'), 'daily', covered)).toBe('mixed'); // covered → uncovered
    expect(bucketSource(utc('2026-11-21T05:00:00Z'), 'daily', covered)).toBe('mixed'); // uncovered → covered, -05:00
    expect(bucketSource(utc('2026-11-22T16:00:00Z'), 'daily', covered)).toBe('batch'); // both covered
  });

  it('plans only the sides a range needs', () => {
    expect(planSources({ loMs: utc('2026-11-24T00:00:00Z'), hiMs: utc('2026-11-25T00:00:00Z') }, covered)).toEqual({ coveredDays: [], batch: false, speed: true });
    expect(planSources({ loMs: utc('2026-11-22T00:00:00Z'), hiMs: utc('2026-11-24T00:00:00Z') }, covered)).toEqual({ coveredDays: ['2026-11-22', '2026-11-23'], batch: true, speed: false });
    expect(planSources({ loMs: utc('2026-11-20T16:00:00Z'), hiMs: utc('2026-11-22T16:00:00Z') }, covered)).toEqual({ coveredDays: ['2026-11-20', '2026-11-22'], batch: true, speed: true });
  });
});

describe('segments of the report cache', () => {
  const versions = new Map([['2026-11-20', 'batch run-1@1'], ['2026-11-21', 'speed 20261121_1_1_0@1795600000']]);
  const dayVersion = (d: string) => versions.get(d) ?? 'speed ';

  it('cuts an hourly report into its UTC days, clipped to the report', () => {
    const q = parse('hourly', { from: '2026-11-20T05:00:00Z', to: '2026-11-22T03:30:00Z' });
    expect(reportSegments(q)).toEqual([
      { loMs: utc('2026-11-20T05:00:00Z'), hiMs: utc('2026-11-21T00:00:00Z'), days: ['2026-11-20'] },
      { loMs: utc('2026-11-21T00:00:00Z'), hiMs: utc('2026-11-22T00:00:00Z'), days: ['2026-11-21'] },
      { loMs: utc('2026-11-22T00:00:00Z'), hiMs: utc('2026-11-22T04:00:00Z'), days: ['2026-11-22'] },
    ]);
  });

  it('makes each daily bucket a segment of the UTC days it spans', () => {
    const q = parse('daily', { from: '2026-11-21', to: '2026-11-24', tz: '+08:00' });
    expect(reportSegments(q).map((s) => s.days)).toEqual([
      ['2026-11-20', '2026-11-21'],
      ['2026-11-21', '2026-11-22'],
      ['2026-11-22', '2026-11-23'],
    ]);
    expect(reportSegments(parse('daily', { from: '2026-11-22', to: '2026-11-24' })).map((s) => s.days)).toEqual([['2026-11-22'], ['2026-11-23']]);
  });

  it("keys a segment by the query, its range and its days' versions", () => {
    const q = parse('hourly', { from: '2026-11-20', to: '2026-11-22', group_by: 'country', 'filter.os': ['ios', 'android'] });
    const [s20, s21] = reportSegments(q);
    const key = segmentKey(q, s20, dayVersion);
    expect(segmentKey(q, s21, dayVersion)).not.toBe(key);
    expect(segmentKey(parse('hourly', { from: '2026-11-20', to: '2026-11-22', group_by: 'country', 'filter.os': ['android', 'ios'] }), s20, dayVersion)).toBe(key);
    expect(segmentKey(q, s20, () => 'batch run-2@2')).not.toBe(key);
    // A new speed part of the day changes the key of its segment only.
    const newPart = (d: string) => (d === '2026-11-21' ? 'speed 20261121_1_1_0@1795600000 20261121_2_2_0@1795600001' : dayVersion(d));
    expect(segmentKey(q, s21, newPart)).not.toBe(segmentKey(q, s21, dayVersion));
    expect(segmentKey(q, s20, newPart)).toBe(key);
    expect(segmentKey({ ...q, metrics: ['events'] }, s20, dayVersion)).not.toBe(key);
    expect(segmentKey({ ...q, appId: 'other' }, s20, dayVersion)).not.toBe(key);
    expect(segmentKey({ ...q, filters: {} }, s20, dayVersion)).not.toBe(key);
  });

  it('keeps rows up to its byte budget, least recently used out first; a budget of 0 keeps nothing', () => {
    const cache = createSegmentCache(3000);
    const rows = (c: string) => ({ json: Buffer.from(c.repeat(1000)), rows: 1 });
    cache.set('a', rows('a'));
    cache.set('b', rows('b'));
    expect(cache.get('a')?.json.toString()).toBe('a'.repeat(1000));
    cache.set('c', rows('c')); // over budget: b, the least recently used, goes
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBeDefined();
    cache.set('huge', rows('x'.repeat(10)));
    expect(cache.get('huge')).toBeUndefined();
    const none = createSegmentCache(0);
    none.set('a', rows('a'));
    expect(none.get('a')).toBeUndefined();
  });
});

describe('buildReportSql', () => {
  const q = parse('daily', { from: '2026-11-23', to: '2026-11-25', tz: '+08:00', group_by: 'channel', metrics: 'uv,revenue,installs', 'filter.os': ["'; DROP TABLE hourly_rt; --"] });

  it('merges both sides in one statement before aggregating, so uv states merge across the seam', () => {
    const { sql, params } = buildReportSql(q, { coveredDays: ['2026-11-23'], batch: true, speed: true }, 100);
    expect(sql).toMatch(/FROM \(SELECT .* FROM hourly_batch WHERE .*toDate\(hour\) IN \{covered:Array\(Date\)\} UNION ALL SELECT .* FROM hourly_rt WHERE .*NOT IN \{covered:Array\(Date\)\}\) GROUP BY bucket, channel/);
    expect(sql).toContain('uniqExactMerge(uv) AS m_uv');
    expect(params).toMatchObject({ app: 'app', covered: ['2026-11-23'], tz_s: 28_800, limit: 101, f_os: ["'; DROP TABLE hourly_rt; --"] });
  });

  it('never puts user values into the SQL text and reads one table when one side suffices', () => {
    const { sql } = buildReportSql(q, { coveredDays: [], batch: false, speed: true }, 100);
    expect(sql).not.toContain('DROP');
    expect(sql).not.toContain('UNION');
    expect(sql).not.toContain('hourly_batch');
    expect(sql).toContain('os IN {f_os:Array(String)}');
  });

  it('reads uv states only when uv is asked for', () => {
    const { sql } = buildReportSql(parse('hourly', { from: '2026-11-23', to: '2026-11-24', metrics: 'events,clicks' }), { coveredDays: [], batch: false, speed: true }, 10);
    expect(sql).not.toMatch(/\buv\b/);
  });
});

describe('shaping', () => {
  it('renders revenue from micro-units with at most 6 decimals and labels each bucket', () => {
    const q = parse('daily', { from: '2026-11-23', to: '2026-11-25', tz: '+08:00', group_by: 'currency', metrics: 'revenue,events' });
    const rows = shapeReportRows(q, [{ bucket: utc('2026-11-22T16:00:00Z') / 1000, currency: 'EUR', m_revenue: 1_234_567, m_events: 3 }], new Set(['2026-11-22']));
    expect(rows).toEqual([{ bucket: '2026-11-23T00:00:00+08:00', source: 'mixed', currency: 'EUR', revenue: 1.234567, events: 3 }]);
  });

  it('round-trips attribution cursors and rejects forged ones', () => {
    expect(decodeCursor(encodeCursor(1_700_000_000_123, 'ev-1'))).toEqual({ tsMs: 1_700_000_000_123, id: 'ev-1' });
    expect(() => decodeCursor('garbage')).toThrow(/cursor/);
    expect(() => decodeCursor(Buffer.from('["x",1]').toString('base64url'))).toThrow(/cursor/);
  });

  it('gives null where attribution fields do not apply', () => {
    const organic = { install_event_id: 'i', device_id: 'd', ts_ms: 0, outcome: 'organic', match: '', click_event_id: '', channel: 'organic', campaign_id: '', ctit_ms: 0, fraud_reason: '', source: 'speed' as const };
    expect(shapeAttributionRow(organic)).toMatchObject({ match: null, click_event_id: null, ctit_ms: null, fraud_reason: null, ts: '1970-01-01T00:00:00.000Z' });
  });
});
