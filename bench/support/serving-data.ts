/**
 * Data of the serving bench, generated inside ClickHouse (no rows cross Node): `events`
 * raw events over `days` UTC days in a raw MergeTree table, then the hourly views filled from
 * it exactly as the layers would (one row per hour and dimension combination, `uniqExactState`
 * of the devices): the first `days - speedDays` days into `hourly_batch` and marked covered,
 * the last `speedDays` into `hourly_rt`, so a report over the whole range takes the merge path.
 *
 * Distributions (deterministic: every value is a hash of the event number or of its device):
 * a few apps of unequal size, `devices` devices with skewed activity, each event in a session of
 * `sessionEvents` consecutive events (seconds apart) of one device; per device a country (20,
 * skewed), an os, an app version (skewed to the newest) and an acquisition: organic or one of
 * 9 paid channels with 5 campaigns each, some of the paid ones rejected for fraud. Event types:
 * 25 % impressions, 10 % clicks (both on paid channels), 2 % installs (one in ten a
 * reinstall), 30 % launches, 25 % custom events (10 names), 3 % purchases (revenue $0.99 to
 * $99.98 in three currencies), 5 % errors (5 types). Launches, custom events, purchases and
 * errors carry the device's acquisition channel (5 % of them '' as if before the install).
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { markCovered } from '../../infra/clickhouse/coverage';

export const RAW_TABLE = 'bench_events_raw';
/** Apps and their share of devices: the report reads the largest. */
export const BENCH_APPS = ['bench-a', 'bench-b', 'bench-c'] as const;

export interface ServingDataOptions {
  events: number;
  devices: number;
  days: number;
  /** Last days answered from the speed views (the others from batch). */
  speedDays: number;
  /** First UTC day, epoch ms at midnight. */
  startMs: number;
  /** Events per session: runs of consecutive events (seconds apart) from one device. */
  sessionEvents: number;
}

export interface ServingDataReport {
  rawRows: number;
  batchRows: number;
  rtRows: number;
  batchDays: string[];
  /** Stored distinct entries of the uv states, both views. */
  uvEntries: number;
  seconds: { raw: number; views: number };
}

const CREATE_RAW = `CREATE TABLE IF NOT EXISTS ${RAW_TABLE} (
  app_id LowCardinality(String), ts DateTime64(3, 'UTC'), device_id String,
  type LowCardinality(String), name LowCardinality(String), country LowCardinality(String), os LowCardinality(String),
  app_version LowCardinality(String), currency LowCardinality(String), error_type LowCardinality(String),
  channel LowCardinality(String), campaign_id LowCardinality(String), fraud_reason LowCardinality(String),
  install_kind LowCardinality(String), revenue_micros Int64
) ENGINE = MergeTree PARTITION BY toDate(ts) ORDER BY (app_id, ts)`;

// u(k): a uniform number in [0, 1) from the event number; d(k): the same from the device.
const u = (k: number) => `(cityHash64(number, ${k}) % 1000003) / 1000003`;
const d = (k: number) => `(cityHash64(dev, ${k}) % 1000003) / 1000003`;
const COUNTRIES = ['US', 'IN', 'BR', 'DE', 'GB', 'FR', 'JP', 'ID', 'MX', 'TR', 'RU', 'KR', 'IT', 'ES', 'CA', 'VN', 'PH', 'TH', 'PL', 'NG'];
const PAID = ['google', 'facebook', 'tiktok', 'applovin', 'unity', 'ironsource', 'snapchat', 'twitter', 'apple_search'];
const arr = (xs: readonly string[]) => `[${xs.map((x) => `'${x}'`).join(', ')}]`;
const skewed = (xs: readonly string[], unit: string, power: number) => `${arr(xs)}[1 + toUInt32(floor(${xs.length} * pow(${unit}, ${power})))]`;

/** Raw events; `{n}`, `{devices}`, `{start_ms}`, `{span_ms}` are query parameters. */
const INSERT_RAW = `INSERT INTO ${RAW_TABLE}
SELECT app_id,
  -- spread evenly in event-number order (plus up to 1 s of jitter), so each insert block lands in
  -- one or two day partitions and the raw table is written as a few large sorted parts
  fromUnixTimestamp64Milli(toInt64({start_ms:Int64} + intDiv(number * {span_ms:UInt64}, {n:UInt64}) + cityHash64(number, 2) % 1000), 'UTC') AS ts,
  concat('dev-', toString(dev)) AS device_id, type,
  if(type = 'event', ${skewed(['level_up', 'tutorial_done', 'share', 'add_to_cart', 'search', 'invite', 'rate', 'login', 'logout', 'settings'], u(6), 1.5)}, '') AS name,
  country, os, app_version,
  if(type = 'purchase', multiIf(${u(6)} < 0.7, 'USD', ${u(6)} < 0.9, 'EUR', 'GBP'), '') AS currency,
  if(type = 'error', ${skewed(['ANR', 'NullPointer', 'OutOfMemory', 'Network', 'Timeout'], u(6), 1.5)}, '') AS error_type,
  multiIf(type IN ('impression', 'click'), ev_channel, type = 'install' AND install_kind != 'reinstall', dev_channel,
          dev_rejected OR ${u(5)} < 0.05, '', dev_channel) AS channel,
  multiIf(type IN ('impression', 'click'), ev_campaign, type = 'install' AND install_kind != 'reinstall', dev_campaign,
          dev_rejected OR ${u(5)} < 0.05, '', dev_campaign) AS campaign_id,
  if(install_kind = 'rejected', dev_fraud, '') AS fraud_reason,
  install_kind,
  if(type = 'purchase', toInt64(99 + cityHash64(number, 8) % 9900) * 10000, 0) AS revenue_micros
FROM (
  SELECT number,
    -- one device per session of {session:UInt64} consecutive events; activity skewed toward low device numbers
    toUInt64(floor({devices:UInt64} * pow((cityHash64(intDiv(number, {session:UInt64}), 1) % 1000003) / 1000003, 1.6))) AS dev,
    multiIf(${d(1)} < 0.5, 'bench-a', ${d(1)} < 0.8, 'bench-b', 'bench-c') AS app_id,
    ${skewed(COUNTRIES, d(2), 2.2)} AS country,
    if(${d(3)} < 0.6, 'android', 'ios') AS os,
    ${skewed(['3.4.0', '3.3.2', '3.3.1', '3.2.0', '2.9.9'], d(4), 1.8)} AS app_version,
    if(${d(5)} < 0.55, 'organic', ${skewed(PAID, `(${d(6)})`, 1.3)}) AS dev_channel,
    if(dev_channel = 'organic', '', concat(dev_channel, '-c', toString(cityHash64(dev, 7) % 5))) AS dev_campaign,
    dev_channel != 'organic' AND ${d(8)} < 0.08 AS dev_rejected,
    ['click_injection', 'click_flooding', 'blocked_ip'][1 + cityHash64(dev, 9) % 3] AS dev_fraud,
    ${skewed(PAID, `(${u(7)})`, 1.3)} AS ev_channel,
    concat(ev_channel, '-c', toString(cityHash64(number, 9) % 5)) AS ev_campaign,
    multiIf(${u(3)} < 0.25, 'impression', ${u(3)} < 0.35, 'click', ${u(3)} < 0.37, 'install', ${u(3)} < 0.67, 'launch',
            ${u(3)} < 0.92, 'event', ${u(3)} < 0.95, 'purchase', 'error') AS type,
    multiIf(type != 'install', '', ${u(4)} < 0.1, 'reinstall', dev_channel = 'organic', 'organic', dev_rejected, 'rejected', 'attributed') AS install_kind
  FROM numbers_mt({n:UInt64})
)
SETTINGS max_insert_threads = 2, max_threads = 2`;

const VIEW_COLUMNS = 'app_id, hour, type, name, country, os, app_version, currency, error_type, channel, campaign_id, fraud_reason, install_kind';
/** One hourly view from the raw events of [lo, hi) days, as the batch job and the speed MV aggregate them. */
/** Batch days go into hourly_batch_data as the generation of the run 'bench', which covers them. */
const fillView = (table: 'hourly_batch' | 'hourly_rt') => `INSERT INTO ${table === 'hourly_rt' ? 'hourly_rt' : 'hourly_batch_data'}
SELECT app_id, toStartOfHour(ts) AS hour, type, name, country, os, app_version, currency, error_type, channel, campaign_id, fraud_reason, install_kind,
       toUInt64(count()) AS events, sum(revenue_micros) AS revenue_micros, uniqExactState(device_id) AS uv${table === 'hourly_rt' ? '' : ", 'bench' AS run_id"}
FROM ${RAW_TABLE} WHERE toDate(ts) = {day:Date}
GROUP BY ${VIEW_COLUMNS}
-- rows are unique per key already: merging them again on insert would only copy every state
SETTINGS optimize_on_insert = 0`;

const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

async function count(ch: ClickHouseClient, sql: string): Promise<number> {
  const rs = await ch.query({ query: sql, format: 'JSONEachRow' });
  return Number((await rs.json<{ n: number | string }>())[0].n);
}

export async function generateServingData(ch: ClickHouseClient, o: ServingDataOptions, say: (l: string) => void): Promise<ServingDataReport> {
  let t = performance.now();
  await ch.command({ query: CREATE_RAW });
  await ch.command({
    query: INSERT_RAW,
    query_params: { n: o.events, devices: o.devices, session: o.sessionEvents, start_ms: o.startMs, span_ms: o.days * 86_400_000 },
  });
  const rawSeconds = (performance.now() - t) / 1000;
  say(`raw events: ${o.events.toLocaleString('en-US')} in ${rawSeconds.toFixed(1)} s`);

  // One INSERT … SELECT per day: the same GROUP BY as a single statement, with the memory of
  // one day's states at a time (the batch layer also replaces views one day at a time).
  t = performance.now();
  const days = Array.from({ length: o.days }, (_, i) => dayOf(o.startMs + i * 86_400_000));
  const batchDays = days.slice(0, o.days - o.speedDays);
  for (const day of days) {
    await ch.command({ query: fillView(batchDays.includes(day) ? 'hourly_batch' : 'hourly_rt'), query_params: { day } });
  }
  await markCovered(ch, batchDays, 'bench');
  const viewSeconds = (performance.now() - t) / 1000;

  const rawRows = await count(ch, `SELECT count() AS n FROM ${RAW_TABLE}`);
  const batchRows = await count(ch, 'SELECT count() AS n FROM hourly_batch');
  const rtRows = await count(ch, 'SELECT count() AS n FROM hourly_rt');
  const uvEntries = await count(ch, 'SELECT (SELECT sum(finalizeAggregation(uv)) FROM hourly_batch) + (SELECT sum(finalizeAggregation(uv)) FROM hourly_rt) AS n');
  say(
    `views: hourly_batch ${batchRows.toLocaleString('en-US')} rows (${batchDays.length} covered days), hourly_rt ${rtRows.toLocaleString('en-US')} rows, ` +
      `${uvEntries.toLocaleString('en-US')} stored uv entries, in ${viewSeconds.toFixed(1)} s`,
  );
  return { rawRows, batchRows, rtRows, batchDays, uvEntries, seconds: { raw: rawSeconds, views: viewSeconds } };
}
