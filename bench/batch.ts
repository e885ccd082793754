/**
 * Batch-layer benchmark: a master dataset of daily Arrow files (default 1M events a day,
 * `BENCH_EVENTS_PER_DAY`; `BENCH_EVENTS` = three days' worth for a quick run) written straight
 * by ClickHouse (`INSERT INTO FUNCTION file(…)`: generating through Kafka would take far longer
 * than the runs being measured), then the recompute of its newest 3 days, twice: over 10 days
 * of archive and, after 80 older days were added, over 90 (`BENCH_HISTORY_DAYS`). A run reads
 * what its days need, so the two should cost the same: `history_growth_time` and
 * `history_growth_rss` are the 90-day figures divided by the 10-day ones (peak RSS of this
 * process, which holds the embedded engine, sampled during the run). In the same run, over the
 * window's files: a plain scan of one column (`count(), sum(ts)`, the baseline) and the floor,
 * the hourly grouping of the raw events by their own dimensions alone, a part of what every
 * exact recompute must do (`floor_ratio` = recompute events/s ÷ floor events/s), and the rules
 * floor: the floor plus the two other groupings DESIGN.md's rules force on every exact
 * recompute of the window, each reading only the columns it needs and writing nothing: the
 * dedup keys of every row the run must read (section 3: copies within the horizon, whatever
 * their day) and the clicks of the click range by device (rule 2). No recompute can beat it, so
 * `floor_ratio_bound` = floor time ÷ rules floor time is the highest `floor_ratio` any exact
 * recompute could reach on this machine in this run. Last, what the
 * master dataset costs per event as the real archiver writes it and after compaction
 * (`archive_bytes_per_event`, bench/support/archive-bytes.ts; `BENCH_ARCHIVE_EVENTS=0` skips it).
 *
 * The dataset mimics generated traffic: 6 Kafka partitions, ~5 % installs, ~25 % clicks, 2 %
 * duplicate copies, devices with several events each, a few apps. Files are written with ZSTD
 * compression, as compaction leaves them (batch-layer/jobs/compact-archive.ts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatDay } from '../batch-layer/days';
import { readRange } from '../batch-layer/jobs/read-range';
import { recomputeDays } from '../batch-layer/jobs/recompute';
import { createClickHouse, queryRows } from '../infra/clickhouse/client';
import { migrate } from '../infra/clickhouse/migrate';
import { createObjectStore, sqlStringLiteral, tableFunctionSql } from '../infra/object-store/object-store';
import { ARCHIVE_PREFIX, archiveKey, archiverStateKey } from '../schemas/archive-layout';
import { clickhouseColumns } from '../schemas/event';
import { measureArchiveBytes } from './support/archive-bytes';
import { fmt } from './support/format';

const PARTITIONS = 6;
const DAY_MS = 86_400_000;
/** The newest day of the generated history. */
const LAST_DAY_MS = Date.parse('2026-01-10T00:00:00Z');

/** One file's rows: event n of partition p on day d (offsets continue across days). */
const GENERATE_SQL = `
SELECT
  -- 2 % of events are a second copy of the previous event id (a client retry)
  concat('ev-', toString({p:UInt32}), '-', toString(if(n % 50 = 7, n - 1, n) + {offset0:UInt64})) AS event_id,
  concat('app', toString(device % 4)) AS app_id,
  multiIf(k < 5, 'install', k < 30, 'click', k < 40, 'impression', k < 75, 'launch', k < 88, 'event', k < 93, 'purchase', 'error') AS type,
  toInt64({day_ms:Int64} + intDiv(n * 86399, {rows:UInt64}) * 1000 + n % 1000) AS ts,
  ts AS client_ts,
  toInt64(0) AS sent_at,
  ts + 200 + (n % 97) * 50 AS received_at,
  concat('device-', toString(device)) AS device_id,
  concat('10.', toString(device % 200), '.', toString(device % 250), '.', toString(device % 7)) AS ip,
  concat('Mozilla/5.0 (Linux; Android ', toString(10 + device % 5), ')') AS ua,
  if(device % 3 = 0, 'ios', 'android') AS os,
  toString(10 + device % 8) AS os_version,
  concat('2.', toString(device % 12)) AS app_version,
  ['US', 'DE', 'IN', 'BR', 'JP', 'GB', 'FR', ''][1 + device % 8] AS country,
  if(type IN ('click', 'impression'), concat('cmp-', toString(device % 40)), '') AS campaign_id,
  if(type IN ('click', 'impression'), ['meta', 'google', 'tiktok', 'unity', 'applovin'][1 + device % 5], '') AS channel,
  if(type = 'event', ['level_up', 'tutorial', 'share'][1 + n % 3], '') AS name,
  toInt64(if(type = 'purchase', (n % 100) * 10000 + 990000, 0)) AS revenue_micros,
  if(type = 'purchase', ['USD', 'EUR'][1 + n % 2], '') AS currency,
  if(type = 'error', ['NPE', 'OOM', 'Timeout'][1 + n % 3], '') AS error_type,
  if(type = 'error', 'something failed', '') AS error_message,
  if(type = 'error', lower(hex(cityHash64(error_type))), '') AS fingerprint,
  '' AS properties,
  toInt32({p:UInt32}) AS kafka_partition,
  toInt64(n + {offset0:UInt64}) AS kafka_offset
FROM (SELECT number AS n, cityHash64(number, {p:UInt32}, {day_ms:Int64}) % 100 AS k,
             (cityHash64(intDiv(number, 8), {p:UInt32}) % {devices:UInt64}) AS device
      FROM numbers({rows:UInt64}))
SETTINGS output_format_arrow_compression_method = 'zstd', output_format_arrow_low_cardinality_as_dictionary = 1,
         output_format_arrow_string_as_string = 1, engine_file_truncate_on_insert = 1`;

/** Rule 2's least work: every click of the click range keyed by its device. */
const DEVICE_CLICKS_SQL = (source: string) => `
SELECT count() AS devices FROM (SELECT app_id, device_id, max(ts) FROM ${source} WHERE type = 'click' GROUP BY app_id, device_id)`;

/** Section 3's least work: every row the run reads keyed by (app_id, event_id), the repeated keys kept. */
const DEDUP_KEYS_SQL = (source: string) => `
SELECT count() AS keys FROM (SELECT cityHash64(app_id, event_id) AS k FROM ${source} GROUP BY k HAVING count() > 1)`;

/** The hourly grouping of raw events by their own dimensions, with exact distinct devices. */
const FLOOR_SQL = (source: string) => `
SELECT sum(events) AS events FROM (
  SELECT toStartOfHour(toDateTime(intDiv(ts, 1000), 'UTC')) AS hour, app_id, type, name, country, os, app_version, currency,
         error_type, channel, campaign_id, count() AS events, sum(revenue_micros) AS revenue, uniqExactState(device_id) AS uv
  FROM ${source}
  GROUP BY hour, app_id, type, name, country, os, app_version, currency, error_type, channel, campaign_id
)`;

const WINDOW_DAYS = 3;
const SHORT_HISTORY_DAYS = 10;

export async function runBatchBench(): Promise<Record<string, number | string>> {
  const perDay = process.env.BENCH_EVENTS ? Math.floor(Number(process.env.BENCH_EVENTS) / WINDOW_DAYS) : Number(process.env.BENCH_EVENTS_PER_DAY ?? 1_000_000);
  const historyDays = Number(process.env.BENCH_HISTORY_DAYS ?? 90);
  if (!Number.isSafeInteger(perDay) || perDay < PARTITIONS) throw new Error(`BENCH_EVENTS_PER_DAY must be an integer ≥ ${PARTITIONS}`);
  if (!Number.isSafeInteger(historyDays) || historyDays <= SHORT_HISTORY_DAYS) throw new Error(`BENCH_HISTORY_DAYS must be an integer > ${SHORT_HISTORY_DAYS}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weir-bench-batch-'));
  const ch = createClickHouse({ dataDir: dir, clickhouse: { url: undefined, database: 'weir' } });
  const store = createObjectStore(`file://${path.join(dir, 'archive')}`);
  // Day i of the history (0 = oldest); the window is the newest WINDOW_DAYS days.
  const dayOf = (i: number) => new Date(LAST_DAY_MS - (historyDays - 1 - i) * DAY_MS).toISOString().slice(0, 10);
  const window = Array.from({ length: WINDOW_DAYS }, (_, k) => dayOf(historyDays - WINDOW_DAYS + k));
  const perFile = Math.floor(perDay / PARTITIONS);
  const devices = Math.max(1, Math.floor((perDay * WINDOW_DAYS) / 12));

  async function writeDays(from: number, to: number): Promise<void> {
    for (let i = from; i < to; i++) {
      const day = dayOf(i);
      for (let p = 0; p < PARTITIONS; p++) {
        const first = i * perFile;
        const key = archiveKey(day, p, first, first + perFile - 1);
        await store.put(key, Buffer.alloc(0)); // creates the day directory
        const target = `file(${sqlStringLiteral(path.join(dir, 'archive', key))}, 'Arrow', ${sqlStringLiteral(clickhouseColumns())})`;
        await ch.client.command({
          query: `INSERT INTO FUNCTION ${target} ${GENERATE_SQL}`,
          query_params: { p, offset0: first, day_ms: Date.parse(`${day}T00:00:00Z`), rows: perFile, devices },
        });
      }
    }
    for (let p = 0; p < PARTITIONS; p++) await store.put(archiverStateKey(p), Buffer.from(JSON.stringify({ next: historyDays * perFile })));
  }

  let runs = 0;
  async function recompute(): Promise<{ s: number; peakRss: number; stats: Awaited<ReturnType<typeof recomputeDays>> }> {
    let peakRss = process.memoryUsage.rss();
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 20);
    const t = Date.now();
    try {
      const stats = await recomputeDays(ch.client, store, {
        runId: `bench-${++runs}`,
        days: window,
        ipBlocklist: ['10.199.0.0/16'],
        lookbackDays: 7,
        horizonDays: 7,
        graceMinutes: 15,
        now: Date.now(),
      });
      return { s: (Date.now() - t) / 1000, peakRss, stats };
    } finally {
      clearInterval(sampler);
    }
  }

  try {
    await migrate(ch.client);
    const t0 = Date.now();
    await writeDays(historyDays - SHORT_HISTORY_DAYS, historyDays);
    const generateS = (Date.now() - t0) / 1000;
    const events = perFile * PARTITIONS * WINDOW_DAYS;
    const globOf = (days: readonly string[]) => `${ARCHIVE_PREFIX}{${days.map((d) => `dt=${d}`).join(',')}}/*.arrow`;
    const windowGlob = globOf(window);
    // What the bench's runs read (lookback and horizon 7 days), within the history written.
    const range = readRange(window, 7, 7);
    const written = new Set(Array.from({ length: historyDays }, (_, i) => dayOf(i)).slice(historyDays - SHORT_HISTORY_DAYS));
    const readDays = range.days.filter((d) => written.has(d));
    const clickDays = readDays.filter((d) => d >= formatDay(range.clickFromMs));
    const archiveBytes = window.reduce((sum, d) => sum + dirBytes(path.join(dir, 'archive', ARCHIVE_PREFIX, `dt=${d}`)), 0);

    await recompute(); // warm-up: both measured runs find the engine and the page cache warm
    const short = await recompute();

    const source = tableFunctionSql(store.clickhouseSource(windowGlob), 'Arrow', clickhouseColumns());
    const t2 = Date.now();
    // Reads a real column: a bare count() is answered from the files' metadata.
    const [{ n }] = await queryRows<{ n: string }>(ch.client, `SELECT count() AS n, sum(ts) AS s FROM ${source}`);
    const scanS = (Date.now() - t2) / 1000;
    // The floor: the hourly grouping alone, of the raw events of the window by their own
    // dimensions (no dedup, no attribution, no derived dimensions, nothing written). Every
    // exact recompute does at least this much work, so no recompute can run faster than this.
    const t3 = Date.now();
    const [floor] = await queryRows<{ events: string }>(ch.client, FLOOR_SQL(source));
    const floorS = (Date.now() - t3) / 1000;
    const sourceOf = (days: readonly string[]) => tableFunctionSql(store.clickhouseSource(globOf(days)), 'Arrow', clickhouseColumns());
    const t4 = Date.now();
    await queryRows(ch.client, DEDUP_KEYS_SQL(sourceOf(readDays)));
    await queryRows(ch.client, DEVICE_CLICKS_SQL(sourceOf(clickDays)));
    const rulesFloorS = (Date.now() - t4) / 1000 + floorS;
    const [views] = await queryRows<{ bytes: string }>(
      ch.client,
      `SELECT sum(bytes_on_disk) AS bytes FROM system.parts WHERE active AND table IN ('hourly_batch_data', 'attributions_batch_data')`,
    );
    if (Number(n) !== events || Number(floor.events) !== events) throw new Error(`scan and floor read ${n} / ${floor.events} rows, wrote ${events}`);

    process.stdout.write(`adding ${historyDays - SHORT_HISTORY_DAYS} older days of ${fmt(perDay)} events …\n`);
    await writeDays(0, historyDays - SHORT_HISTORY_DAYS);
    const long = await recompute();
    if (long.stats.rows_read !== short.stats.rows_read) {
      process.stdout.write(`note: the run over ${historyDays} days read ${long.stats.rows_read} rows, over ${SHORT_HISTORY_DAYS} days ${short.stats.rows_read}\n`);
    }

    const archive = Number(process.env.BENCH_ARCHIVE_EVENTS ?? 1) > 0 ? await measureArchiveBytes(ch.client, dir, (l) => process.stdout.write(`${l}\n`)) : undefined;

    const eventsPerS = events / short.s;
    const result = {
      suite: 'batch',
      events,
      events_per_day: perFile * PARTITIONS,
      events_per_s: Math.round(eventsPerS),
      bytes_per_event: round(archiveBytes / events),
      view_bytes_per_event: round(Number(views.bytes) / events),
      scan_baseline_events_per_s: Math.round(events / scanS),
      floor_events_per_s: Math.round(events / floorS),
      floor_ratio: round(eventsPerS / (events / floorS)),
      rules_floor_events_per_s: Math.round(events / rulesFloorS),
      floor_ratio_bound: round(floorS / rulesFloorS),
      recompute_s: round(short.s),
      recompute_long_history_s: round(long.s),
      history_growth_time: round(long.s / short.s),
      history_growth_rss: round(long.peakRss / short.peakRss),
      peak_rss_mb: Math.round(short.peakRss / 2 ** 20),
      peak_rss_long_history_mb: Math.round(long.peakRss / 2 ** 20),
      rows_read: short.stats.rows_read,
      rows_read_long_history: long.stats.rows_read,
      generate_s: round(generateS),
      archive_bytes_per_event: archive?.compactedBytesPerEvent ?? 'not measured',
      archive_raw_bytes_per_event: archive?.rawBytesPerEvent ?? 'not measured',
      archive_floor_bytes_per_event: archive?.floorBytesPerEvent ?? 'not measured',
      archive_events: archive?.events ?? 0,
      duplicates_dropped: short.stats.duplicates_dropped,
      input_files: short.stats.input_files,
    };
    const perS = (x: number) => `${fmt(x)} events/s`;
    process.stdout.write(
      `recompute of ${WINDOW_DAYS} days (${fmt(events)} events) over ${SHORT_HISTORY_DAYS} days of archive: ${perS(eventsPerS)} (${round(short.s)} s, peak RSS ${result.peak_rss_mb} MB); ` +
        `over ${historyDays} days: ${round(long.s)} s, peak RSS ${result.peak_rss_long_history_mb} MB (growth ${result.history_growth_time}× time, ${result.history_growth_rss}× RSS); ` +
        `scan baseline ${perS(events / scanS)}; floor (hourly grouping alone) ${perS(events / floorS)} (${round(floorS)} s); recompute / floor ${result.floor_ratio}; ` +
        `rules floor (floor + dedup keys of the ${readDays.length} days read + clicks by device) ${perS(events / rulesFloorS)} (${round(rulesFloorS)} s): ` +
        `no exact recompute exceeds floor_ratio ${result.floor_ratio_bound} here\n`,
    );
    return result;
  } finally {
    await ch.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const round = (x: number) => Math.round(x * 100) / 100;

function dirBytes(root: string): number {
  let bytes = 0;
  for (const e of fs.readdirSync(root, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) bytes += fs.statSync(path.join(e.parentPath, e.name)).size;
  }
  return bytes;
}

if (require.main === module) {
  runBatchBench().then((r) => process.stdout.write(`${JSON.stringify(r)}\n`), (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
