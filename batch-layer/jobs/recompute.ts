/**
 * The recompute of a window of UTC days, entirely in ClickHouse over the archive files it
 * needs (read-range.ts), in tables of its own named after the run (sql/*.sql, in order):
 *   00 the run's scratch and staging tables (MergeTree: a large window spills to disk)
 *   01 rows that do not count: repeats of a Kafka record archived twice, non-winning copies
 *   02 the first install before the window of each device with events in it (earlier runs' state)
 *   03 first installs in the window with their device match (rules 1, 2)
 *   04 the probabilistic match of installs without a device match (rule 3)
 *   05 one decision per first install (rules 4, 5)
 *   06 the hourly view of the window's events, with derived dimensions → hourly_batch_staging_<run>
 *   07 the window's first installs → attributions_batch_staging_<run>
 *   08 input statistics
 * Each step reads the pinned files itself, only the columns it needs: ClickHouse reads an Arrow
 * file's columns separately, and a few reads of the page-cached files cost far less than one
 * copy of every row into a table (measured with `npm run bench -- batch`). On S3 each read is
 * a download of the range's files (a ClickHouse server can be given a filesystem cache for them).
 * then the staged days are published together (view-generations.ts) and the run's tables
 * dropped; a run that dies before the switch leaves the views as they were.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { queryRows } from '../../infra/clickhouse/client';
import { splitStatements } from '../../infra/clickhouse/sql-statements';
import type { ObjectStore } from '../../infra/object-store/object-store';
import { takeArchiveSnapshot } from '../archive-snapshot';
import { appRuleParams, type AppRuleSettings } from '../../rules/app-rules';
import { pinFiles, pinnedSourceSql, readSettingsSql } from './archive-source';
import { formatDay } from '../days';
import { UNCOUNTED_TYPES } from '../../schemas/event';
import { readRange } from './read-range';
import { loadSql, renderSql, runTableSuffix } from './sql-template';
import { dropRunTables, publishRun, type LeaseCheck } from './view-generations';

export interface RecomputeInput {
  /** Names the run's tables and its generation of the batch views. */
  runId: string;
  /** Consecutive UTC days, ascending. */
  days: readonly string[];
  /** Global IP_BLOCKLIST (CIDRs). */
  ipBlocklist: readonly string[];
  /** LOOKBACK_DAYS: the lookback of apps without their own. */
  lookbackDays: number;
  /** DEDUP_HORIZON_DAYS. */
  horizonDays: number;
  graceMinutes: number;
  /** decided_at of the attribution rows. */
  now: number;
}

export interface RecomputeStats {
  rows_read: number;
  duplicates_dropped: number;
  late_events: number;
  input_files: number;
}

export interface RecomputeHooks {
  /** Runs after staging is complete and before the first swap (tests kill a run here). */
  beforeSwap?: () => Promise<void>;
  /** Checked right before each statement that changes the views; false: write nothing more. */
  stillHeld?: LeaseCheck;
}

/** WEIR_BATCH_PROFILE=1 prints each step's wall time to stderr. */
const PROFILE = process.env.WEIR_BATCH_PROFILE === '1';

const STEPS = [
  '01-duplicate-losers.sql',
  '02-prior-installs.sql',
  '03-installs.sql',
  '04-probabilistic.sql',
  '05-attribution.sql',
  '06-hourly.sql',
  '07-attributions.sql',
] as const;

export async function recomputeDays(ch: ClickHouseClient, store: ObjectStore, input: RecomputeInput, hooks: RecomputeHooks = {}): Promise<RecomputeStats> {
  const days = [...input.days];
  const apps = await loadAppSettings(ch);
  const longestLookback = Math.max(input.lookbackDays, ...apps.map((a) => a.lookback_days));
  const range = readRange(days, longestLookback, input.horizonDays);
  const snapshot = await takeArchiveSnapshot(store, range.days);

  const pinned = await pinFiles(ch, snapshot.files);
  const run = runTableSuffix(input.runId);
  const losers = `batch_scratch_losers_${run}`;
  // The archiver files every event under the UTC day of its corrected time, so a step that
  // reads only the window's events, or only the clicks from the lookback on, reads only those
  // days' files; dedup alone reads them all.
  const windowDays = days;
  const clickRangeDays = range.days.filter((d) => d >= formatDay(range.clickFromMs) && d <= days[days.length - 1]);
  // Every row of the pinned files of `of` but the uncounted types (identify, group, alias:
  // DESIGN.md section 3a), which stay in the archive and never reach a step, view or statistic.
  const rowsOf = (of?: readonly string[]) =>
    `(SELECT * FROM ${pinnedSourceSql(store, pinned, of).sql} WHERE type NOT IN {uncounted_types:Array(String)})`;
  // The winning copies: the rows that are no repeat of a record and no non-winning copy (01).
  // The test by position alone comes first: a set of three keys costs several times one of two
  // per row, and only a loser's position needs the file compared as well.
  const countedOf = (of: readonly string[]) => `(SELECT * FROM ${rowsOf(of)}
    WHERE NOT ((kafka_partition, kafka_offset) IN (SELECT kafka_partition, kafka_offset FROM ${losers})
               AND (kafka_partition, kafka_offset, file_hash) IN (SELECT kafka_partition, kafka_offset, file_hash FROM ${losers})))`;
  const fragments = {
    ROWS: rowsOf(),
    WINDOW_ROWS: rowsOf(windowDays),
    WINDOW_COUNTED: countedOf(windowDays),
    CLICK_RANGE_COUNTED: countedOf(clickRangeDays),
    SETTINGS: readSettingsSql(store),
    RUN: run,
  };
  const params: Record<string, unknown> = {
    ...pinnedSourceSql(store, pinned).params,
    uncounted_types: UNCOUNTED_TYPES,
    run_id: input.runId,
    window_start_ms: range.windowStartMs,
    window_end_ms: range.windowEndMs,
    click_from_ms: range.clickFromMs,
    horizon_ms: input.horizonDays * 86_400_000,
    decided_at_ms: input.now,
    grace_ms: input.graceMinutes * 60_000,
    ...appRuleParams(apps, { lookbackDays: input.lookbackDays, ipBlocklist: input.ipBlocklist }),
  };

  await dropRunTables(ch, input.runId);
  try {
    for (const stmt of splitStatements(renderSql(loadSql('00-scratch-tables.sql'), fragments))) await ch.command({ query: stmt });
    for (const step of STEPS) {
      const query = renderSql(loadSql(step), fragments);
      const t = Date.now();
      const cpu = process.cpuUsage();
      await ch.command({ query, query_params: pick(query, params) });
      // CPU time of this process: with the embedded engine, the step's own (noisy machines).
      if (PROFILE) process.stderr.write(`[recompute] ${step} ${Date.now() - t} ms, ${Math.round(cpuMs(process.cpuUsage(cpu)))} ms CPU\n`);
    }
    const statsQuery = renderSql(loadSql('08-input-stats.sql'), fragments);
    const [stats] = await queryRows<Omit<RecomputeStats, 'input_files'>>(ch, statsQuery, pick(statsQuery, params));
    await hooks.beforeSwap?.();
    await publishRun(ch, input.runId, days, hooks.stillHeld ?? (async () => true));
    return {
      rows_read: Number(stats.rows_read),
      duplicates_dropped: Number(stats.duplicates_dropped),
      late_events: Number(stats.late_events),
      input_files: snapshot.files.length,
    };
  } finally {
    // Scratch holds a copy of every input row: free it, also when the run failed.
    await dropRunTables(ch, input.runId).catch(() => undefined);
  }
}

const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;

/** Only the parameters a statement names: ClickHouse rejects none, but the big file lists need not travel with every statement. */
function pick(query: string, params: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const m of query.matchAll(/\{([a-z_]+):/g)) if (m[1] in params) out[m[1]] = params[m[1]];
  return out;
}

/** Per-app lookback and IP blocklist, read once per run so every step decides alike. */
async function loadAppSettings(ch: ClickHouseClient): Promise<AppRuleSettings[]> {
  const rows = await queryRows<AppRuleSettings>(ch, 'SELECT app_id, lookback_days, ip_blocklist FROM apps FINAL ORDER BY app_id');
  return rows.map((r) => ({ ...r, lookback_days: Number(r.lookback_days) }));
}
