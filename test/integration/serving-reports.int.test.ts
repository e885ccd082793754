/**
 * Reports against a real embedded ClickHouse (DESIGN.md section 5): known events are written
 * into both hourly views, some UTC days are marked covered, and every report is compared with
 * an independent in-test computation from the raw events: buckets, source labels, group
 * order, filters, exact uv across the batch/speed seam.
 */
import { randomBytes } from 'node:crypto';
import { markCovered } from '../../infra/clickhouse/coverage';
import { ReportResponseSchema } from '../../serving/reports/report-schemas';
import { startStandaloneServing, type StandaloneServing } from '../../serving/standalone';
import { testClickHouse } from '../support/clickhouse-harness-process';
import { makeScratchDir, removeScratchDir } from '../support/scratch-dir';

jest.setTimeout(120_000);

const HOUR = 3_600_000;
const DAY = 86_400_000;
const MAX_ROWS = 1000;

interface Ev {
  side: 'batch' | 'rt';
  ms: number;
  device: string;
  type: string;
  country: string;
  channel: string;
  name: string;
  install_kind: string;
  revenue_micros: number;
}

let srv: StandaloneServing;
let dataDir: string;
let key: string;
const events: Ev[] = [];
// 2026-11-21 is uncovered although days after it are: coverage need not be a prefix.
const COVERED = new Set(['2026-11-20', '2026-11-22', '2026-11-23']);
const T0 = Date.UTC(2026, 10, 20);

/** Deterministic pseudo-random numbers, so a failure reproduces. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** Speed rows into hourly_rt; batch rows into hourly_batch_data as the generation of run `run`. */
async function insert(ch: StandaloneServing['ch'], evs: Ev[], table: 'hourly_rt' | 'hourly_batch', run = 'test-run') {
  if (!evs.length) return;
  const rows = evs.map((e) => JSON.stringify({ app_id: 'rep', hour: new Date(e.ms).toISOString().slice(0, 19).replace('T', ' '), ...e, side: undefined }));
  await ch.command({
    query: `INSERT INTO ${table === 'hourly_rt' ? 'hourly_rt' : 'hourly_batch_data'}
      SELECT app_id, toStartOfHour(toDateTime(hour, 'UTC')) AS h, type, name, country, '', '', '', '', channel, '', '', install_kind,
             toUInt64(count()), sum(revenue_micros), uniqExactState(device)${table === 'hourly_rt' ? '' : ', {run:String}'}
      FROM format(JSONEachRow, 'app_id String, hour String, type String, name String, country String, channel String, install_kind String, device String, revenue_micros Int64', {rows:String})
      GROUP BY app_id, h, type, name, country, channel, install_kind`,
    query_params: { rows: rows.join('\n'), run },
  });
}

beforeAll(async () => {
  dataDir = makeScratchDir('weir-serving-reports');
  srv = await startStandaloneServing({ dataDir, clickhouse: testClickHouse(randomBytes(4).toString('hex')), adminToken: randomBytes(16).toString('hex'), limits: { maxReportRows: MAX_ROWS, rateRequestsPerS: 10_000 } });
  key = (await srv.apps.create('rep', {})).read_key;
  const rnd = prng(42);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];
  const kinds = ['attributed', 'organic', 'rejected', 'reinstall'];
  for (let i = 0; i < 6000; i++) {
    const type = pick(['click', 'install', 'event', 'purchase']);
    events.push({
      side: pick(['batch', 'rt'] as const),
      ms: T0 + Math.floor(rnd() * 5 * DAY),
      device: `d${Math.floor(rnd() * 150)}`,
      type,
      country: pick(['US', 'DE', '', 'BR']),
      // byte order: '' < 'Google' < 'fb' < 'organic' < 'ünï'
      channel: pick(['fb', 'Google', 'organic', 'ünï', '']),
      name: type === 'event' ? `n${i}` : '',
      install_kind: type === 'install' ? pick(kinds) : '',
      revenue_micros: type === 'purchase' ? Math.floor(rnd() * 5_000_000) + 1 : 0,
    });
  }
  // A device on both sides of the seam: batch on covered 11-23, speed on uncovered 11-24.
  // The +08:00 day 2026-11-24 spans [11-23 16:00Z, 11-24 16:00Z): mixed, uv must count it once.
  const base = { type: 'launch', country: 'SEAM', channel: '', name: '', install_kind: '', revenue_micros: 0 };
  events.push({ ...base, side: 'batch', ms: Date.UTC(2026, 10, 23, 20), device: 'seam-1' });
  events.push({ ...base, side: 'rt', ms: Date.UTC(2026, 10, 24, 1), device: 'seam-1' });
  events.push({ ...base, side: 'rt', ms: Date.UTC(2026, 10, 24, 2), device: 'seam-2' });
  // Speed copies of covered days that batch corrected: must never show.
  events.push({ ...base, country: 'STALE', side: 'rt', ms: Date.UTC(2026, 10, 22, 5), device: 'stale' });
  await insert(srv.ch, events.filter((e) => e.side === 'batch'), 'hourly_batch');
  await insert(srv.ch, events.filter((e) => e.side === 'rt'), 'hourly_rt');
  await markCovered(srv.ch, [...COVERED], 'test-run');
});

afterAll(async () => {
  await srv?.stop();
  removeScratchDir(dataDir);
});

type Row = Record<string, string | number>;
interface Body {
  rows: Row[];
  boundary: string | null;
  tz: string;
  error: { code: string; message: string };
}

async function get(pathAndQuery: string, k = key): Promise<{ status: number; body: Body }> {
  const res = await fetch(`${srv.url}${pathAndQuery}`, { headers: { authorization: `Bearer ${k}` } });
  return { status: res.status, body: (await res.json()) as Body };
}

const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const byteCmp = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

interface RefQuery {
  granularity: 'hourly' | 'daily';
  fromMs: number;
  toMs: number;
  tzH?: number;
  groupBy?: (keyof Ev)[];
  filters?: Partial<Record<keyof Ev, string[]>>;
}

/** The reference: DESIGN.md section 5 computed naively from the raw events. */
function reference(q: RefQuery) {
  const tz = (q.tzH ?? 0) * HOUR;
  const bucketOf = (ms: number) => (q.granularity === 'hourly' ? Math.floor(ms / HOUR) * HOUR : Math.floor((ms + tz) / DAY) * DAY - tz);
  const fmt = (b: number) => {
    if (q.granularity === 'hourly') return new Date(b).toISOString().slice(0, 19) + 'Z';
    const h = q.tzH ?? 0;
    return `${new Date(b + tz).toISOString().slice(0, 19)}${h < 0 ? '-' : '+'}${String(Math.abs(h)).padStart(2, '0')}:00`;
  };
  const sourceOf = (b: number) => {
    const len = q.granularity === 'hourly' ? HOUR : DAY;
    const sides = new Set<string>();
    for (let h = b; h < b + len; h += HOUR) sides.add(COVERED.has(utcDay(h)) ? 'batch' : 'speed');
    return sides.size === 2 ? 'mixed' : [...sides][0];
  };
  const groups = new Map<string, { b: number; vals: string[]; evs: Ev[] }>();
  for (const e of events) {
    if ((e.side === 'batch') !== COVERED.has(utcDay(e.ms))) continue;
    const b = bucketOf(e.ms);
    if (b < q.fromMs || b >= q.toMs) continue;
    if (!Object.entries(q.filters ?? {}).every(([d, vs]) => (vs as string[]).includes(String(e[d as keyof Ev])))) continue;
    const vals = (q.groupBy ?? []).map((d) => String(e[d]));
    const k = JSON.stringify([b, vals]);
    if (!groups.has(k)) groups.set(k, { b, vals, evs: [] });
    groups.get(k)!.evs.push(e);
  }
  return [...groups.values()]
    .sort((x, y) => x.b - y.b || x.vals.reduce((c, v, i) => c || byteCmp(v, y.vals[i]), 0))
    .map(({ b, vals, evs }) => ({
      bucket: fmt(b),
      source: sourceOf(b),
      ...Object.fromEntries((q.groupBy ?? []).map((d, i) => [d, vals[i]])),
      events: evs.length,
      uv: new Set(evs.map((e) => e.device)).size,
      clicks: evs.filter((e) => e.type === 'click').length,
      installs: evs.filter((e) => ['attributed', 'organic', 'rejected'].includes(e.install_kind)).length,
      rejected_installs: evs.filter((e) => e.install_kind === 'rejected').length,
      revenue: evs.reduce((s, e) => s + e.revenue_micros, 0) / 1e6,
    }));
}

const METRICS = 'events,uv,clicks,installs,rejected_installs,revenue';
const qs = (o: Record<string, string | string[]>) => {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(o)) for (const x of [v].flat()) p.append(k, x);
  return p.toString();
};

describe('reports', () => {
  it('answers an hourly report per group exactly as the events say, batch for covered days and speed otherwise', async () => {
    const r = await get(`/v1/apps/rep/reports/hourly?${qs({ from: '2026-11-20', to: '2026-11-25', metrics: METRICS, group_by: 'country' })}`);
    expect(r.status).toBe(200);
    expect(ReportResponseSchema.parse(r.body)).toBeTruthy();
    expect(r.body.boundary).toBe('2026-11-24T00:00:00Z');
    expect(r.body.rows).toEqual(reference({ granularity: 'hourly', fromMs: T0, toMs: T0 + 5 * DAY, groupBy: ['country'] }));
    expect(r.body.rows.some((x) => x.country === 'STALE')).toBe(false);
    // 2026-11-21 is uncovered, before the boundary: speed.
    expect(r.body.rows.find((x) => x.bucket === '2026-11-21T05:00:00Z')?.source).toBe('speed');
    expect(r.body.rows.find((x) => x.bucket === '2026-11-22T05:00:00Z')?.source).toBe('batch');
  });

  it.each([0, 8, -5, 14, -12])('answers daily reports in tz %i with mixed days merged exactly', async (tzH) => {
    const tz = `${tzH < 0 ? '-' : '+'}${String(Math.abs(tzH)).padStart(2, '0')}:00`;
    const r = await get(`/v1/apps/rep/reports/daily?${qs({ from: '2026-11-19', to: '2026-11-26', tz, metrics: METRICS, group_by: 'channel' })}`);
    expect(r.status).toBe(200);
    const fromMs = Date.UTC(2026, 10, 19) - tzH * HOUR;
    expect(r.body.rows).toEqual(reference({ granularity: 'daily', fromMs, toMs: fromMs + 7 * DAY, tzH, groupBy: ['channel'] }));
    expect(r.body.tz).toBe(tz);
  });

  it('counts a device seen on both sides of the seam once in a mixed day', async () => {
    const r = await get(`/v1/apps/rep/reports/daily?${qs({ from: '2026-11-24', to: '2026-11-25', tz: '+08:00', 'filter.country': 'SEAM' })}`);
    expect(r.body.rows).toEqual([{ bucket: '2026-11-24T00:00:00+08:00', source: 'mixed', events: 3, uv: 2 }]);
  });

  it('labels a seam-spanning day mixed also when one side has no rows', async () => {
    // +08:00 day 11-21 = [11-20 16:00Z, 11-21 16:00Z): covered 11-20 + uncovered 11-21.
    const r = await get(`/v1/apps/rep/reports/daily?${qs({ from: '2026-11-21', to: '2026-11-23', tz: '+08:00', 'filter.country': 'SEAM' })}`);
    expect(r.body.rows).toEqual([]);
    const both = await get(`/v1/apps/rep/reports/daily?${qs({ from: '2026-11-21', to: '2026-11-23', tz: '+08:00' })}`);
    expect(both.body.rows.map((x) => x.source)).toEqual(['mixed', 'mixed']);
  });

  it('treats the boundary exactly on a bucket edge: the hour at the boundary is speed, the one before batch', async () => {
    const r = await get(`/v1/apps/rep/reports/hourly?${qs({ from: '2026-11-23T23:00:00Z', to: '2026-11-24T01:00:00Z' })}`);
    expect(r.body.rows.map((x) => [x.bucket, x.source])).toEqual([
      ['2026-11-23T23:00:00Z', 'batch'],
      ['2026-11-24T00:00:00Z', 'speed'],
    ]);
  });

  it('keeps buckets starting in [from, to) for times inside an hour', async () => {
    const r = await get(`/v1/apps/rep/reports/hourly?${qs({ from: '2026-11-22T10:30:00Z', to: '2026-11-22T12:00:00.001Z', metrics: 'events' })}`);
    expect(r.body.rows.map((x) => x.bucket)).toEqual(['2026-11-22T11:00:00Z', '2026-11-22T12:00:00Z']);
    expect(r.body.rows).toEqual(reference({ granularity: 'hourly', fromMs: Date.UTC(2026, 10, 22, 10, 30), toMs: Date.UTC(2026, 10, 22, 12, 0, 0, 1) }).map(({ bucket, source, events }) => ({ bucket, source, events })));
  });

  it('ORs values of one filter and ANDs filters; an empty value matches empty', async () => {
    const filters = { country: ['US', ''], channel: ['fb', 'ünï'] };
    const r = await get(`/v1/apps/rep/reports/hourly?${qs({ from: '2026-11-20', to: '2026-11-25', metrics: METRICS, group_by: 'type,channel', 'filter.country': filters.country, 'filter.channel': filters.channel })}`);
    expect(r.status).toBe(200);
    expect(r.body.rows).toEqual(reference({ granularity: 'hourly', fromMs: T0, toMs: T0 + 5 * DAY, groupBy: ['type', 'channel'], filters }));
  });

  it('refuses more rows than MAX_REPORT_ROWS with a 400 that says so', async () => {
    const r = await get(`/v1/apps/rep/reports/hourly?${qs({ from: '2026-11-20', to: '2026-11-25', group_by: 'name,country' })}`);
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(/too many groups.*1000/);
  });

  it('answers an empty range with no rows and the boundary', async () => {
    const r = await get(`/v1/apps/rep/reports/daily?${qs({ from: '2030-01-01T05:00:00Z', to: '2030-01-01T06:00:00Z' })}`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ rows: [], boundary: '2026-11-24T00:00:00Z' });
  });

  it('rejects bad parameters with a message saying what is allowed', async () => {
    const cases: [string, RegExp][] = [
      ['from=2026-11-20&to=2026-11-21&metrics=events,bogus', /unknown metric.*allowed: events, uv/],
      ['from=2026-11-20&to=2026-11-21&group_by=device_id', /unknown group_by dimension.*allowed: type, name/],
      ['from=2026-11-20&to=2026-11-21&filter.device_id=x', /unknown parameter.*filter\.device_id.*allowed/],
      ['from=yesterday&to=2026-11-21', /from must be an ISO-8601/],
      ['from=2026-02-30&to=2026-03-02', /from must be an ISO-8601/],
      ['from=2026-11-21&to=2026-11-20', /to must be later than from/],
      ['from=2026-01-01&to=2026-11-20', /at most 31 days/],
      ['from=2026-11-20&to=2026-11-21&tz=%2B08:30', /whole-hour/],
      ['from=2026-11-20&to=2026-11-21&tz=-13:00', /-12:00 to \+14:00/],
      ['to=2026-11-21', /from is required/],
    ];
    for (const [q, msg] of cases) {
      const r = await get(`/v1/apps/rep/reports/hourly?${q}`);
      expect([q, r.status]).toEqual([q, 400]);
      expect(r.body.error.code).toBe('bad_request');
      expect(r.body.error.message).toMatch(msg);
    }
  });

  it('reads an unescaped + in tz and in times (a query string decodes it as a space)', async () => {
    const r = await get('/v1/apps/rep/reports/daily?from=2026-11-24T00:00:00+08:00&to=2026-11-25&tz=+08:00&filter.country=SEAM');
    expect(r.status).toBe(200);
    expect(r.body.rows).toEqual([{ bucket: '2026-11-24T00:00:00+08:00', source: 'mixed', events: 3, uv: 2 }]);
  });

  // Last: it changes the views of 2026-11-21 and 2026-11-22 as the speed layer and a new run would.
  it('serves a day from the segment cache until its views change: new speed parts, a batch run replacing it', async () => {
    const cacheHits = async () => {
      const text = await (await fetch(`${srv.url}/metrics`)).text();
      return Number(/^weir_report_cache_lookups_total\{result="hit"\} (\d+)$/m.exec(text)?.[1] ?? 0);
    };
    const url = `/v1/apps/rep/reports/hourly?${qs({ from: '2026-11-20', to: '2026-11-25', metrics: METRICS, group_by: 'channel' })}`;
    const expected = () => reference({ granularity: 'hourly', fromMs: T0, toMs: T0 + 5 * DAY, groupBy: ['channel'] });
    const first = await get(url);
    expect(first.body.rows).toEqual(expected());
    let hits = await cacheHits();
    const again = await get(url);
    expect(again.body).toEqual(first.body);
    expect(await cacheHits()).toBe(hits + 5); // every day: no view changed

    // The speed layer writes a part for uncovered 2026-11-21: that day is read again, the others not.
    const fresh: Ev = { side: 'rt', ms: Date.UTC(2026, 10, 21, 9, 10), device: 'fresh-1', type: 'launch', country: 'US', channel: 'fresh', name: '', install_kind: '', revenue_micros: 0 };
    events.push(fresh);
    await insert(srv.ch, [fresh], 'hourly_rt');
    hits = await cacheHits();
    const withFresh = await get(url);
    expect(withFresh.body.rows).toEqual(expected());
    expect(withFresh.body.rows.filter((x) => x.channel === 'fresh')).toEqual([expect.objectContaining({ bucket: '2026-11-21T09:00:00Z', source: 'speed', events: 1, uv: 1 })]);
    expect(await cacheHits()).toBe(hits + 4);

    // A run replaces 2026-11-22's views (one late event more), then marks the day covered.
    const late: Ev = { side: 'batch', ms: Date.UTC(2026, 10, 22, 7, 30), device: 'late-1', type: 'launch', country: 'US', channel: 'late', name: '', install_kind: '', revenue_micros: 0 };
    events.push(late);
    await srv.ch.command({
      // The new run's generation holds the day's rows and the late one.
      query: `INSERT INTO hourly_batch_data SELECT * REPLACE ('test-run-2' AS run_id)
              FROM (SELECT * FROM hourly_batch_data WHERE toDate(hour) = '2026-11-22' AND run_id = 'test-run')`,
    });
    await insert(srv.ch, [late], 'hourly_batch', 'test-run-2');
    await markCovered(srv.ch, ['2026-11-22'], 'test-run-2');
    const after = await get(url);
    expect(after.body.rows).toEqual(expected());
    expect(after.body.rows.filter((x) => x.channel === 'late')).toEqual([expect.objectContaining({ bucket: '2026-11-22T07:00:00Z', source: 'batch', events: 1, uv: 1 })]);
  });
});
