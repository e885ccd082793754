/**
 * Batch coverage shared by the batch layer (writes) and serving (reads): the UTC days whose
 * batch views are in place, and the boundary = the end of the latest covered day.
 */
import type { ClickHouseClient } from '@clickhouse/client';

/**
 * The one table of covered days (migrations/003-batch.sql). Serving once read a table of its
 * own that the batch layer never wrote, so no report was ever answered from batch views.
 */
export const COVERAGE_TABLE = 'batch_covered_days';

export interface Coverage {
  /** ISO-8601 end of the latest covered day, or null when no day is covered. */
  boundary: string | null;
  /** Covered UTC days, `YYYY-MM-DD`, ascending. */
  covered_days: string[];
  /**
   * Per covered day, which run's views it holds (run id and time covered): it changes whenever
   * a run replaces the day's batch views, so results cached under it stay true (serving's
   * segment cache).
   */
  versions: ReadonlyMap<string, string>;
}

export async function readCoverage(ch: ClickHouseClient): Promise<Coverage> {
  const rs = await ch.query({
    query: `SELECT toString(day) AS day, concat(run_id, '@', toString(toUnixTimestamp64Milli(covered_at))) AS version FROM ${COVERAGE_TABLE} FINAL ORDER BY day`,
    format: 'JSONEachRow',
  });
  const rows = await rs.json<{ day: string; version: string }>();
  const last = rows[rows.length - 1]?.day;
  return {
    boundary: last ? new Date(Date.parse(`${last}T00:00:00Z`) + 86_400_000).toISOString() : null,
    covered_days: rows.map((r) => r.day),
    versions: new Map(rows.map((r) => [r.day, r.version])),
  };
}

export async function markCovered(ch: ClickHouseClient, days: string[], runId: string): Promise<void> {
  const now = new Date().toISOString().replace('T', ' ').replace('Z', '');
  await ch.insert({ table: COVERAGE_TABLE, values: days.map((day) => ({ day, run_id: runId, covered_at: now })), format: 'JSONEachRow' });
}
