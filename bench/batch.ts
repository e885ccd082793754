/**
 * Batch-layer benchmark: a multi-day master dataset (default 10M events, `BENCH_EVENTS`
 * overrides) written as Arrow archive files straight by ClickHouse (`INSERT INTO FUNCTION
 * file(…)`: generating through Kafka would take far longer than the run being measured), then
 * one recompute of all its days, and for comparison over the same files a plain scan of one
 * column (`SELECT count(), sum(ts)`, the baseline) and the floor: the hourly grouping of the
 * raw events by their own dimensions alone, a part of what every exact recompute must do.
 * Prints and returns `{ suite, events_per_s, bytes_per_event, … }`.
 *
 * The dataset mimics generated traffic: 6 Kafka partitions, 3 days, ~5 % installs, ~25 %
 * clicks, 2 % duplicate copies, devices with several events each, a few apps. Files are
 * written with ZSTD compression (ClickHouse reads it; the archiver writes uncompressed Arrow
 * only because apache-arrow 21.2.0's compressed IPC is unreadable, see FIELD-NOTES).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { recomputeDays } from '../batch-layer/jobs/recompute';
import { createClickHouse, queryRows } from '../infra/clickhouse/client';
import { migrate } from '../infra/clickhouse/migrate';
import { createObjectStore, sqlStringLiteral, tableFunctionSql } from '../infra/object-store/object-store';
import { ARCHIVE_PREFIX, archiveKey, archiverStateKey } from '../schemas/archive-layout';
import { clickhouseColumns } from '../schemas/event';
import { fmt } from './support/format';

const PARTITIONS = 6;
const DAYS = ['2026-01-08', '2026-01-09', '2026-01-10'];

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

/** The hourly grouping of raw events by their own dimensions, with exact distinct devices. */
const FLOOR_SQL = (source: string) => `
SELECT sum(events) AS events FROM (
  SELECT toStartOfHour(toDateTime(intDiv(ts, 1000), 'UTC')) AS hour, app_id, type, name, country, os, app_version, currency,
         error_type, channel, campaign_id, count() AS events, sum(revenue_micros) AS revenue, uniqExactState(device_id) AS uv
  FROM ${source}
  GROUP BY hour, app_id, type, name, country, os, app_version, currency, error_type, channel, campaign_id
)`;

export async function runBatchBench(): Promise<Record<string, number | string>> {
  const total = Number(process.env.BENCH_EVENTS ?? 10_000_000);
  if (!Number.isSafeInteger(total) || total < PARTITIONS * DAYS.length) throw new Error(`BENCH_EVENTS must be an integer ≥ ${PARTITIONS * DAYS.length}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weir-bench-batch-'));
  const ch = createClickHouse({ dataDir: dir, clickhouse: { url: undefined, database: 'weir' } });
  const store = createObjectStore(`file://${path.join(dir, 'archive')}`);
  try {
    await migrate(ch.client);
    const perFile = Math.floor(total / (PARTITIONS * DAYS.length));
    const t0 = Date.now();
    for (let p = 0; p < PARTITIONS; p++) {
      for (const [i, day] of DAYS.entries()) {
        const first = i * perFile;
        const key = archiveKey(day, p, first, first + perFile - 1);
        await store.put(key, Buffer.alloc(0)); // creates the day directory
        const target = `file(${sqlStringLiteral(path.join(dir, 'archive', key))}, 'Arrow', ${sqlStringLiteral(clickhouseColumns())})`;
        await ch.client.command({
          query: `INSERT INTO FUNCTION ${target} ${GENERATE_SQL}`,
          query_params: { p, offset0: first, day_ms: Date.parse(`${day}T00:00:00Z`), rows: perFile, devices: Math.max(1, Math.floor(total / 12)) },
        });
      }
      await store.put(archiverStateKey(p), Buffer.from(JSON.stringify({ next: DAYS.length * perFile })));
    }
    const events = perFile * PARTITIONS * DAYS.length;
    const archiveBytes = dirBytes(path.join(dir, 'archive', ARCHIVE_PREFIX));
    const generateS = (Date.now() - t0) / 1000;

    const t1 = Date.now();
    const stats = await recomputeDays(ch.client, store, {
      runId: 'bench',
      days: DAYS,
      ipBlocklist: ['10.199.0.0/16'],
      lookbackDays: 7,
      horizonDays: 7,
      graceMinutes: 15,
      now: Date.now(),
    });
    const recomputeS = (Date.now() - t1) / 1000;

    const source = tableFunctionSql(store.clickhouseSource(`${ARCHIVE_PREFIX}*/*.arrow`), 'Arrow', clickhouseColumns());
    const t2 = Date.now();
    // Reads a real column: a bare count() is answered from the files' metadata.
    const [{ n }] = await queryRows<{ n: string }>(ch.client, `SELECT count() AS n, sum(ts) AS s FROM ${source}`);
    const scanS = (Date.now() - t2) / 1000;
    // The floor: the hourly grouping alone, of the raw events by their own dimensions (no
    // dedup, no attribution, no derived dimensions, nothing written). Every exact recompute
    // does at least this much work, so no recompute can run faster than this figure.
    const t3 = Date.now();
    const [floor] = await queryRows<{ events: string }>(ch.client, FLOOR_SQL(source));
    const floorS = (Date.now() - t3) / 1000;
    const [views] = await queryRows<{ bytes: string }>(
      ch.client,
      `SELECT sum(bytes_on_disk) AS bytes FROM system.parts WHERE active AND table IN ('hourly_batch_data', 'attributions_batch_data')`,
    );
    if (Number(n) !== events || Number(floor.events) !== events || stats.rows_read !== events) throw new Error(`scan, recompute and floor read ${n} / ${stats.rows_read} / ${floor.events} rows, wrote ${events}`);

    const result = {
      suite: 'batch',
      events,
      events_per_s: Math.round(events / recomputeS),
      bytes_per_event: round(archiveBytes / events),
      view_bytes_per_event: round(Number(views.bytes) / events),
      scan_baseline_events_per_s: Math.round(events / scanS),
      floor_events_per_s: Math.round(events / floorS),
      recompute_s: round(recomputeS),
      generate_s: round(generateS),
      duplicates_dropped: stats.duplicates_dropped,
      input_files: stats.input_files,
    };
    const perS = (x: number) => `${fmt(x)} events/s`;
    process.stdout.write(
      `recompute of ${fmt(events)} events: ${perS(events / recomputeS)} (${round(recomputeS)} s); ` +
        `scan baseline ${perS(events / scanS)}; floor (hourly grouping alone) ${perS(events / floorS)} (${round(floorS)} s); ` +
        `recompute / floor ${round(floorS / recomputeS)}\n`,
    );
    process.stdout.write(`${JSON.stringify(result)}\n`);
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
  runBatchBench().catch((err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
