/**
 * The recompute of a window of UTC days, entirely in ClickHouse over the pinned archive
 * files (sql/*.sql, in order):
 *   00 every input row, read once into a Memory scratch table with the columns needed
 *   01 non-winning copies of duplicated events (whole dataset)
 *   02 first installs up to the window's end with their device match (rules 1, 2)
 *   03 the probabilistic match of installs without a device match (rule 3), then one
 *      decision per first install (rules 4, 5)
 *   04 the hourly view of the window's events, with derived dimensions → hourly_batch_staging
 *   05 the window's first installs → attributions_batch_staging
 *   06 input statistics
 * then each day's partition is swapped into hourly_batch and attributions_batch with one
 * `REPLACE PARTITION` each, so readers see a day's old rows or its new ones, never a mix; a
 * run that dies before the swap leaves the views as they were (staging is rebuilt next time).
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { queryRows } from '../../infra/clickhouse/client';
import type { ObjectStore } from '../../infra/object-store/object-store';
import { DAY_MS, requireDay } from '../days';
import { normaliseCidrs } from '../ip-blocklist';
import type { ArchiveSnapshot } from '../archive-snapshot';
import { pinnedSource, readSettingsSql } from './archive-source';
import { loadSql, renderSql } from './sql-template';
import { UNCOUNTED_TYPES } from '../../schemas/event';

export interface RecomputeInput {
  /** Consecutive UTC days, ascending. */
  days: readonly string[];
  snapshot: ArchiveSnapshot;
  /** Global IP_BLOCKLIST (CIDRs). */
  ipBlocklist: readonly string[];
  /** LOOKBACK_DAYS: the lookback of apps without their own. */
  lookbackDays: number;
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
}

const SCRATCH_TABLES = [
  'batch_scratch_events',
  'batch_scratch_losers',
  'batch_scratch_installs',
  'batch_scratch_probabilistic',
  'batch_scratch_attribution',
] as const;
const STAGING = [
  { view: 'hourly_batch', staging: 'hourly_batch_staging', dayExpr: 'toDate(hour)' },
  { view: 'attributions_batch', staging: 'attributions_batch_staging', dayExpr: 'toDate(ts)' },
] as const;

/** WEIR_BATCH_PROFILE=1 prints each step's wall time to stderr. */
const PROFILE = process.env.WEIR_BATCH_PROFILE === '1';

const STEPS = [
  '00-load.sql',
  '01-duplicate-losers.sql',
  '02-installs.sql',
  '03-probabilistic.sql',
  '03-attribution.sql',
  '04-hourly.sql',
  '05-attributions.sql',
] as const;

export async function recomputeDays(ch: ClickHouseClient, store: ObjectStore, input: RecomputeInput, hooks: RecomputeHooks = {}): Promise<RecomputeStats> {
  const days = [...input.days];
  if (days.length === 0) throw new RangeError('recompute needs at least one day');
  const windowStart = requireDay(days[0]);
  const windowEnd = requireDay(days[days.length - 1]) + DAY_MS;

  const all = pinnedSource(store, input.snapshot.files, 'all_files');
  const fragments = { ALL: all.sql, SETTINGS: readSettingsSql(store) };
  const apps = await loadAppSettings(ch);
  const params: Record<string, unknown> = {
    ...all.params,
    uncounted_types: UNCOUNTED_TYPES,
    window_days: days,
    window_start_ms: windowStart,
    window_end_ms: windowEnd,
    decided_at_ms: input.now,
    grace_ms: input.graceMinutes * 60_000,
    default_lookback_days: input.lookbackDays,
    global_blocklist: normaliseCidrs(input.ipBlocklist, 'IP_BLOCKLIST'),
    app_ids: apps.map((a) => a.app_id),
    app_lookback_days: apps.map((a) => a.lookback_days),
    app_blocklists: apps.map((a) => normaliseCidrs(a.ip_blocklist, `ip_blocklist of app ${a.app_id}`)),
  };

  await truncate(ch, [...SCRATCH_TABLES, ...STAGING.map((s) => s.staging)]);
  try {
    for (const step of STEPS) {
      const query = renderSql(loadSql(step), fragments);
      const t = Date.now();
      await ch.command({ query, query_params: pick(query, params) });
      if (PROFILE) process.stderr.write(`[recompute] ${step} ${Date.now() - t} ms\n`);
    }
    const statsQuery = renderSql(loadSql('06-input-stats.sql'), fragments);
    const t = Date.now();
    const [stats] = await queryRows<Omit<RecomputeStats, 'input_files'>>(ch, statsQuery, pick(statsQuery, params));
    if (PROFILE) process.stderr.write(`[recompute] 06-input-stats.sql ${Date.now() - t} ms\n`);
    await hooks.beforeSwap?.();
    for (const day of days) await swapDay(ch, day);
    return {
      rows_read: Number(stats.rows_read),
      duplicates_dropped: Number(stats.duplicates_dropped),
      late_events: Number(stats.late_events),
      input_files: input.snapshot.files.length,
    };
  } finally {
    // Scratch holds a copy of every input row: free it, also when the run failed.
    await truncate(ch, SCRATCH_TABLES).catch(() => undefined);
  }
}

/**
 * Replaces one day of both views by the staging partition. REPLACE PARTITION refuses an
 * empty source partition (ClickHouse 26: it would silently drop the destination), so a
 * day without events drops the view's partition instead: one statement either way.
 */
async function swapDay(ch: ClickHouseClient, day: string): Promise<void> {
  for (const { view, staging, dayExpr } of STAGING) {
    const [{ n }] = await queryRows<{ n: number }>(ch, `SELECT count() AS n FROM ${staging} WHERE ${dayExpr} = {day:Date}`, { day });
    const query = Number(n) > 0 ? `ALTER TABLE ${view} REPLACE PARTITION {day:String} FROM ${staging}` : `ALTER TABLE ${view} DROP PARTITION {day:String}`;
    await ch.command({ query, query_params: { day } });
  }
}

async function truncate(ch: ClickHouseClient, tables: readonly string[]): Promise<void> {
  for (const t of tables) await ch.command({ query: `TRUNCATE TABLE ${t}` });
}

/** Only the parameters a statement names: ClickHouse rejects none, but the big file lists need not travel with every statement. */
function pick(query: string, params: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const m of query.matchAll(/\{([a-z_]+):/g)) if (m[1] in params) out[m[1]] = params[m[1]];
  return out;
}

interface AppSettingsRow {
  app_id: string;
  lookback_days: number;
  ip_blocklist: string[];
}

/** Per-app lookback and IP blocklist, read once per run so every step decides alike. */
async function loadAppSettings(ch: ClickHouseClient): Promise<AppSettingsRow[]> {
  const rows = await queryRows<AppSettingsRow>(ch, 'SELECT app_id, lookback_days, ip_blocklist FROM apps FINAL ORDER BY app_id');
  return rows.map((r) => ({ ...r, lookback_days: Number(r.lookback_days) }));
}
