/**
 * Applies a range of `events_rt` rows (one partition, offsets first..last) to the speed views.
 * Each view gets one INSERT … SELECT with a deduplication token naming the view, partition
 * and range, so applying a range twice (after a crash between the inserts) counts it once;
 * then the partition's progress moves past the range. The SELECTs read the rows back in
 * ClickHouse, where the distinct-device states are built.
 *
 * Which inserts a range needs (its event dates; whether it has errors, and clicks with ip and
 * ua) is planned from the rows in hand, or read back from events_rt when redoing a range after
 * a restart: the same rows give the same plan, and so the same tokens. Every statement costs
 * a few milliseconds in the engine whatever its size, so none is sent that would insert nothing.
 */
import type { ClickHouseClient } from '@clickhouse/client';

const RANGE = 'kafka_partition = {p:UInt16} AND kafka_offset BETWEEN {first:UInt64} AND {last:UInt64} AND toDate(ts) = {day:Date}';
// One insert per view and event date, with max_threads = 1: each insert is one block in one
// partition, so a token always names the same block. (A multi-partition insert is split into
// blocks whose numbering, and so whose derived tokens, need not repeat on a retry.)
const SETTINGS = 'SETTINGS insert_deduplication_token = {token:String}, max_threads = 1';

const VIEW_INSERTS: Record<string, string> = {
  hourly_rt: `INSERT INTO hourly_rt
    SELECT app_id, toStartOfHour(ts) AS hour, type, name, country, os, app_version, currency, error_type,
           channel, campaign_id, fraud_reason, install_kind,
           toUInt64(count()) AS events, sum(revenue_micros) AS revenue_micros, uniqExactState(device_id) AS uv
    FROM events_rt WHERE ${RANGE}
    GROUP BY app_id, hour, type, name, country, os, app_version, currency, error_type, channel, campaign_id, fraud_reason, install_kind
    ${SETTINGS}`,
  realtime_rt: `INSERT INTO realtime_rt
    SELECT app_id, toDateTime(ts) AS second,
           toUInt64(count()) AS events,
           toUInt64(countIf(type = 'click')) AS clicks,
           toUInt64(countIf(install_kind IN ('attributed', 'organic', 'rejected'))) AS installs,
           toUInt64(countIf(type = 'error')) AS errors,
           uniqExactState(device_id) AS uv
    FROM events_rt WHERE ${RANGE}
    GROUP BY app_id, second
    ${SETTINGS}`,
  clicks_by_ip_ua_rt: `INSERT INTO clicks_by_ip_ua_rt
    SELECT app_id, ip, ua, ts, event_id, channel, campaign_id, kafka_partition
    FROM events_rt WHERE ${RANGE} AND type = 'click' AND ip != '' AND ua != ''
    ${SETTINGS}`,
  errors_rt: `INSERT INTO errors_rt
    SELECT app_id, toStartOfMinute(ts) AS minute, fingerprint, error_type,
           toUInt64(count()) AS count, any(error_message) AS sample_message, max(ts) AS last_seen
    FROM events_rt WHERE ${RANGE} AND type = 'error'
    GROUP BY app_id, minute, fingerprint, error_type
    ${SETTINGS}`,
};

/** The inserts one event date of a range needs: hourly_rt and realtime_rt always. */
export interface DayPlan {
  day: string;
  clicks: boolean;
  errors: boolean;
}

/** What the view inserts of a range read from a row: its event time as chTime text, its type, ip and ua. */
export interface PlannedRow {
  ts: string;
  type: string;
  ip: string;
  ua: string;
}

/** The plan of a range from its rows (the same answer as planOfWritten on the written rows). */
export function planOfRows(rows: readonly PlannedRow[]): DayPlan[] {
  const days = new Map<string, DayPlan>();
  for (const r of rows) {
    const day = r.ts.slice(0, 10); // chTime text: 'YYYY-MM-DD hh:mm:ss.mmm', as toDate(ts) in UTC
    let d = days.get(day);
    if (!d) days.set(day, (d = { day, clicks: false, errors: false }));
    if (r.type === 'click' && r.ip !== '' && r.ua !== '') d.clicks = true;
    else if (r.type === 'error') d.errors = true;
  }
  return [...days.values()].sort((a, b) => (a.day < b.day ? -1 : 1));
}

async function planOfWritten(ch: ClickHouseClient, partition: number, first: number, last: number): Promise<DayPlan[]> {
  const rs = await ch.query({
    query: `SELECT toString(toDate(ts)) AS day, countIf(type = 'click' AND ip != '' AND ua != '') > 0 AS clicks, countIf(type = 'error') > 0 AS errors
            FROM events_rt
            WHERE kafka_partition = {p:UInt16} AND kafka_offset BETWEEN {first:UInt64} AND {last:UInt64}
            GROUP BY day ORDER BY day`,
    query_params: { p: partition, first, last },
    format: 'JSONEachRow',
  });
  return (await rs.json<{ day: string; clicks: number | boolean; errors: number | boolean }>()).map((r) => ({ day: r.day, clicks: Boolean(r.clicks), errors: Boolean(r.errors) }));
}

/** Applies offsets first..last of a partition's events_rt rows to the views; `plan` when the caller has the rows. */
export async function applyToViews(ch: ClickHouseClient, partition: number, first: number, last: number, plan?: DayPlan[]): Promise<void> {
  for (const d of plan ?? (await planOfWritten(ch, partition, first, last))) {
    for (const [view, query] of Object.entries(VIEW_INSERTS)) {
      if ((view === 'clicks_by_ip_ua_rt' && !d.clicks) || (view === 'errors_rt' && !d.errors)) continue;
      await ch.command({ query, query_params: { p: partition, first, last, day: d.day, token: `${view}:${partition}:${first}:${last}:${d.day}` } });
    }
  }
  await ch.insert({ table: 'speed_progress', values: [{ kafka_partition: partition, views_through: last }], format: 'JSONEachRow' });
}

/** The last offset applied to the views, per the progress table (-1: none). */
export async function viewsThrough(ch: ClickHouseClient, partition: number): Promise<number> {
  const rs = await ch.query({
    query: 'SELECT max(views_through) AS o, count() AS n FROM speed_progress WHERE kafka_partition = {p:UInt16}',
    query_params: { p: partition },
    format: 'JSONEachRow',
  });
  const [r] = await rs.json<{ o: string; n: string }>();
  return r && Number(r.n) > 0 ? Number(r.o) : -1;
}
