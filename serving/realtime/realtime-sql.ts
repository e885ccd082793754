/**
 * SQL of the real-time reads, over the speed layer's per-second and per-minute views
 * (`realtime_rt`, `errors_rt`). Values only as query parameters.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { RealtimeResponse, TopErrorRow } from './realtime-schemas';

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

/**
 * The steps covering the last `windowS` seconds: the newest is the (partial) step holding
 * `nowMs`; as many whole steps before it as the window reaches into.
 */
export function seriesSpan(nowMs: number, windowS: number, step: number): { loS: number; hiS: number } {
  const last = Math.floor(nowMs / 1000 / step) * step;
  const count = Math.max(1, Math.ceil(windowS / step));
  return { loS: last - (count - 1) * step, hiS: last + step };
}

// WITH FILL emits the empty steps as zeros, so the client gets an evenly spaced series.
const SERIES_SQL = `
SELECT intDiv(toUnixTimestamp(second), {step:UInt32}) * {step:UInt32} AS t,
       sum(events) AS events, uniqExactMerge(uv) AS uv, sum(clicks) AS clicks, sum(installs) AS installs, sum(errors) AS errors
FROM realtime_rt
WHERE app_id = {app:String} AND second >= toDateTime({lo:UInt32}, 'UTC') AND second < toDateTime({hi:UInt32}, 'UTC')
GROUP BY t
ORDER BY t WITH FILL FROM toUInt64({lo:UInt32}) TO toUInt64({hi:UInt32}) STEP {step:UInt32}`;

export async function readSeries(ch: ClickHouseClient, appId: string, nowMs: number, windowS: number, step: number): Promise<RealtimeResponse['series']> {
  const { loS, hiS } = seriesSpan(nowMs, windowS, step);
  const rs = await ch.query({ query: SERIES_SQL, query_params: { app: appId, lo: loS, hi: hiS, step }, format: 'JSONEachRow' });
  const rows = await rs.json<{ t: number; events: number; uv: number; clicks: number; installs: number; errors: number }>();
  return rows.map((r) => ({
    ts: iso(Number(r.t) * 1000),
    events: Number(r.events),
    uv: Number(r.uv),
    clicks: Number(r.clicks),
    installs: Number(r.installs),
    errors: Number(r.errors),
  }));
}

/** Totals over [loS, hiS): one row, distinct devices merged across the seconds. */
const TOTALS_SQL = `
SELECT sum(events) AS events, sum(installs) AS installs, uniqExactMerge(uv) AS uv
FROM realtime_rt
WHERE app_id = {app:String} AND second >= toDateTime({lo:UInt32}, 'UTC') AND second < toDateTime({hi:UInt32}, 'UTC')`;

export async function readTotals(ch: ClickHouseClient, appId: string, loS: number, hiS: number): Promise<{ events: number; installs: number; uv: number }> {
  const rs = await ch.query({ query: TOTALS_SQL, query_params: { app: appId, lo: loS, hi: hiS }, format: 'JSONEachRow' });
  const [r] = await rs.json<{ events: number; installs: number; uv: number }>();
  return { events: Number(r?.events ?? 0), installs: Number(r?.installs ?? 0), uv: Number(r?.uv ?? 0) };
}

// Aliases differ from the column names: an alias `count` would shadow the column inside sum().
const TOP_ERRORS_SQL = `
SELECT fingerprint, any(error_type) AS type_, sum(count) AS n, any(sample_message) AS sample, toUnixTimestamp64Milli(max(last_seen)) AS seen_ms
FROM errors_rt
WHERE app_id = {app:String} AND minute >= toDateTime({lo:UInt32}, 'UTC')
GROUP BY fingerprint
ORDER BY n DESC, fingerprint
LIMIT {limit:UInt32}`;

/** Errors by fingerprint over the minutes from the one holding `now - windowS` on. */
export async function readTopErrors(ch: ClickHouseClient, appId: string, nowMs: number, windowS: number, limit: number): Promise<TopErrorRow[]> {
  const lo = Math.floor((nowMs / 1000 - windowS) / 60) * 60;
  const rs = await ch.query({ query: TOP_ERRORS_SQL, query_params: { app: appId, lo, limit }, format: 'JSONEachRow' });
  const rows = await rs.json<{ fingerprint: string; type_: string; n: number; sample: string; seen_ms: number }>();
  return rows.map((r) => ({
    fingerprint: r.fingerprint,
    error_type: r.type_,
    count: Number(r.n),
    sample_message: r.sample,
    last_seen: new Date(Number(r.seen_ms)).toISOString(),
  }));
}
