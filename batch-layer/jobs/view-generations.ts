/**
 * How a run's views become visible (migrations/011-batch-generations.sql): the run's rows are
 * attached to `hourly_batch_data` and `attributions_batch_data` as partitions of their own
 * (day, run id), invisible until one insert into batch_covered_days names the run for every
 * day of it; the `hourly_batch` and `attributions_batch` views show each day's covering run
 * only. So the days of a run appear together, in both views at once, or not at all.
 *
 * Fencing: the lease is checked right before every statement that changes the views; a run
 * that lost it stops, and what it attached stays invisible (no coverage names it) until a
 * later run drops it. Generations that no day shows and no live run may still publish are
 * dropped after each switch, one (day, run) partition at a time, never the current one.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { queryRows } from '../../infra/clickhouse/client';
import { markCovered } from '../../infra/clickhouse/coverage';
import { createRunStore } from '../run-store';
import { runTableSuffix } from './sql-template';

/** True while this run still holds the batch lease. */
export type LeaseCheck = () => Promise<boolean>;

const VIEWS = [
  { data: 'hourly_batch_data', staging: 'hourly_batch_staging', dayExpr: 'toDate(hour)' },
  { data: 'attributions_batch_data', staging: 'attributions_batch_staging', dayExpr: 'toDate(ts)' },
] as const;

/** Every table a run creates (sql/00-scratch-tables.sql), by prefix. */
const RUN_TABLE_PREFIXES = [
  'batch_scratch_events_', // no longer created; dropped where a run of an earlier version left one
  'batch_scratch_losers_',
  'batch_scratch_prior_',
  'batch_scratch_installs_',
  'batch_scratch_probabilistic_',
  'batch_scratch_attribution_',
  'hourly_batch_staging_',
  'attributions_batch_staging_',
] as const;

export class LeaseLostError extends Error {
  constructor(step: string) {
    super(`lost the batch lease before ${step} (another process took over); this run wrote nothing visible`);
  }
}

export async function publishRun(ch: ClickHouseClient, runId: string, days: readonly string[], stillHeld: LeaseCheck): Promise<void> {
  const fenced = async (step: string, query: string, params: Record<string, unknown>) => {
    if (!(await stillHeld())) throw new LeaseLostError(step);
    await ch.command({ query, query_params: params });
  };
  const suffix = runTableSuffix(runId);
  for (const { data, staging, dayExpr } of VIEWS) {
    for (const day of days) {
      const [{ n }] = await queryRows<{ n: string }>(ch, `SELECT count() AS n FROM ${staging}_${suffix} WHERE ${dayExpr} = {day:Date}`, { day });
      if (Number(n) === 0) continue; // an empty day is a day whose generation has no rows
      await fenced(`attaching ${day} to ${data}`, `ALTER TABLE ${data} ATTACH PARTITION ({day:String}, {run:String}) FROM ${staging}_${suffix}`, {
        day,
        run: runId,
      });
    }
  }
  if (!(await stillHeld())) throw new LeaseLostError('switching the views to its days');
  await markCovered(ch, [...days], runId);
  await dropSupersededGenerations(ch, days, stillHeld);
}

/**
 * Drops the partitions of `days` whose run is neither the day's covering run nor a queued or
 * running one (which may still publish): replaced generations and what failed runs attached.
 */
export async function dropSupersededGenerations(ch: ClickHouseClient, days: readonly string[], stillHeld: LeaseCheck): Promise<void> {
  const current = new Map(
    // (Aliased `d`: an alias named `day` would shadow the column in WHERE.)
    (await queryRows<{ d: string; run_id: string }>(ch, 'SELECT toString(day) AS d, run_id FROM batch_current_runs WHERE day IN {days:Array(Date)}', { days })).map(
      (r) => [r.d, r.run_id],
    ),
  );
  const live = await liveRunIds(ch);
  const parts = await queryRows<{ table: string; partition: string; partition_id: string }>(
    ch,
    `SELECT DISTINCT table, partition, partition_id FROM system.parts
     WHERE database = currentDatabase() AND active AND table IN {tables:Array(String)}`,
    { tables: VIEWS.map((v) => v.data) },
  );
  const wanted = new Set(days);
  for (const p of parts) {
    const m = /^\('(\d{4}-\d{2}-\d{2})','(.*)'\)$/.exec(p.partition);
    if (!m || !wanted.has(m[1]) || current.get(m[1]) === m[2] || live.has(m[2])) continue;
    if (!/^[0-9a-f_-]+$/i.test(p.partition_id)) throw new Error(`unexpected partition id ${JSON.stringify(p.partition_id)} of ${p.table}`);
    if (!(await stillHeld())) throw new LeaseLostError(`dropping replaced rows of ${m[1]}`);
    await ch.command({ query: `ALTER TABLE ${p.table} DROP PARTITION ID '${p.partition_id}'` });
  }
}

/** Drops the run's own tables (whatever of them exist). */
export async function dropRunTables(ch: ClickHouseClient, runId: string): Promise<void> {
  const suffix = runTableSuffix(runId);
  for (const prefix of RUN_TABLE_PREFIXES) await ch.command({ query: `DROP TABLE IF EXISTS ${prefix}${suffix}` });
}

/**
 * Drops the tables of runs other than `keep` that are no longer queued or running: what a
 * killed run left. Called by the lease holder before its run starts.
 */
export async function dropLeftoverRunTables(ch: ClickHouseClient, keep: string): Promise<void> {
  const live = new Set([...(await liveRunIds(ch)), keep].map(runTableSuffix));
  const tables = await queryRows<{ name: string }>(ch, 'SELECT name FROM system.tables WHERE database = currentDatabase()');
  for (const { name } of tables) {
    const prefix = RUN_TABLE_PREFIXES.find((p) => name.startsWith(p));
    if (!prefix || live.has(name.slice(prefix.length)) || !/^[a-z0-9_]+$/.test(name)) continue;
    await ch.command({ query: `DROP TABLE IF EXISTS ${name}` });
  }
}

/** Queued or running runs whose owner still heart-beats (a silent one is abandoned, run-store.ts). */
async function liveRunIds(ch: ClickHouseClient): Promise<Set<string>> {
  return new Set((await createRunStore(ch).active()).map((r) => r.id));
}
