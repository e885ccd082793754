/**
 * The version of each UTC day's speed rows, so that report segments answered from `hourly_rt`
 * can be cached as exactly as the covered ones (segment-cache.ts). `hourly_rt` is partitioned
 * by `toDate(hour)` (migrations/002-views.sql), so a day's rows are the rows of the active
 * parts of its partition. Parts are immutable, and a part's name does not come back once it is
 * merged or mutated (block numbers only grow), so the sorted names change whenever the day's
 * rows do: an insert of the speed layer, a redo after a crash, a merge (which changes no row
 * but costs one recomputation). Each name carries its part's creation time, because after
 * parts are dropped a restarted server counts blocks on from the highest left and could give a
 * new part an old name. A day with no part has version ''.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { queryRows } from '../../infra/clickhouse/client';

/** Partition id of a UTC day under `PARTITION BY toDate(hour)`: `YYYYMMDD`. */
const partitionId = (day: string) => day.replaceAll('-', '');

/**
 * Speed versions of `days` (`YYYY-MM-DD`). Read after the coverage and before the report
 * query, so the query sees at least the rows of these parts: a cache entry may hold rows
 * newer than its key, never older.
 */
export async function readSpeedVersions(ch: ClickHouseClient, days: readonly string[]): Promise<Map<string, string>> {
  const versions = new Map(days.map((d) => [d, '']));
  if (days.length === 0) return versions;
  const rows = await queryRows<{ partition_id: string; parts: string }>(
    ch,
    `SELECT partition_id, arrayStringConcat(arraySort(groupArray(concat(name, '@', toString(toUnixTimestamp(modification_time))))), ' ') AS parts FROM system.parts
     WHERE database = currentDatabase() AND table = 'hourly_rt' AND active AND partition_id IN {ids:Array(String)}
     GROUP BY partition_id`,
    { ids: days.map(partitionId) },
  );
  const dayOf = new Map(days.map((d) => [partitionId(d), d]));
  for (const r of rows) versions.set(dayOf.get(r.partition_id)!, r.parts);
  return versions;
}
