/**
 * Applies a range of `events_rt` rows (one partition, offsets first..last) to the speed views.
 * Each view gets one INSERT … SELECT with a deduplication token naming the view, partition
 * and range, so applying a range twice (after a crash between the inserts) counts it once;
 * then the partition's progress moves past the range. The SELECTs read the rows back in
 * ClickHouse, where the distinct-device states are built.
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

export async function applyToViews(ch: ClickHouseClient, partition: number, first: number, last: number): Promise<void> {
  const rs = await ch.query({
    query: `SELECT DISTINCT toString(toDate(ts)) AS day FROM events_rt
            WHERE kafka_partition = {p:UInt16} AND kafka_offset BETWEEN {first:UInt64} AND {last:UInt64} ORDER BY day`,
    query_params: { p: partition, first, last },
    format: 'JSONEachRow',
  });
  for (const { day } of await rs.json<{ day: string }>()) {
    for (const [view, query] of Object.entries(VIEW_INSERTS)) {
      await ch.command({ query, query_params: { p: partition, first, last, day, token: `${view}:${partition}:${first}:${last}:${day}` } });
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
