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
}

export async function readCoverage(ch: ClickHouseClient): Promise<Coverage> {
  const rs = await ch.query({ query: `SELECT toString(day) AS day FROM ${COVERAGE_TABLE} FINAL ORDER BY day`, format: 'JSONEachRow' });
  const days = (await rs.json<{ day: string }>()).map((r) => r.day);
  const last = days[days.length - 1];
  return { boundary: last ? new Date(Date.parse(`${last}T00:00:00Z`) + 86_400_000).toISOString() : null, covered_days: days };
}

export async function markCovered(ch: ClickHouseClient, days: string[], runId: string): Promise<void> {
  const now = new Date().toISOString().replace('T', ' ').replace('Z', '');
  await ch.insert({ table: COVERAGE_TABLE, values: days.map((day) => ({ day, run_id: runId, covered_at: now })), format: 'JSONEachRow' });
}
